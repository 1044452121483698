import type { ExecutorName } from "../core/options.js";

/** Rows that left one step of a stage. */
export interface StepStats {
  step: string;
  rowsOut: number;
}

export interface StageStats {
  id: number;
  label: string;
  shards: number;
  /** Shards not run because their output already existed (skipExisting / resume). */
  skippedShards: number;
  /** Rows read from the source (after loading files). */
  rowsIn: number;
  /** Rows that left the last step (written or returned). */
  rowsOut: number;
  steps: StepStats[];
  /** Malformed JSONL lines skipped with `onBadLine: "skip"`. */
  malformedLines: number;
  /** Bytes of the files written (after compression). */
  bytesWritten: number;
  /** Wall time of the stage, from its first task's start to its last task's end (ms). */
  wallMs: number;
  /** Shuffle: spill files written by this stage's map tasks (one per flush per task). */
  spillFiles?: number;
  /** Shuffle: sorted runs this stage's reduce tasks wrote because a partition did not fit memory (0: all in memory). */
  sortedRuns?: number;
}

export interface RunStats {
  executor: ExecutorName;
  workers: number;
  wallMs: number;
  tasks: number;
  /** Task attempts that failed and were tried again. */
  retries: number;
  stages: StageStats[];
}

/** What `run()` returns. */
export interface RunResult<T = unknown> {
  /** Files committed by the sink, in shard order (skipped shards' existing files included). */
  outputs: string[];
  /** The rows, in shard order, when the pipeline has no sink. */
  rows?: T[];
  /** User counters from `context().counters`, summed over all tasks. */
  counters: Record<string, number>;
  stats: RunStats;
}
