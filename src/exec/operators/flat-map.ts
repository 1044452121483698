import { CHUNK_ROWS, isThenable, StepFailure, type Chunk } from "./chunk.js";

/**
 * `flatMap(fn)`: `fn` returns an array, any iterable, a generator, an async generator, or a
 * promise of an iterable. Output is re-chunked so one row exploding into millions stays
 * streaming.
 */
export async function* flatMapStep(input: AsyncIterable<Chunk>, fn: (row: unknown) => unknown, stepName: string): AsyncGenerator<Chunk> {
  for await (const c of input) {
    let out: unknown[] = [];
    let lines: number[] | undefined = c.lines ? [] : undefined;
    for (let i = 0; i < c.rows.length; i++) {
      const line = c.lines?.[i];
      try {
        let r = fn(c.rows[i]);
        if (isThenable(r)) r = await r;
        if (Array.isArray(r)) {
          for (const v of r) out.push(v);
          if (lines) for (let k = 0; k < r.length; k++) lines.push(line!);
        } else if (r != null && typeof (r as Iterable<unknown>)[Symbol.iterator] === "function") {
          for (const v of r as Iterable<unknown>) {
            out.push(v);
            lines?.push(line!);
            if (out.length >= CHUNK_ROWS) {
              yield { rows: out, lines, file: c.file };
              out = [];
              lines = lines ? [] : undefined;
            }
          }
        } else if (r != null && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
          for await (const v of r as AsyncIterable<unknown>) {
            out.push(v);
            lines?.push(line!);
            if (out.length >= CHUNK_ROWS) {
              yield { rows: out, lines, file: c.file };
              out = [];
              lines = lines ? [] : undefined;
            }
          }
        } else {
          throw new TypeError(`flatMap function must return an iterable or async iterable, got ${r === null ? "null" : typeof r}`);
        }
      } catch (e) {
        if (e instanceof StepFailure) throw e;
        throw new StepFailure(e, stepName, c.file, line);
      }
      if (out.length >= CHUNK_ROWS) {
        yield { rows: out, lines, file: c.file };
        out = [];
        lines = lines ? [] : undefined;
      }
    }
    if (out.length > 0) yield { rows: out, lines, file: c.file };
  }
}
