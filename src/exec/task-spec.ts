import type { SerializedError } from "../core/errors.js";
import type { FileRef } from "../core/types.js";
import type { SharedRowBatch } from "./shared-rows.js";

/** The input of one task: a slice of an in-memory list, or files (local paths or URIs). */
export type TaskInput =
  | { readonly kind: "list"; readonly start: number; readonly end: number }
  | { readonly kind: "files"; readonly root: string; readonly files: readonly FileRef[]; readonly rowGroups?: RowGroupRange };

/** Row groups `start`…`end - 1` of a Parquet file: one shard of a file split by row group. */
export interface RowGroupRange {
  readonly start: number;
  readonly end: number;
  /** Rows in the file before row group `start`, so rows keep their 1-based number in the file. */
  readonly firstRow: number;
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
  /** Memory budget of the task in bytes (`--memory`); sizes the batches writers and readers buffer. */
  readonly memoryBytes?: number;
}

/** Rows that left each step of the stage, in step order (source first). */
export interface TaskStats {
  rowsIn: number;
  stepRowsOut: number[];
  malformedLines: number;
  bytesWritten: number;
}

export interface TaskResult {
  readonly outputs: string[];
  /** Rows returned to the driver when the stage has no sink. */
  readonly rows?: unknown[];
  /** The same rows packed by a worker thread (Arrow IPC in shared memory); the executor unpacks them into `rows`. */
  readonly sharedRows?: readonly SharedRowBatch[];
  readonly counters: Record<string, number>;
  readonly stats: TaskStats;
}

/** How a task ended, as an executor reports it back to the driver. */
export type TaskOutcome =
  | { readonly ok: true; readonly result: TaskResult }
  | { readonly ok: false; readonly error: SerializedError; readonly infra: boolean };
