import type { ShardInfo } from "../../core/types.js";
import { CHUNK_ROWS, StepFailure, type Chunk } from "./chunk.js";

/**
 * `mapShard(fn)`: hands the shard's rows to `fn` as one async iterable and re-chunks what it
 * yields. Line numbers are not tracked through it (the mapping of rows is the user's).
 */
export async function* mapShardStep(
  input: AsyncIterable<Chunk>,
  fn: (rows: AsyncIterable<unknown>, shard: ShardInfo) => AsyncIterable<unknown> | Iterable<unknown>,
  shard: ShardInfo,
  stepName: string,
): AsyncGenerator<Chunk> {
  let file: string | undefined;
  // Errors of the steps before this one (bad input, another step's failure) pass through the
  // user's function; they are rethrown as they were, not blamed on mapShard.
  let upstreamError: { e: unknown } | undefined;
  async function* rows(): AsyncGenerator<unknown> {
    try {
      for await (const c of input) {
        file = c.file;
        yield* c.rows;
      }
    } catch (e) {
      upstreamError = { e };
      throw e;
    }
  }
  let out: unknown[] = [];
  try {
    const result = fn(rows(), shard);
    if (result == null || (typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] !== "function" && typeof (result as Iterable<unknown>)[Symbol.iterator] !== "function")) {
      throw new TypeError(`mapShard function must return an iterable or async iterable (e.g. an async generator), got ${result === null ? "null" : typeof result}`);
    }
    for await (const v of result as AsyncIterable<unknown>) {
      out.push(v);
      if (out.length >= CHUNK_ROWS) {
        yield { rows: out, file };
        out = [];
      }
    }
  } catch (e) {
    if (e instanceof StepFailure || (upstreamError && upstreamError.e === e)) throw e;
    throw new StepFailure(e, stepName, file);
  }
  if (out.length > 0) yield { rows: out, file };
}
