import { isThenable, StepFailure, type Chunk } from "./chunk.js";

/** `filter(fn)`: keeps rows whose predicate is truthy, with their line numbers. */
export async function* filterStep(input: AsyncIterable<Chunk>, fn: (row: unknown) => unknown, stepName: string): AsyncGenerator<Chunk> {
  for await (const c of input) {
    const rows = c.rows;
    const out: unknown[] = [];
    const lines: number[] | undefined = c.lines ? [] : undefined;
    for (let i = 0; i < rows.length; i++) {
      let keep: unknown;
      try {
        keep = fn(rows[i]);
        if (isThenable(keep)) keep = await keep;
      } catch (e) {
        throw new StepFailure(e, stepName, c.file, c.lines?.[i]);
      }
      if (keep) {
        out.push(rows[i]);
        lines?.push(c.lines![i]!);
      }
    }
    if (out.length > 0) yield { rows: out, lines, file: c.file };
  }
}
