/**
 * sirocco: batch data work on files with a lazy, typed Dataset<T> API, run inline, on a
 * thread pool (default) or, later, on many machines.
 *
 * @example
 * import { Dataset, run } from "sirocco";
 * const sink = Dataset.fromFiles("in", "**\/*.jsonl.gz").loadJsonl<{ text: string }>()
 *   .filter((d) => d.text.length > 200)
 *   .writeJsonl("out/part-{shard:05d}.jsonl.gz");
 * await run(sink);
 */
export { Dataset, Sink } from "./plan/dataset.js";
export { run, resolveEntry } from "./exec/run.js";
export { context, Counters, type TaskContext } from "./exec/context.js";
export { isWorker } from "./exec/runtime.js";
import "./tpu-feed/register.js";
export { openTokenFeed, TokenFeed, type TokenFeedOptions, type TokenBatch } from "./tpu-feed/token-feed.js";
export { readLedger, type Ledger, type LedgerShard, type CacheFingerprint, type ShardManifest } from "./tpu-feed/cache-format.js";
export { inspectTokenCache } from "./tpu-feed/inspect.js";
export type { TokenizerEncoding, ParquetCodec } from "./plan/nodes.js";
export type { RunResult, RunStats, StageStats, StepStats } from "./exec/run-result.js";
export type { RunOptions, ExecutorName, ProgressMode } from "./core/options.js";
export type { FileRef, ShardInfo, Key } from "./core/types.js";
export {
  SiroccoError,
  PlanError,
  TaskError,
  InputError,
  IoError,
  ResourceError,
  WorkerLostError,
  InternalError,
} from "./core/errors.js";
