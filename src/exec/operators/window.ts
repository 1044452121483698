import type { Chunk } from "./chunk.js";

/** `window(n)`: consecutive rows of a shard in arrays of `n`; the last may be shorter. */
export async function* windowStep(input: AsyncIterable<Chunk>, size: number): AsyncGenerator<Chunk> {
  let cur: unknown[] = [];
  let curLine: number | undefined;
  let file: string | undefined;
  let out: unknown[] = [];
  let lines: number[] = [];
  for await (const c of input) {
    file = c.file;
    for (let i = 0; i < c.rows.length; i++) {
      if (cur.length === 0) curLine = c.lines?.[i];
      cur.push(c.rows[i]);
      if (cur.length === size) {
        out.push(cur);
        lines.push(curLine ?? 0);
        cur = [];
      }
    }
    if (out.length > 0) {
      yield { rows: out, lines: c.lines ? lines : undefined, file };
      out = [];
      lines = [];
    }
  }
  if (cur.length > 0) yield { rows: [cur], lines: curLine === undefined ? undefined : [curLine], file };
}
