import { isThenable, StepFailure, type Chunk } from "./chunk.js";

/** `filter(fn)`: keeps rows whose predicate is truthy (compacting the chunk in place), with their line numbers and JSON texts. */
export async function* filterStep(input: AsyncIterable<Chunk>, fn: (row: unknown) => unknown, stepName: string): AsyncGenerator<Chunk> {
  for await (const c of input) {
    const rows = c.rows;
    const lines = c.lines;
    const texts = c.texts;
    let kept = 0;
    for (let i = 0; i < rows.length; i++) {
      let keep: unknown;
      try {
        keep = fn(rows[i]);
        if (isThenable(keep)) keep = await keep;
      } catch (e) {
        throw new StepFailure(e, stepName, c.file, lines?.[i]);
      }
      if (keep) {
        rows[kept] = rows[i];
        if (lines) lines[kept] = lines[i]!;
        if (texts) texts[kept] = texts[i];
        kept++;
      }
    }
    rows.length = kept;
    if (lines) lines.length = kept;
    if (texts) texts.length = kept;
    if (kept > 0) yield c;
  }
}
