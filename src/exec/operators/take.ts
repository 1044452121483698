import type { Chunk } from "./chunk.js";

/** `take(n)`: the first `n` rows of the shard; returning early stops (and closes) the upstream reads. */
export async function* takeStep(input: AsyncIterable<Chunk>, n: number): AsyncGenerator<Chunk> {
  if (n === 0) return;
  let left = n;
  for await (const c of input) {
    if (c.rows.length < left) {
      left -= c.rows.length;
      yield c;
      continue;
    }
    yield { rows: c.rows.slice(0, left), lines: c.lines?.slice(0, left), file: c.file, ...(c.texts ? { texts: c.texts.slice(0, left) } : {}) };
    return;
  }
}
