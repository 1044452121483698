import { pipeline } from "node:stream";
import { InputError } from "../core/errors.js";
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
  const d = decompressor(codec);
  const stream = d ? pipeline(src, d, () => {}) : src;
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") throw new InputError(`input file ${path} disappeared before it could be read`, { file: path }, { cause: e });
    if (codec !== "none" && (err.code?.startsWith("Z_") || /zstd|invalid|header|magic|window|block/i.test(err.message))) {
      throw new InputError(`could not decompress ${path} as ${codec}: ${err.message} (is it truncated or not really ${codec}?)`, { file: path }, { cause: e });
    }
    throw e;
  } finally {
    src.destroy();
  }
}
