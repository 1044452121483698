import { fileURLToPath } from "node:url";
import { BroadcastChannel, workerData } from "node:worker_threads";
import { PlanError, serializeError, TaskError } from "../core/errors.js";
import { compilePlan, diffIdentities } from "../plan/compile-plan.js";
import type { PlanNode } from "../plan/nodes.js";
import type { PhysicalPlan } from "../plan/stage.js";
import type { ThreadWorkerData } from "./executors/threads.js";
import { progressChannelName } from "./progress-channel.js";
import { approxRowsBytes, batchBytesFor } from "./memory-budget.js";

/** Results smaller than this (approximate JSON bytes) go back to the driver as cloned rows. */
const CLONE_ROWS_BYTES = 64 * 1024;
import { runTaskToOutcome } from "./run-task.js";
import { runtime } from "./runtime.js";
import type { TaskOutcome, TaskSpec } from "./task-spec.js";

/**
 * Rebuilds the driver's plan in this process the way Node's `cluster` does: import the same
 * script with `run()` switched to "hand me your plan" for the requested run, then compare
 * fingerprints. Shared by worker threads and (later) worker processes.
 */
export async function rebuildPlan(d: Omit<ThreadWorkerData, "runId">): Promise<PhysicalPlan> {
  process.argv = [...d.argv];
  const rt = runtime();
  // Name the user's script (argv[1]) rather than the compiled bundle `sirocco run` imports.
  const script = d.argv[1] ?? (d.entry.startsWith("file:") ? fileURLToPath(d.entry) : d.entry);
  // What the script prints at top level while it is re-imported (e.g. the report of an earlier
  // run() it replays) already appeared once, from the driver: a worker discards it. Output of
  // user functions while tasks run is not affected.
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const terminal = await new Promise<PlanNode>((resolve, reject) => {
    rt.workerMode = { targetRun: d.runIndex, history: d.history, onPlan: resolve };
    import(d.entry).then(
      () =>
        reject(
          new PlanError(
            `the script ${script} finished in a worker without calling run() a ${ordinal(d.runIndex)} time; ` +
              `the driver did. Build and run pipelines the same way in every process (no branches on isWorker(), timing or randomness before run())`,
          ),
        ),
      (e: unknown) => reject(new PlanError(`importing ${script} in a worker failed: ${(e as Error)?.message ?? e}`, { cause: e })),
    );
  }).finally(() => {
    process.stdout.write = write;
  });
  const plan = compilePlan(terminal);
  if (plan.fingerprint !== d.fingerprint) {
    throw new PlanError(
      `the plan rebuilt in a worker from ${script} differs from the driver's (run #${d.runIndex}); its construction is not deterministic. ` +
        `${diffIdentities(d.identities, plan.identities)}\n` +
        `Build pipelines only from values that are the same in every process: no Math.random(), Date.now() or files that change while the job starts; list inputs with Dataset.fromFiles.`,
    );
  }
  return plan;
}

function ordinal(n: number): string {
  const s = ["th", "st", "nd", "rd"];
  const v = n % 100;
  return `${n}${s[(v - 20) % 10] ?? s[v] ?? s[0]}`;
}

const data = workerData as ThreadWorkerData;
let planPromise: Promise<PhysicalPlan> | undefined;
const channel = new BroadcastChannel(progressChannelName(data.runId));
channel.unref();

/** piscina task handler: one TaskSpec in, one TaskOutcome out (failures included). */
export default async function handle(spec: TaskSpec): Promise<TaskOutcome> {
  let plan: PhysicalPlan;
  try {
    plan = await (planPromise ??= rebuildPlan(data));
  } catch (e) {
    const err = new TaskError(
      { stage: spec.stage, shard: spec.shard, totalShards: spec.totalShards, attempt: spec.attempt, retryable: false },
      { cause: e },
    );
    return { ok: false, error: serializeError(err), infra: false };
  }
  let pending = 0;
  let last = Date.now();
  const outcome = await runTaskToOutcome(plan.stages[spec.stage]!, spec, (n) => {
    pending += n;
    const now = Date.now();
    if (now - last >= 200) {
      channel.postMessage(pending);
      pending = 0;
      last = now;
    }
  });
  if (pending > 0) channel.postMessage(pending);
  if (outcome.ok && outcome.result.rows && approxRowsBytes(outcome.result.rows) >= CLONE_ROWS_BYTES) {
    // Rows for the driver go as Arrow IPC in shared memory, not as cloned objects (a few rows,
    // such as a countBy's, are simply cloned: packing them would cost more than it saves,
    // starting with loading apache-arrow in this thread and the driver).
    const { rows, ...rest } = outcome.result;
    const { packRows } = await import("./shared-rows.js");
    return { ok: true, result: { ...rest, sharedRows: packRows(rows, batchBytesFor(spec.memoryBytes)) } };
  }
  return outcome;
}
