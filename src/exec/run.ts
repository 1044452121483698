import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pLimit from "p-limit";
import { deserializeError, PlanError, TaskError } from "../core/errors.js";
import { resolveRunOptions, type ResolvedRunOptions, type RunOptions } from "../core/options.js";
import { storeFor } from "../io/store-for.js";
import { compilePlan } from "../plan/compile-plan.js";
import { Dataset, Sink } from "../plan/dataset.js";
import { explainPlan } from "../plan/explain.js";
import { loadStepName, type PlanNode } from "../plan/nodes.js";
import { setCollectRunner } from "../plan/runner-hook.js";
import { sourceName, type PhysicalPlan, type Stage } from "../plan/stage.js";
import { Counters } from "./context.js";
import type { Executor } from "./executors/executor.js";
import { InlineExecutor } from "./executors/inline.js";
import { sinkExtension, type SinkDriver } from "./extensions.js";
import { makeTasks, type PlannedStage } from "./make-tasks.js";
import type { ProgressReporter } from "./progress.js";
import type { RunResult, RunStats, StageStats } from "./run-result.js";
import { SharedShuffleMemory } from "./shared-shuffle.js";
import { clearCheckpoints, planStageWithCheckpoint } from "./checkpoint.js";
import { endRun } from "./run-scope.js";
import { runtime } from "./runtime.js";
import type { MapOutput, TaskResult, TaskSpec } from "./task-spec.js";

/** Environment variable through which `sirocco run` names the script for worker threads. */
export const ENTRY_ENV = "SIROCCO_ENTRY";

const NEVER = new Promise<never>(() => {});

/**
 * Runs a pipeline: a `Dataset` (its rows come back in `rows`) or a `Sink` (files are
 * written and listed in `outputs`). Options not given default to the flags of
 * `sirocco run`, then to threads with one worker per core.
 *
 * @example
 * const result = await run(ds.writeJsonl("out/part-{shard:05d}.jsonl.gz"), { workers: 2 });
 * console.log(result.outputs.length, result.counters);
 */
export async function run<T>(target: Dataset<T> | Sink<T>, opts: RunOptions = {}): Promise<RunResult<T>> {
  if (!(target instanceof Dataset) && !(target instanceof Sink)) {
    throw new PlanError(`run() takes a Dataset or the Sink returned by a write step, got ${typeof target}`);
  }
  return runNode(target.node, opts) as Promise<RunResult<T>>;
}

async function runNode(terminal: PlanNode, opts: RunOptions): Promise<RunResult> {
  const rt = runtime();
  const runIndex = ++rt.runCount;

  if (rt.workerMode) {
    // In a worker re-importing the script: replay earlier runs, hand over the one we need,
    // and stop the script there.
    const wm = rt.workerMode;
    if (runIndex < wm.targetRun) {
      const prior = wm.history[runIndex - 1];
      return prior ?? NEVER;
    }
    if (runIndex === wm.targetRun) wm.onPlan(terminal);
    return NEVER;
  }
  if (rt.explainMode) {
    rt.explainMode.print(`# run() #${runIndex}\n${explainPlan(terminal)}\n`);
    return { outputs: [], rows: [], counters: {}, stats: emptyStats() };
  }

  const o = resolveRunOptions(opts);
  const plan = compilePlan(terminal);
  // Driver-only modules load lazily: worker threads import this file too, and start faster
  // without pino, cli-progress and piscina.
  const { createProgress } = await import("./progress.js");
  const progress = await createProgress(o.progress);
  try {
    const result = await execute(plan, o, runIndex, progress);
    rt.history[runIndex - 1] = result;
    progress.runEnd(result.stats);
    return result;
  } finally {
    progress.close();
  }
}

function emptyStats(): RunStats {
  return { executor: "inline", workers: 0, wallMs: 0, tasks: 0, retries: 0, stages: [] };
}

