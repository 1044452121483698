import type { SerializedError } from "../core/errors.js";
import type { FileRef } from "../core/types.js";
import type { SharedBudget } from "../shuffle/shared-budget.js";
import type { SpillIndex } from "../shuffle/spill-index.js";
import type { SharedRowBatch } from "./shared-rows.js";

/** The input of one task: a slice of an in-memory list, or files (local paths or URIs). */
export type TaskInput =
  | { readonly kind: "list"; readonly start: number; readonly end: number }
  | { readonly kind: "files"; readonly root: string; readonly files: readonly FileRef[]; readonly rowGroups?: RowGroupRange }
  | ShuffleTaskInput;

/** Row groups `start`…`end - 1` of a Parquet file: one shard of a file split by row group. */
export interface RowGroupRange {
  readonly start: number;
  readonly end: number;
  /** Rows in the file before row group `start`, so rows keep their 1-based number in the file. */
  readonly firstRow: number;
}

/**
 * What one map task of a shuffle left behind: the URI of its spill index, or (reducers on
 * this machine) the index itself, its last flush in shared memory.
 */
export interface MapOutput {
  /** 0, or 1 for the right side of a join. */
  readonly side: number;
  readonly shard: number;
  readonly index: string | SpillIndex;
}

/**
 * The input of a reduce task: partition `partition` of the shuffle, read from every map
 * task's spill files through their indexes (one entry per map task, in input order).
 */
export interface ShuffleTaskInput {
  readonly kind: "shuffle";
  readonly partition: number;
  readonly maps: readonly MapOutput[];
}

/**
 * One task: plain, serializable data. Nothing in it depends on the driver's process, so the
 * same record runs inline, on a thread, or on another machine that rebuilt the plan.
 */
export interface TaskSpec {
  readonly runId: string;
  /** Which `run()` call of the script (1-based) this task belongs to. */
  readonly runIndex: number;
  readonly fingerprint: string;
  readonly stage: number;
  readonly shard: number;
  readonly totalShards: number;
  readonly input: TaskInput;
  /** The final output path of this shard, for sinks that write one file per shard. */
  readonly outputPath?: string;
  /**
   * Generation of each output path when the driver planned the task (`"0"` = absent). Sinks
   * commit under this precondition, so a retried or duplicated attempt cannot replace a
   * committed output with different bytes.
   */
  readonly outputGenerations?: Readonly<Record<string, string>>;
  readonly attempt: number;
  /** The run's scratch folder (local or gs://) for spill files, when the plan has a shuffle. */
  readonly scratch?: string;
  /** The task's memory budget in bytes (`--memory`): sizes the batches writers and readers buffer, and the shuffle's buffers. */
  readonly memoryBytes?: number;
  /** For a stage ending in a shuffle write: the number of target partitions. */
  readonly partitions?: number;
  /**
   * For a stage ending in a shuffle write whose reducers run in this process (inline,
   * threads): the run's shared-memory budget. The task returns its spill index itself and
   * keeps its last flush in shared memory when the budget has room.
   */
  readonly shuffleShared?: SharedBudget;
}

/** Rows that left each step of the stage, in step order (source first). */
export interface TaskStats {
  rowsIn: number;
  stepRowsOut: number[];
  malformedLines: number;
  bytesWritten: number;
  /** Shuffle: spill files this task wrote (map side) and sorted runs it merged (reduce side). */
  spillFiles?: number;
  sortedRuns?: number;
}

export interface TaskResult {
  readonly outputs: string[];
  /** Rows returned to the driver when the stage has no sink. */
  readonly rows?: unknown[];
  /** The same rows packed by a worker thread (Arrow IPC in shared memory); the executor unpacks them into `rows`. */
  readonly sharedRows?: readonly SharedRowBatch[];
  readonly counters: Record<string, number>;
  readonly stats: TaskStats;
  /** A shuffle-writing task: its spill index or the index's URI (only the successful attempt's is used). */
  readonly shuffleIndex?: string | SpillIndex;
}

/** How a task ended, as an executor reports it back to the driver. */
export type TaskOutcome =
  | { readonly ok: true; readonly result: TaskResult }
  | { readonly ok: false; readonly error: SerializedError; readonly infra: boolean };
