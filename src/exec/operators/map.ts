import { isThenable, StepFailure, type Chunk } from "./chunk.js";

/** `map(fn)`: one row out per row in; `fn` may be async (awaited only when it returns a promise). */
export async function* mapStep(input: AsyncIterable<Chunk>, fn: (row: unknown) => unknown, stepName: string): AsyncGenerator<Chunk> {
  for await (const c of input) {
    const rows = c.rows;
    const out = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      try {
        const r = fn(rows[i]);
        out[i] = isThenable(r) ? await r : r;
      } catch (e) {
        throw new StepFailure(e, stepName, c.file, c.lines?.[i]);
      }
    }
    yield { rows: out, lines: c.lines, file: c.file };
  }
}