async function execute(plan: PhysicalPlan, o: ResolvedRunOptions, runIndex: number, progress: ProgressReporter): Promise<RunResult> {
  const started = Date.now();
  const runId = randomBytes(8).toString("hex");
  const stats: RunStats = { executor: o.executor, workers: o.executor === "inline" ? 1 : o.workers, wallMs: 0, tasks: 0, retries: 0, stages: [] };
  const counters: Record<string, number> = {};
  let outputs: string[] = [];
  let rows: unknown[] | undefined;
  const ids = { runId, runIndex, fingerprint: plan.fingerprint };
  const scratch = plan.stages.some((s) => s.shuffle) ? await openScratch(o.scratch, runId) : undefined;
  // On one machine, shuffle data goes from map to reduce tasks in shared memory, within a limit.
  const shared = o.executor === "redis" ? undefined : new SharedShuffleMemory((o.memoryBytes * (o.executor === "inline" ? 1 : o.workers)) / 2);

  // One executor (one thread pool) for all stages of the run: threads start and rebuild the
  // plan once, not once per stage.
  let pool: Promise<Executor> | undefined;
  let failed = true;
  const checkpoints: Array<{ stage: Stage; planned: PlannedStage }> = [];
  try {
    // A single-stage plan needs no shuffle planning (and lists its inputs only once).
    const shuffle = plan.stages.length > 1 ? await planShuffles(plan, ids, o.resume) : { shards: [], consumer: [], skipAll: false, sourceTasks: new Map<number, PlannedStage>() };
    const executorFor = (tasks: number) => (pool ??= createExecutor(plan, o, { runId, runIndex }, Math.max(tasks, ...shuffle.shards), (n) => progress.rows(n)));
    const mapOutputs = new Map<number, MapOutput[]>();
    for (const stage of plan.stages) {
      if (shuffle.skipAll && stage.id !== plan.stages.length - 1) continue;
      const src = stage.source;
      const shuffleIn =
        src.kind === "shuffleRead"
          ? { partitions: shuffle.shards[stage.id]!, maps: src.inputs.flatMap((id, side) => (mapOutputs.get(id) ?? []).map((m) => ({ ...m, side }))) }
          : undefined;
      // A source stage feeding a shuffle was planned (its inputs listed) by planShuffles; it has
      // no outputs, so no checkpoint either.
      const base = shuffle.sourceTasks.get(stage.id) ?? (await planStageWithCheckpoint(stage, ids, o, (m) => process.stderr.write(`${m}\n`), shuffleIn));
      checkpoints.push({ stage, planned: base });
      const extra = {
        ...(scratch ? { scratch: scratch.dir } : {}),
        memoryBytes: o.memoryBytes,
        ...(stage.shuffle ? { partitions: shuffle.shards[shuffle.consumer[stage.id]!]!, ...(shared ? { shuffleShared: shared.budget } : {}) } : {}),
      };
      const planned: PlannedStage = { ...base, tasks: base.tasks.map((t) => ({ ...t, ...extra })) };
      progress.stageStart(stage, planned.totalShards, planned.skipped.length);
      const stageStarted = performance.now();
      const ext = stage.sink && sinkExtension(stage.sink.kind);
      const sinkDriver = stage.sink && ext?.driver ? await ext.driver(stage.sink, planned, runId) : undefined;
      const results = await runStage(executorFor, stage, planned, o, { runId, runIndex }, progress, stats, sinkDriver);
      await sinkDriver?.stageEnd();
      const st = { ...stageStats(stage, planned, results), wallMs: Math.round(performance.now() - stageStarted) };
      stats.stages.push(st);
      stats.tasks += planned.tasks.length;
      progress.stageEnd(st);

      if (stage.shuffle) {
        // Only the index of each task's successful attempt is used: a retried map task never counts twice.
        mapOutputs.set(stage.id, results.map((r, i) => ({ side: 0, shard: planned.tasks[i]!.shard, index: r.shuffleIndex! })));
      }
      if (src.kind === "shuffleRead") {
        // The stages feeding this one are read: their shuffle data (shared memory too) can go.
        for (const id of src.inputs) {
          shared?.release((mapOutputs.get(id) ?? []).map((m) => m.index));
          mapOutputs.delete(id);
        }
      }
      const byShard = new Map<number, string[]>(planned.skipped.map((s) => [s.shard, s.outputs]));
      results.forEach((r, i) => byShard.set(planned.tasks[i]!.shard, r.outputs));
      outputs = [...byShard.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, outs]) => outs);
      for (const r of results) Counters.merge(counters, r.counters);
      if (!stage.sink && !stage.shuffle) rows = results.flatMap((r) => r.rows ?? []);
    }
    failed = false;
    await clearCheckpoints(checkpoints, o);
  } finally {
    if (pool) await (await pool.catch(() => undefined))?.close();
    await scratch?.remove();
    // Executors that keep resources for the whole run (redis) release them here.
    await endRun(runId, failed);
  }
  stats.wallMs = Date.now() - started;
  return { outputs, rows, counters, stats };
}

/**
 * Shard counts of every stage before anything runs (input listing happens here), which stage
 * reads each shuffle, and whether the final stage's outputs all exist already (`--resume` /
 * `skipExisting`), in which case the stages feeding it do not run at all.
 */
