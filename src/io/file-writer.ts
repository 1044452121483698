import { once } from "node:events";
import fs from "node:fs";
import { pipeline } from "node:stream/promises";
import type { Writable } from "node:stream";
import { codecOf, compressor } from "./compression.js";

/**
 * Writes bytes to a local file, compressing by the extension of `namedAs` (the final name,
 * since the file itself is written under a temporary one). Honours backpressure.
 */
export class FileWriter {
  private readonly file: fs.WriteStream;
  private readonly head: Writable;
  private readonly done: Promise<void>;
  private failed: Error | undefined;

  constructor(localPath: string, namedAs: string = localPath) {
    const file = fs.createWriteStream(localPath, { highWaterMark: 1024 * 1024 });
    this.file = file;
    const comp = compressor(codecOf(namedAs));
    this.head = comp ?? file;
    this.done = (comp ? pipeline(comp, file) : once(file, "finish").then(() => undefined)).catch((e: Error) => {
      this.failed = e;
      throw e;
    });
    this.done.catch(() => {});
  }

  async write(data: string | Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.head.write(data)) await Promise.race([once(this.head, "drain"), this.done]);
  }

  /** Finishes the file; resolves with the bytes on disk (after compression). */
  async close(): Promise<number> {
    this.head.end();
    await this.done;
    return this.file.bytesWritten;
  }

  /**
   * Abandons the file and resolves once its descriptor is closed, so that a temporary file
   * removed afterwards cannot be re-created by an `open()` still in flight.
   */
  async destroy(): Promise<void> {
    const closed = this.file.closed ? Promise.resolve() : new Promise<void>((resolve) => this.file.once("close", () => resolve()));
    this.head.destroy();
    this.file.destroy();
    await closed;
  }
}
