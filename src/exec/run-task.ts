import { InputError, IoError, PlanError, ResourceError, TaskError, serializeError } from "../core/errors.js";
import type { ShardInfo } from "../core/types.js";
import type { NarrowNode } from "../plan/nodes.js";
import type { Stage } from "../plan/stage.js";
import { Counters, withTaskContext, type TaskContext } from "./context.js";
import { CHUNK_ROWS, StepFailure, type Chunk } from "./operators/chunk.js";
import { filterStep } from "./operators/filter.js";
import { flatMapStep } from "./operators/flat-map.js";
import { loadStep } from "./operators/load.js";
import { mapShardStep } from "./operators/map-shard.js";
import { mapStep } from "./operators/map.js";
import { takeStep } from "./operators/take.js";
import { windowStep } from "./operators/window.js";
import { shuffleReadChunks } from "./operators/shuffle-read.js";
import { shuffleWrite, type MapSideResult } from "./operators/shuffle-write.js";
import { sinkExtension, stepExtension } from "./extensions.js";
import { mapFilesSink } from "./sinks/map-files.js";
import { writeJsonlSink } from "./sinks/write-jsonl.js";
import { isParquetCopy } from "./sinks/is-parquet-copy.js";
import { releaseIdleBuilders } from "../shuffle/spill-writer.js";
import { batchBytesFor, DEFAULT_TASK_MEMORY } from "./memory-budget.js";
import type { TaskOutcome, TaskResult, TaskSpec, TaskStats } from "./task-spec.js";

/** A stage that only writes its shuffle-read rows as JSON Lines. */
function textsOnly(stage: Stage): boolean {
  return stage.ops.length === 0 && stage.sink?.kind === "writeJsonl";
}

/** Reports rows as they leave the stage, for live progress. */
export type RowsListener = (rows: number) => void;

async function* sourceChunks(stage: Stage, spec: TaskSpec, stats: TaskStats): AsyncGenerator<Chunk> {
  const source = stage.source;
  const input = spec.input;
  if (source.kind === "shuffleRead") {
    // Rows read straight into writeJsonl need only their JSON text: not parsed at all.
    yield* shuffleReadChunks(source, spec, stats, { textsOnly: textsOnly(stage) });
    return;
  }
  if (input.kind === "shuffle") throw new PlanError(`task input is a shuffle partition but stage source is ${source.kind}`);
  if (input.kind === "files") {
    const rowGroups = input.rowGroups;
    yield { rows: input.files.map((f) => (rowGroups ? { path: f.path, size: f.size, rowGroups } : { path: f.path, size: f.size })), file: input.files[0]?.path };
    return;
  }
  if (source.kind !== "fromList") throw new PlanError(`task input is a list slice but stage source is ${source.kind}`);
  for (let i = input.start; i < input.end; i += CHUNK_ROWS) {
    yield { rows: source.items.slice(i, Math.min(i + CHUNK_ROWS, input.end)) as unknown[] };
  }
}

async function* counted(input: AsyncIterable<Chunk>, stats: TaskStats, step: number, onRows?: RowsListener): AsyncGenerator<Chunk> {
  for await (const c of input) {
    stats.stepRowsOut[step]! += c.rows.length;
    onRows?.(c.rows.length);
    yield c;
  }
}

/** Steps whose rows are still exactly their JSON texts (`Chunk.texts`) after them. */
const KEEPS_TEXTS = new Set<string>(["load", "filter", "take"]);

/** Drops `Chunk.texts` from what a step yields: the step made or may have changed the rows (map reuses its chunk). */
async function* withoutTexts(input: AsyncIterable<Chunk>): AsyncGenerator<Chunk> {
  for await (const c of input) {
    if (c.texts) c.texts = undefined;
    yield c;
  }
}

/**
 * Whether anything in the stage would use rows' input lines (`Chunk.texts`): only steps that
 * keep them may come after the load, and the stage must end where they are written as they
 * are — `writeJsonl`, or a shuffle that moves rows (dedupe, reshard, join, groupBy without a
 * combiner). Otherwise `loadJsonl` does not keep them.
 */
function stageUsesTexts(stage: Stage): boolean {
  if (!stage.ops.slice(1).every((op) => KEEPS_TEXTS.has(op.kind))) return false;
  const end = stage.shuffle?.node;
  if (end) return end.kind === "dedupe" || end.kind === "reshard" || end.kind === "join" || (end.kind === "groupBy" && !end.combiner);
  return stage.sink?.kind === "writeJsonl";
}