async function planShuffles(
  plan: PhysicalPlan,
  ids: { runId: string; runIndex: number; fingerprint: string },
  resume: boolean,
): Promise<{ shards: number[]; consumer: number[]; skipAll: boolean; sourceTasks: Map<number, PlannedStage> }> {
  const shards: number[] = [];
  const consumer: number[] = [];
  const sourceTasks = new Map<number, PlannedStage>();
  for (const st of plan.stages) {
    const src = st.source;
    if (src.kind !== "shuffleRead") {
      const planned = await makeTasks(st, ids, false);
      // Kept for the run loop, so inputs are listed once. Only stages that end in a shuffle
      // write (no outputs to skip or checkpoint) are reused.
      if (st.shuffle) sourceTasks.set(st.id, planned);
      shards[st.id] = planned.totalShards;
      continue;
    }
    for (const i of src.inputs) consumer[i] = st.id;
    const n = src.node;
    shards[st.id] = n.kind === "reduce" ? 1 : n.kind === "reshard" ? n.n : (n.numShards ?? Math.max(1, ...src.inputs.map((i) => shards[i]!)));
  }
  const last = plan.stages[plan.stages.length - 1]!;
  let skipAll = false;
  if (last.source.kind === "shuffleRead" && last.sink && (resume || last.sink.skipExisting)) {
    const pre = await makeTasks(last, ids, resume, { partitions: shards[last.id]!, maps: [] });
    skipAll = pre.tasks.length === 0;
  }
  return { shards, consumer, skipAll, sourceTasks };
}

/**
 * The run's scratch folder: a fresh folder under the OS temp dir, or `sirocco-<runId>` under
 * `--scratch` (local or gs://). Removed after the run, whether it succeeded or failed.
 */
async function openScratch(root: string | undefined, runId: string): Promise<{ dir: string; remove(): Promise<void> }> {
  if (!root) {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "sirocco-scratch-"));
    return { dir, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
  }
  const dir = `${root.replace(/\/+$/, "")}/sirocco-${runId}`;
  if (!dir.includes("://")) {
    await fsp.mkdir(dir, { recursive: true });
    return { dir, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
  }
  return {
    dir,
    async remove() {
      const store = storeFor(dir);
      const files = await store.list(dir, "**/*").catch(() => []);
      const limit = pLimit(32);
      await Promise.all(files.map((f) => limit(() => store.remove(f.path))));
    },
  };
}

function stageStats(stage: Stage, planned: PlannedStage, results: TaskResult[]): Omit<StageStats, "wallMs"> {
  const names = [sourceName(stage.source), ...stage.ops.map((op) => (op.kind === "load" ? loadStepName(op) : op.kind))];
  const steps = names.map((step, i) => ({ step, rowsOut: results.reduce((a, r) => a + (r.stats.stepRowsOut[i] ?? 0), 0) }));
  return {
    id: stage.id,
    label: stage.label,
    shards: planned.totalShards,
    skippedShards: planned.skipped.length,
    rowsIn: results.reduce((a, r) => a + r.stats.rowsIn, 0),
    rowsOut: steps[steps.length - 1]!.rowsOut,
    steps,
    malformedLines: results.reduce((a, r) => a + r.stats.malformedLines, 0),
    bytesWritten: results.reduce((a, r) => a + r.stats.bytesWritten, 0),
    ...(stage.shuffle ? { spillFiles: results.reduce((a, r) => a + (r.stats.spillFiles ?? 0), 0) } : {}),
    ...(stage.source.kind === "shuffleRead" ? { sortedRuns: results.reduce((a, r) => a + (r.stats.sortedRuns ?? 0), 0) } : {}),
  };
}

/** Runs a stage's tasks with bounded concurrency and the two retry budgets; results in task order. */
async function runStage(
  executorFor: (tasks: number) => Promise<Executor>,
  stage: Stage,
  planned: PlannedStage,
  o: ResolvedRunOptions,
  ids: { runId: string; runIndex: number },
  progress: ProgressReporter,
  stats: RunStats,
  sinkDriver?: SinkDriver,
): Promise<TaskResult[]> {
  if (planned.tasks.length === 0) return [];
  const executor = await executorFor(planned.tasks.length);
  const results = new Array<TaskResult>(planned.tasks.length);
  // The redis executor queues every task at once: remote workers (and the autoscaler) see the whole backlog.
  const limit = pLimit(o.executor === "inline" ? 1 : o.executor === "redis" ? Number.POSITIVE_INFINITY : o.workers * 2);
  let failure: unknown;
  try {
    await Promise.all(
      planned.tasks.map((task, i) =>
        limit(async () => {
          if (failure) return;
          try {
            results[i] = await runWithRetries(executor, task, o, stage, stats, () => failure !== undefined);
            await sinkDriver?.taskDone(task.shard, results[i]!);
            progress.shardDone();
          } catch (e) {
            // Queued tasks see `failure` and return at once (clearQueue would leave their
            // promises pending forever); tasks in flight on threads are stopped now rather
            // than awaited, so a failing run reports at once.
            if (failure === undefined) {
              failure = e;
              void executor.close();
            }
          }
        }),
      ),
    );
  } finally {
    // On failure, stop the threads now (tasks in flight are abandoned); on success the run
    // keeps the executor for its next stage and closes it at the end.
    if (failure) await executor.close();
    // Attempts that died (a killed thread, a crash) cannot clean up after themselves.
    await Promise.all(planned.outputDirs.map((d) => storeFor(d).removeTemporaries(d, ids.runId)));
  }
  if (failure) throw failure;
  return results;
}

