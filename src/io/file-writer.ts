import { once } from "node:events";
import fs from "node:fs";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { codecOf, compressor } from "./compression.js";

/**
 * Writes bytes to a local file or to any Writable (e.g. an {@link AtomicWrite} stream that
 * uploads as it goes), compressing by the extension of `namedAs` (the final name, since the
 * bytes go to a temporary file or an upload). Honours backpressure.
 *
 * @example
 * const w = new FileWriter(atomic.stream, "gs://b/out/part-0.jsonl.gz");
 * await w.write('{"a":1}\n');
 * const bytes = await w.close(); // compressed size
 */
export class FileWriter {
  private readonly target: Writable;
  private readonly head: Writable;
  private readonly done: Promise<void>;
  private failed: Error | undefined;
  private bytesOut = 0;

  constructor(destination: string | Writable, namedAs: string = typeof destination === "string" ? destination : "") {
    const target = typeof destination === "string" ? fs.createWriteStream(destination, { highWaterMark: 1024 * 1024 }) : destination;
    this.target = target;
    const comp = compressor(codecOf(namedAs));
    if (comp) comp.on("data", (c: Buffer) => (this.bytesOut += c.length));
    this.head = comp ?? target;
    this.done = (comp ? pipeline(comp, target) : finishedOrClosed(target)).catch((e: Error) => {
      this.failed = e;
      throw e;
    });
    this.done.catch(() => {});
  }

  /**
   * Writes `data`; resolves once the writer may take more (backpressure). `onConsumed` is
   * called when `data` itself has been written or compressed, after which its buffer may be
   * reused.
   */
  async write(data: string | Buffer, onConsumed?: () => void): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.head === this.target) this.bytesOut += typeof data === "string" ? Buffer.byteLength(data) : data.length;
    if (!this.head.write(data, onConsumed)) await Promise.race([once(this.head, "drain"), this.done]);
  }

  /** Waits for `p`, or fails as soon as the writer does (so a wait on a consumed-callback cannot hang on a dead stream). */
  async unlessFailed(p: Promise<void>): Promise<void> {
    if (this.failed) throw this.failed;
    await Promise.race([p, this.done]);
  }

  /** Finishes the bytes; resolves with how many were written (after compression). */
  async close(): Promise<number> {
    this.head.end();
    await this.done;
    return this.target instanceof fs.WriteStream ? this.target.bytesWritten : this.bytesOut;
  }

  /**
   * Abandons the bytes and resolves once a file descriptor is closed, so that a temporary
   * file removed afterwards cannot be re-created by an `open()` still in flight.
   */
  async destroy(): Promise<void> {
    const t = this.target;
    const closed = t.closed || !(t instanceof fs.WriteStream) ? Promise.resolve() : new Promise<void>((resolve) => t.once("close", () => resolve()));
    this.head.destroy();
    t.destroy();
    await closed;
  }
}

function finishedOrClosed(w: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    w.once("finish", () => resolve());
    w.once("error", reject);
  });
}
