import { InternalError } from "../../core/errors.js";
import { FileWriter } from "../../io/file-writer.js";
import { storeFor } from "../../io/store-for.js";
import { StepFailure, type Chunk } from "../operators/chunk.js";

/**
 * Writes a shard as JSON Lines under a temporary name and commits it by rename, so the final
 * path holds a whole file or nothing. Returns the bytes of the file (after compression).
 */
export async function writeJsonlSink(chunks: AsyncIterable<Chunk>, outputPath: string | undefined, tempTag: string): Promise<number> {
  if (!outputPath) throw new InternalError("writeJsonl task has no output path");
  const store = storeFor(outputPath);
  const pending = await store.beginWrite(outputPath, tempTag);
  const writer = new FileWriter(pending.tempPath, outputPath);
  try {
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
    const bytes = await writer.close();
    await pending.commit();
    return bytes;
  } catch (e) {
    await writer.destroy();
    await pending.abort();
    throw e;
  }
}
