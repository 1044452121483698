import { pipeline } from "node:stream";
import { InputError, IoError } from "../core/errors.js";
import { codecOf, decompressor } from "./compression.js";
import type { ObjectStore } from "./object-store.js";

/**
 * The decompressed bytes of a file as a stream of chunks (compression from the
 * extension). Stopping iteration early closes the file. Corrupt compressed data surfaces as
 * an InputError naming the file.
 */
export async function* readDecompressed(store: ObjectStore, path: string): AsyncGenerator<Buffer> {
  const codec = codecOf(path);
  const src = store.openRead(path);
  let readError: unknown;
  src.once("error", (e) => (readError = e));
  const d = decompressor(codec);
  const stream = d ? pipeline(src, d, () => {}) : src;
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    if (readError !== undefined && e === readError) {
      if (e instanceof IoError) throw e; // from a remote store: already says what to check
      const err = e as NodeJS.ErrnoException;
      if (err.code === "ENOENT") throw new InputError(`input file ${path} disappeared before it could be read`, { file: path }, { cause: e });
      throw new IoError(`could not read ${path}: ${err.message}`, { uri: path, op: "read", retryable: err.code !== "EACCES" && err.code !== "EISDIR" }, { cause: e });
    }
    // Anything else came from the decoder: the bytes are not valid `codec`.
    const msg = e instanceof Error ? e.message : String(e);
    throw new InputError(`could not decompress ${path} as ${codec}: ${msg} (is it truncated or not really ${codec}?)`, { file: path }, { cause: e });
  } finally {
    src.destroy();
  }
}
