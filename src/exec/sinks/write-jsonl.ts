import { InternalError } from "../../core/errors.js";
import { StepFailure, type Chunk } from "../operators/chunk.js";
import { writeCommitted } from "./write-committed.js";

/**
 * Writes a shard as JSON Lines through the store's atomic streaming write (a temporary file
 * renamed into place locally, an upload straight to the final name with a generation
 * precondition on `gs://`), so the final path holds a whole file or nothing. `ifGeneration`
 * is the output's generation when the driver planned the task ("0" = absent): a duplicate
 * attempt cannot replace a committed output with other bytes. Returns the bytes of the file
 * (after compression).
 */
export async function writeJsonlSink(chunks: AsyncIterable<Chunk>, outputPath: string | undefined, tempTag: string, ifGeneration?: string): Promise<number> {
  if (!outputPath) throw new InternalError("writeJsonl task has no output path");
  return writeCommitted(outputPath, tempTag, ifGeneration, async (writer) => {
    for await (const c of chunks) {
      let text = "";
      for (let i = 0; i < c.rows.length; i++) {
        const json = JSON.stringify(c.rows[i]);
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
      if (text.length > 0) await writer.write(text);
    }
  });
}
