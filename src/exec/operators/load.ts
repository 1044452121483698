import { InputError } from "../../core/errors.js";
import type { BadLinePolicy } from "../../plan/nodes.js";
import { readDecompressed } from "../../io/file-reader.js";
import { readLines } from "../../io/line-reader.js";
import { storeFor } from "../../io/store-for.js";
import type { Chunk } from "./chunk.js";

export interface LoadOptions {
  format: "jsonl" | "text";
  onBadLine: BadLinePolicy;
  /** Called once per skipped malformed line (with `onBadLine: "skip"`). */
  onMalformed: () => void;
  /** JSONL: give each row its input line's bytes (`Chunk.texts`); false when nothing after the load would use them. */
  texts: boolean;
}

/**
 * `loadJsonl()` / `loadText()`: each input row is a FileRef; streams the (decompressed)
 * file line by line and emits its rows with their line numbers. JSONL: blank lines are
 * ignored; a malformed line is an InputError naming file and line, or is skipped and counted.
 */
export async function* loadStep(input: AsyncIterable<Chunk>, o: LoadOptions): AsyncGenerator<Chunk> {
  for await (const c of input) {
    for (const ref of c.rows) {
      const path = (ref as { path?: unknown } | null)?.path;
      if (typeof path !== "string") {
        throw new InputError(`load${o.format === "jsonl" ? "Jsonl" : "Text"}() expects FileRef rows ({ path, size }) from Dataset.fromFiles, got ${JSON.stringify(ref)?.slice(0, 100)}`);
      }
      // JSONL rows keep their input line's bytes (`Chunk.texts`): moved and written as they are.
      const batches = readLines(readDecompressed(storeFor(path), path), { bytes: o.format === "jsonl" && o.texts });
      if (o.format === "text") {
        for await (const b of batches) yield { rows: b.lines, lines: lineNumbers(b.firstLine, b.lines.length), file: path };
        continue;
      }
      for await (const b of batches) {
        const rows: unknown[] = [];
        const lines: number[] = [];
        const raw = b.bytes;
        const texts: Uint8Array[] | undefined = raw ? [] : undefined;
        for (let i = 0; i < b.lines.length; i++) {
          const text = b.lines[i]!;
          if (text.length === 0 || isBlank(text)) continue;
          try {
            rows.push(JSON.parse(text));
            lines.push(b.firstLine + i);
            texts?.push(raw![i]!);
          } catch (e) {
            if (o.onBadLine === "skip") {
              o.onMalformed();
              continue;
            }
            const preview = text.length > 80 ? `${text.slice(0, 80)}…` : text;
            throw new InputError(
              `malformed JSON in ${path} line ${b.firstLine + i}: ${(e as Error).message} (line starts ${JSON.stringify(preview)}); use loadJsonl({ onBadLine: "skip" }) to skip and count such lines`,
              { file: path, line: b.firstLine + i },
              { cause: e },
            );
          }
        }
        if (rows.length > 0) yield texts ? { rows, lines, file: path, texts } : { rows, lines, file: path };
      }
    }
  }
}

function lineNumbers(first: number, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = first + i;
  return out;
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
