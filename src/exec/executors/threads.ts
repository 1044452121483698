import { BroadcastChannel } from "node:worker_threads";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { PlanError, serializeError, WorkerLostError } from "../../core/errors.js";
import type { RunResult } from "../run-result.js";
import type { RowsListener } from "../run-task.js";
import type { TaskOutcome, TaskSpec } from "../task-spec.js";
import type { Executor } from "./executor.js";
import { progressChannelName } from "../progress-channel.js";

/** What every worker thread of a run is started with. */
export interface ThreadWorkerData {
  /** File URL of the script that builds the pipeline. */
  entry: string;
  /** The driver's process.argv, so scripts that read arguments rebuild the same plan. */
  argv: string[];
  runIndex: number;
  runId: string;
  fingerprint: string;
  identities: readonly string[];
  /** Results of the script's earlier run() calls, replayed in the worker. */
  history: ReadonlyArray<RunResult | undefined>;
}

/**
 * Runs tasks on a piscina pool of `workers` threads. Each thread imports the user's script
 * once (see thread-worker.ts), rebuilds the plan and checks its fingerprint. Threads live
 * for the whole run (no idle shrinking mid-run: a restarted thread re-pays its start-up).
 * A thread that dies fails its task as an infrastructure failure, retried under the
 * infrastructure budget.
 */
export class ThreadsExecutor implements Executor {
  private readonly pool: Piscina;
  private readonly channel: BroadcastChannel;
  private poolError: unknown;

  /**
   * `elastic`: start `minThreads` threads and more on demand up to `workers`, retiring threads
   * idle for `idleTimeoutMs` (the pool then follows how many tasks its user runs at once).
   */
  constructor(workers: number, data: ThreadWorkerData, onRows?: RowsListener, elastic?: { minThreads: number; idleTimeoutMs: number }) {
    const bootstrap = new URL("../worker-bootstrap.js", import.meta.url);
    if (!fs.existsSync(bootstrap)) {
      throw new PlanError(
        `the threads executor needs the compiled engine (${fileURLToPath(bootstrap)} is missing): import sirocco through its package entry and run \`npm run build\`, or use { executor: "inline" }`,
      );
    }
    this.pool = new Piscina({
      filename: bootstrap.href,
      minThreads: elastic?.minThreads ?? workers,
      maxThreads: workers,
      idleTimeout: elastic?.idleTimeoutMs ?? 60_000,
      concurrentTasksPerWorker: 1,
      workerData: data,
      // A driver started under tsx passes its loader flags to threads, where they only cost
      // start-up time; worker-bootstrap installs tsx itself when the script needs it.
      execArgv: withoutTsxFlags(process.execArgv),
    });
    // A thread that fails outside a task (e.g. while starting) must fail the run, not crash it.
    this.pool.on("error", (e: unknown) => {
      this.poolError ??= e;
    });
    this.channel = new BroadcastChannel(progressChannelName(data.runId));
    this.channel.onmessage = (ev) => onRows?.((ev as { data: number }).data);
    this.channel.unref();
  }

  async runTask(spec: TaskSpec): Promise<TaskOutcome> {
    let outcome: TaskOutcome;
    try {
      if (this.poolError) throw this.poolError;
      outcome = (await this.pool.run(spec)) as TaskOutcome;
    } catch (e) {
      const input = spec.input.kind === "files" && spec.input.files[0] ? ` (input ${spec.input.files[0].path})` : "";
      const lost = new WorkerLostError(`worker thread died while running shard ${spec.shard + 1}/${spec.totalShards}${input}: ${(e as Error).message}`, { cause: e });
      return { ok: false, error: serializeError(lost), infra: true };
    }
    if (outcome.ok && outcome.result.sharedRows) {
      // Rows came as Arrow IPC in shared memory (see shared-rows.ts): decode them here.
      const { sharedRows, ...rest } = outcome.result;
      const { unpackRows } = await import("../shared-rows.js");
      return { ok: true, result: { ...rest, rows: unpackRows(sharedRows) } };
    }
    return outcome;
  }

  private closing: Promise<void> | undefined;

  /** Stops the threads (tasks in flight are abandoned); safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.channel.close();
      await this.pool.destroy();
    })();
    return this.closing;
  }
}

/** Node flags without tsx's loader (`--import …tsx…`, `--require …tsx…`, in either form). */
export function withoutTsxFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if ((a === "--import" || a === "--require" || a === "-r" || a === "--loader" || a === "--experimental-loader") && /tsx/.test(execArgv[i + 1] ?? "")) {
      i++;
      continue;
    }
    if (/^--(import|require|loader|experimental-loader)=.*tsx/.test(a)) continue;
    out.push(a);
  }
  return out;
}