function applyStep(input: AsyncIterable<Chunk>, op: NarrowNode, shard: ShardInfo, stats: TaskStats, memoryBytes: number, texts: boolean): AsyncIterable<Chunk> {
  const out = applyStepRaw(input, op, shard, stats, memoryBytes, texts);
  return KEEPS_TEXTS.has(op.kind) ? out : withoutTexts(out);
}

/**
 * loadParquet / loadArrow, with their modules (apache-arrow, parquet-wasm) imported on first
 * use rather than at start-up (see io/columnar/load-arrow.ts).
 */
async function* loadColumnar(input: AsyncIterable<Chunk>, o: Parameters<typeof import("./operators/load-columnar.js").loadColumnarStep>[1]): AsyncGenerator<Chunk> {
  const { loadColumnarStep } = await import("./operators/load-columnar.js");
  yield* loadColumnarStep(input, o);
}

function applyStepRaw(input: AsyncIterable<Chunk>, op: NarrowNode, shard: ShardInfo, stats: TaskStats, memoryBytes: number, texts: boolean): AsyncIterable<Chunk> {
  switch (op.kind) {
    case "load":
      if (op.format === "parquet" || op.format === "arrow") return loadColumnar(input, { format: op.format, batchBytes: batchBytesFor(memoryBytes), ...(op.columns ? { columns: op.columns } : {}) });
      return loadStep(input, { format: op.format as "jsonl" | "text", onBadLine: op.onBadLine, onMalformed: () => stats.malformedLines++, texts });
    case "map":
      return mapStep(input, op.fn as (r: unknown) => unknown, "map");
    case "filter":
      return filterStep(input, op.fn as (r: unknown) => unknown, "filter");
    case "flatMap":
      return flatMapStep(input, op.fn as (r: unknown) => unknown, "flatMap");
    case "mapShard":
      return mapShardStep(input, op.fn as never, shard, "mapShard");
    case "window":
      return windowStep(input, op.size);
    case "take":
      return takeStep(input, op.n);
    default:
      return stepExtension(op.kind)(input, op, shard);
  }
}

/**
 * Runs one task of a stage in this thread: source → fused steps → sink (or rows for the
 * driver). The same function serves every executor; only where it runs differs.
 */
