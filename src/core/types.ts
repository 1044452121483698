/** A file found by `Dataset.fromFiles`: its path (local or `gs://`) and size in bytes. */
export interface FileRef {
  path: string;
  size: number;
}

/** What a `mapShard` function is told about the shard it processes. */
export interface ShardInfo {
  /** 0-based shard index within the stage. */
  index: number;
  /** Number of shards in the stage. */
  total: number;
  /** The input file of this shard, when the stage reads files. */
  input?: string;
  /** Stage number within the plan. */
  stage: number;
}

/** A value usable as a grouping or dedupe key. */
export type Key = string | number | boolean | null | Key[] | { [k: string]: Key };

/** A value that may be awaited. */
export type MaybePromise<T> = T | Promise<T>;
