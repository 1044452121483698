import { Transform, type TransformCallback } from "node:stream";
import zlib from "node:zlib";
import { Decompress as ZstdDecompress } from "fzstd";

export type Codec = "gzip" | "zstd" | "none";

/** The compression a path implies by its extension: `.gz` → gzip, `.zst` → zstd. */
export function codecOf(path: string): Codec {
  if (path.endsWith(".gz")) return "gzip";
  if (path.endsWith(".zst") || path.endsWith(".zstd")) return "zstd";
  return "none";
}

/**
 * How much decompressed output a decompressor produces ahead of its reader. Node's default
 * (16 KiB, less than one 256 KiB output chunk) makes gunzip on libuv's pool and the
 * JavaScript parsing its lines take turns; a few MiB lets them overlap.
 */
const DECOMPRESSOR_AHEAD_BYTES = 4 * 1024 * 1024;

/** A stream that decompresses `codec` (or passes bytes through for `"none"`). */
export function decompressor(codec: Codec): Transform | undefined {
  if (codec === "gzip") return zlib.createGunzip({ chunkSize: 256 * 1024, readableHighWaterMark: DECOMPRESSOR_AHEAD_BYTES } as zlib.ZlibOptions & { readableHighWaterMark: number });
  if (codec === "zstd") return new ZstdDecodeStream();
  return undefined;
}

/**
 * How much uncompressed input a compressor accepts before asking the writer to wait. Node's
 * default (16 KiB) makes the JavaScript producing rows and the compression running on libuv's
 * pool take turns; a few MiB lets them overlap.
 */
const COMPRESSOR_BUFFER_BYTES = 4 * 1024 * 1024;

/** A stream that compresses to `codec` (gzip level 6, zstd level 3), or undefined for none. */
export function compressor(codec: Codec): Transform | undefined {
  if (codec === "gzip") {
    // zlib streams pass stream options through to Transform; @types/node omits them.
    const opts: zlib.ZlibOptions & { writableHighWaterMark: number } = { level: 6, chunkSize: 256 * 1024, writableHighWaterMark: COMPRESSOR_BUFFER_BYTES };
    return zlib.createGzip(opts);
  }
  if (codec === "zstd") return new ZstdEncodeStream();
  return undefined;
}

/**
 * Streaming zstd decode (pure JS, fzstd). Handles multi-frame files, such as those
 * {@link ZstdEncodeStream} and `zstd` itself write.
 */
class ZstdDecodeStream extends Transform {
  private readonly d: ZstdDecompress;
  constructor() {
    super();
    this.d = new ZstdDecompress((chunk) => {
      this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.d.push(chunk, false);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.d.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

/**
 * Streaming zstd encode: buffers up to `frameBytes` of input and emits each as an
 * independent zstd frame (native @mongodb-js/zstd, level 3). A file of concatenated frames
 * is a valid zstd stream for every decoder. Memory stays at about two frames.
 */
class ZstdEncodeStream extends Transform {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly frameBytes = 4 * 1024 * 1024) {
    super({ writableHighWaterMark: COMPRESSOR_BUFFER_BYTES });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size < this.frameBytes) return cb();
    this.emitFrame().then(() => cb(), cb);
  }
  override _flush(cb: TransformCallback): void {
    if (this.size === 0) return cb();
    this.emitFrame().then(() => cb(), cb);
  }
  private async emitFrame(): Promise<void> {
    const input = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.push(await (await loadZstd()).compress(input, 3));
  }
}

let zstd: Promise<typeof import("@mongodb-js/zstd")> | undefined;

/**
 * The native zstd binding, loaded on first use (it starts a thread pool of its own; most runs
 * never compress with zstd).
 */
export function loadZstd(): Promise<typeof import("@mongodb-js/zstd")> {
  return (zstd ??= import("@mongodb-js/zstd"));
}
