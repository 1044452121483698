import { InternalError } from "../../core/errors.js";
import { StepFailure, type Chunk } from "../operators/chunk.js";
import { writeCommitted } from "./write-committed.js";


/**
 * Writes a shard as JSON Lines through the store's atomic streaming write (a temporary file
 * renamed into place locally, an upload straight to the final name with a generation
 * precondition on `gs://`), so the final path holds a whole file or nothing. `ifGeneration`
 * is the output's generation when the driver planned the task ("0" = absent): a duplicate
 * attempt cannot replace a committed output with other bytes. Returns the bytes of the file
 * (after compression). A row that still has its input JSON text (`Chunk.texts`: rows that
 * only went through filter, take, dedupe or reshard after `loadJsonl`) is written as that
 * text, byte for byte; other rows as `JSON.stringify(row)`.
 */
export async function writeJsonlSink(chunks: AsyncIterable<Chunk>, outputPath: string | undefined, tempTag: string, ifGeneration?: string): Promise<number> {
  if (!outputPath) throw new InternalError("writeJsonl task has no output path");
  return writeCommitted(outputPath, tempTag, ifGeneration, async (writer) => {
    for await (const c of chunks) {
      const texts = c.texts;
      // Lines are gathered as one string; rows whose JSON text is UTF-8 bytes (from the
      // shuffle) are gathered as bytes and copied once into one buffer, never decoded.
      let text = "";
      let bytes: Array<Uint8Array | string> | undefined;
      let byteLength = 0;
      for (let i = 0; i < c.rows.length; i++) {
        const t = texts?.[i];
        if (t !== undefined && typeof t !== "string") {
          if (text.length > 0) {
            (bytes ??= []).push(text);
            byteLength += Buffer.byteLength(text);
            text = "";
          }
          (bytes ??= []).push(t);
          byteLength += t.length + 1;
          continue;
        }
        const json = t ?? JSON.stringify(c.rows[i]);
        if (typeof json !== "string") {
          throw new StepFailure(
            new TypeError(`writeJsonl cannot write ${String(c.rows[i])} as a JSON line (did a map step return nothing?)`),
            "writeJsonl",
            c.file,
            c.lines?.[i],
          );
        }
        text += json;
        text += "\n";
      }
      if (bytes) {
        if (text.length > 0) {
          bytes.push(text);
          byteLength += Buffer.byteLength(text);
        }
        await writer.write(joinLines(bytes, byteLength));
      } else if (text.length > 0) await writer.write(text);
    }
  });
}

/** One buffer of the parts: a byte part is one JSON text (a newline is added), a string part is lines that already end in one. */
function joinLines(parts: ReadonlyArray<Uint8Array | string>, byteLength: number): Buffer {
  const out = Buffer.allocUnsafe(byteLength);
  let o = 0;
  for (const p of parts) {
    if (typeof p === "string") o += out.write(p, o, "utf8");
    else {
      out.set(p, o);
      o += p.length;
      out[o++] = 10;
    }
  }
  return out;
}
