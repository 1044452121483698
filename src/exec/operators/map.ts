import { isThenable, StepFailure, type Chunk } from "./chunk.js";

/**
 * `map(fn)`: one row out per row in; `fn` may be async (awaited only when it returns a
 * promise). Results replace the rows in the chunk's own array: chunks belong to the pass that
 * made them, so no step upstream sees it, and a clean job allocates one array less per chunk.
 */
export async function* mapStep(input: AsyncIterable<Chunk>, fn: (row: unknown) => unknown, stepName: string): AsyncGenerator<Chunk> {
  for await (const c of input) {
    const rows = c.rows;
    for (let i = 0; i < rows.length; i++) {
      try {
        const r = fn(rows[i]);
        rows[i] = isThenable(r) ? await r : r;
      } catch (e) {
        throw new StepFailure(e, stepName, c.file, c.lines?.[i]);
      }
    }
    yield c;
  }
}
