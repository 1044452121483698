import { FileWriter } from "../../io/file-writer.js";
import { storeFor } from "../../io/store-for.js";

/**
 * Writes one output file through the store's atomic streaming write (a temporary file
 * renamed into place locally, an upload straight to the final name with a generation
 * precondition on `gs://`): `fill` writes the bytes (compressed by the extension of
 * `outputPath`), then the file is committed; if `fill` throws, nothing appears at
 * `outputPath`. `ifGeneration` is the output's generation when the driver planned the task
 * ("0" = absent), so a duplicate attempt cannot replace a committed output with other bytes.
 * Returns the bytes of the committed file.
 *
 * @example await writeCommitted("out/part-0.jsonl.gz", runId, "0", (w) => w.write('{"a":1}\n'))
 */
export async function writeCommitted(outputPath: string, tempTag: string, ifGeneration: string | undefined, fill: (writer: FileWriter) => Promise<void>): Promise<number> {
  const pending = await storeFor(outputPath).openWrite(outputPath, tempTag, ifGeneration === undefined ? {} : { ifGeneration });
  const writer = new FileWriter(pending.stream, outputPath);
  try {
    await fill(writer);
    await writer.close();
    return (await pending.commit()).bytes;
  } catch (e) {
    await writer.destroy();
    await pending.abort();
    throw e;
  }
}