async function createExecutor(
  plan: PhysicalPlan,
  o: ResolvedRunOptions,
  ids: { runId: string; runIndex: number },
  tasks: number,
  onRows: (n: number) => void,
): Promise<Executor> {
  if (o.executor === "inline") return new InlineExecutor(plan, onRows);
  const rt = runtime();
  if (o.executor === "redis") {
    const { redisExecutorFor } = await import("./executors/redis.js");
    const entry = resolveEntry(o.entry);
    return redisExecutorFor({
      address: o.redis!,
      queue: o.queue,
      autoscale: o.autoscale,
      maxWorkers: o.workers,
      script: entry,
      meta: {
        runId: ids.runId,
        runIndex: ids.runIndex,
        fingerprint: plan.fingerprint,
        identities: plan.identities,
        argv: process.argv,
        script: process.argv[1] ?? entry,
        history: rt.history.slice(0, ids.runIndex - 1),
      },
    });
  }
  const { ThreadsExecutor } = await import("./executors/threads.js");
  return new ThreadsExecutor(
    Math.min(o.workers, tasks),
    {
      entry: resolveEntry(o.entry),
      argv: process.argv,
      runIndex: ids.runIndex,
      runId: ids.runId,
      fingerprint: plan.fingerprint,
      identities: plan.identities,
      history: rt.history.slice(0, ids.runIndex - 1),
    },
    onRows,
  );
}

/**
 * The script worker threads import to rebuild the plan: `options.entry`, else the script
 * given to `sirocco run`, else `process.argv[1]`.
 */
export function resolveEntry(entry: string | undefined): string {
  const candidate = entry ?? process.env[ENTRY_ENV] ?? process.argv[1];
  const how =
    "Worker threads rebuild the pipeline by importing the script that builds it: run it with `sirocco run script.ts`, `node script.js` or `tsx script.ts`, " +
    "pass { entry: import.meta.url } to run(), or use { executor: \"inline\" }.";
  if (!candidate) throw new PlanError(`cannot tell which script builds this pipeline. ${how}`);
  const file = candidate.startsWith("file:") ? new URL(candidate).pathname : path.resolve(candidate);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new PlanError(`the pipeline script ${file} does not exist. ${how}`);
  if (!entry && file.includes(`${path.sep}node_modules${path.sep}`)) {
    throw new PlanError(`process.argv[1] is ${file}, a tool rather than the script that builds the pipeline. ${how}`);
  }
  return pathToFileURL(file).href;
}

async function runWithRetries(
  executor: Executor,
  task: TaskSpec,
  o: ResolvedRunOptions,
  stage: Stage,
  stats: RunStats,
  cancelled: () => boolean,
): Promise<TaskResult> {
  let userFailures = 0;
  let infraFailures = 0;
  for (let attempt = 1; ; attempt++) {
    const outcome = await executor.runTask({ ...task, attempt });
    if (outcome.ok) return outcome.result;
    const err = deserializeError(outcome.error);
    if (cancelled()) throw err; // the run already failed elsewhere: no retry
    if (outcome.infra) infraFailures++;
    else userFailures++;
    const retryable = outcome.infra || !(err instanceof TaskError) || err.retryable;
    const exhausted = outcome.infra ? infraFailures > o.infraRetries : userFailures > o.retries;
    if (!retryable || exhausted) {
      if (err instanceof TaskError) throw err;
      throw new TaskError(
        {
          stage: stage.id,
          stageLabel: stage.label,
          shard: task.shard,
          totalShards: task.totalShards,
          input: task.input.kind === "files" ? task.input.files[0]?.path : undefined,
          attempt,
          retryable: false,
        },
        { cause: err },
      );
    }
    stats.retries++;
  }
}

setCollectRunner(async (terminal, opts) => (await runNode(terminal, (opts ?? {}) as RunOptions)).rows ?? []);