export async function runTask(stage: Stage, spec: TaskSpec, onRows?: RowsListener): Promise<TaskResult> {
  const shard: ShardInfo = {
    index: spec.shard,
    total: spec.totalShards,
    stage: spec.stage,
    input: spec.input.kind === "files" ? spec.input.files[0]?.path : undefined,
  };
  const counters = new Counters();
  const ctx: TaskContext = { counters, shard, attempt: spec.attempt };
  const stats: TaskStats = { rowsIn: 0, stepRowsOut: new Array<number>(stage.ops.length + 1).fill(0), malformedLines: 0, bytesWritten: 0 };

  const memoryBytes = spec.memoryBytes ?? DEFAULT_TASK_MEMORY;
  const texts = stageUsesTexts(stage);
  const open = (): AsyncIterable<Chunk> => {
    let chunks: AsyncIterable<Chunk> = counted(sourceChunks(stage, spec, stats), stats, 0, stage.ops.length === 0 ? onRows : undefined);
    stage.ops.forEach((op, i) => {
      const last = i === stage.ops.length - 1;
      chunks = counted(applyStep(chunks, op, shard, stats, memoryBytes, texts), stats, i + 1, last ? onRows : undefined);
    });
    return chunks;
  };
  /** Runs the stage's steps again from the start (a sink's second pass): counts restart. */
  const reopen = (): AsyncIterable<Chunk> => {
    stats.stepRowsOut.fill(0);
    stats.malformedLines = 0;
    counters.reset();
    return open();
  };

  return withTaskContext(ctx, async () => {
    if (isParquetCopy(stage)) {
      // Parquet → Parquet with nothing in between: Arrow batches straight through, no rows.
      const { copyParquetTask } = await import("./sinks/copy-parquet.js");
      const r = await copyParquetTask(stage, spec, onRows);
      stats.stepRowsOut[0] = 1;
      stats.stepRowsOut[1] = r.rows;
      stats.rowsIn = r.rows;
      stats.bytesWritten = r.bytes;
      return { outputs: [spec.outputPath!], counters: counters.toJSON(), stats };
    }
    // Idle shuffle buffers kept for the next map task are dropped by any other kind of task.
    if (!stage.shuffle) releaseIdleBuilders();
    const chunks = open();

    const outputs: string[] = [];
    let rows: unknown[] | undefined;
    let shuffleIndex: MapSideResult["index"] | undefined;
    const sink = stage.sink;
    if (stage.shuffle) {
      const w = await shuffleWrite(chunks, stage.shuffle, spec);
      shuffleIndex = w.index;
      stats.spillFiles = w.spillFiles;
    } else if (!sink) {
      rows = [];
      for await (const c of chunks) for (const r of c.rows) rows.push(r);
    } else if (sink.kind === "writeJsonl") {
      stats.bytesWritten = await writeJsonlSink(chunks, spec.outputPath, spec.runId, spec.outputPath === undefined ? undefined : spec.outputGenerations?.[spec.outputPath]);
      outputs.push(spec.outputPath!);
    } else if (sink.kind === "writeParquet" || sink.kind === "writeArrow") {
      const format = sink.kind === "writeParquet" ? { format: "parquet" as const, compression: sink.compression, rowGroupRows: sink.rowGroupRows, schema: sink.schema } : { format: "arrow" as const, schema: sink.schema };
      const ifGeneration = spec.outputPath === undefined ? undefined : spec.outputGenerations?.[spec.outputPath];
      const { writeColumnarSink } = await import("./sinks/write-columnar.js");
      stats.bytesWritten = await writeColumnarSink(chunks, reopen, format, { outputPath: spec.outputPath, tempTag: spec.runId, ifGeneration, memoryBytes });
      outputs.push(spec.outputPath!);
    } else if (sink.kind !== "mapFiles") {
      const ext = sinkExtension(sink.kind);
      if (!ext) throw new PlanError(`no implementation registered for sink ${sink.kind}; import "sirocco" (the package entry) in the pipeline script`);
      const r = await ext.write(chunks, sink, spec);
      stats.bytesWritten = r.bytesWritten;
      outputs.push(...r.outputs);
    } else {
      if (spec.input.kind !== "files") throw new PlanError("mapFiles needs a Dataset.fromFiles source");
      const r = await mapFilesSink(chunks, sink.fn as never, { root: spec.input.root, outputDir: sink.outputDir, skipExisting: sink.skipExisting, tempTag: spec.runId, rename: sink.rename as never, generations: spec.outputGenerations });
      outputs.push(...r.outputs);
    }
    stats.rowsIn = stage.ops[0]?.kind === "load" ? stats.stepRowsOut[1]! : stats.stepRowsOut[0]!;
    return { outputs, rows, counters: counters.toJSON(), stats, ...(shuffleIndex ? { shuffleIndex } : {}) };
  });
}

/** Runs a task and turns any failure into a TaskError outcome naming stage, shard, input and line. */
export async function runTaskToOutcome(stage: Stage, spec: TaskSpec, onRows?: RowsListener): Promise<TaskOutcome> {
  try {
    return { ok: true, result: await runTask(stage, spec, onRows) };
  } catch (e) {
    // A store still failing after its own retries (429/5xx, resets, a streaming upload cut off)
    // is an infrastructure failure: retried under the larger budget, not the user-code one.
    const infra = e instanceof IoError && e.retryable;
    return { ok: false, error: serializeError(toTaskError(e, stage, spec)), infra };
  }
}

function toTaskError(e: unknown, stage: Stage, spec: TaskSpec): TaskError {
  const base = {
    stage: spec.stage,
    stageLabel: stage.label,
    shard: spec.shard,
    totalShards: spec.totalShards,
    attempt: spec.attempt,
    input: spec.input.kind === "files" ? spec.input.files[0]?.path : undefined,
  };
  if (e instanceof StepFailure) {
    const fields = { ...base, stageLabel: `${stage.label}; failed in ${e.step}`, input: e.file ?? base.input, line: e.line, retryable: true };
    return new TaskError(fields, { cause: e.cause });
  }
  if (e instanceof InputError) return new TaskError({ ...base, input: e.file ?? base.input, line: e.line, retryable: false }, { cause: e });
  // A store error that retrying cannot fix (permissions, a missing object, a commit conflict).
  if (e instanceof IoError && !e.retryable) return new TaskError({ ...base, retryable: false }, { cause: e });
  if (e instanceof PlanError) return new TaskError({ ...base, retryable: false }, { cause: e });
  // A group that cannot fit the budget will not fit on the next attempt either.
  if (e instanceof ResourceError) return new TaskError({ ...base, retryable: false }, { cause: e });
  return new TaskError({ ...base, retryable: true }, { cause: e });
}
