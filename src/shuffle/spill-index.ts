import type { FileHandle } from "node:fs/promises";
import fsp from "node:fs/promises";
import { IoError } from "../core/errors.js";
import { storeFor } from "../io/store-for.js";
import { Block, type BlockColumns } from "./block.js";
import { decodeBlock } from "./spill-block.js";

/**
 * The index a map task writes next to its spill files (`<name>.index.json`), or returns
 * as is when its last flush stayed in shared memory: for each spill file, for each target
 * partition p, `ranges[4p..4p+3]` = byte offset, byte length, rows, and the bytes a reducer
 * counts for holding them (an empty partition has length 0); for a shared-memory spill (on
 * one machine), per partition its block columns over `SharedArrayBuffer`s (or null). Size:
 * 4 numbers × partitions × spills of *this* map task — nothing grows with mappers × reducers
 * in one place.
 */
export interface SpillIndex {
  readonly version: 1;
  readonly partitions: number;
  readonly rows: number;
  readonly spills: readonly SpillRef[];
  /** KiB of the shared-memory budget its shared spill claimed (given back once reducers are done). */
  readonly sharedKb?: number;
}

/** One flush of a map task: a spill file in the scratch store, or block columns in shared memory. */
export type SpillRef =
  | { readonly file: string; readonly ranges: readonly number[] }
  | { readonly blocks: ReadonlyArray<{ readonly columns: BlockColumns; readonly memoryBytes: number } | null> };

/** One partition's block in one spill: a byte range of a file, or columns in memory. */
export interface BlockRef {
  file?: string;
  columns?: BlockColumns;
  offset: number;
  length: number;
  rows: number;
  memoryBytes: number;
}

/** Reads a whole (small) object. */
export async function readObject(uri: string, range?: { start: number; end: number }): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const c of storeFor(uri).openRead(uri, range)) parts.push(c as Buffer);
  } catch (e) {
    if (e instanceof IoError) throw e;
    throw new IoError(`reading shuffle data ${uri} failed: ${(e as Error).message}`, { uri, op: "read", retryable: true }, { cause: e });
  }
  return Buffer.concat(parts);
}

export async function readIndex(uri: string): Promise<SpillIndex> {
  const idx = JSON.parse((await readObject(uri)).toString("utf8")) as SpillIndex;
  if (idx.version !== 1) throw new IoError(`${uri} is not a sirocco spill index (version ${String(idx.version)})`, { uri, op: "read", retryable: false });
  return idx;
}

/** The blocks of partition `p` in `indexes` (in the order given, spills in order), empty ones left out. */
export function partitionBlocks(indexes: readonly SpillIndex[], p: number): BlockRef[] {
  const out: BlockRef[] = [];
  for (const idx of indexes) {
    for (const s of idx.spills) {
      if ("blocks" in s) {
        const b = s.blocks[p];
        if (b) out.push({ columns: b.columns, offset: 0, length: 0, rows: b.columns.rows, memoryBytes: b.memoryBytes });
        continue;
      }
      const length = s.ranges[4 * p + 1]!;
      if (length > 0) out.push({ file: s.file, offset: s.ranges[4 * p]!, length, rows: s.ranges[4 * p + 2]!, memoryBytes: s.ranges[4 * p + 3]! });
    }
  }
  return out;
}

/**
 * The spill files a reducer reads blocks from. A local file is opened once and each block is
 * one positioned read (a stream per block cost an open, several reads and a close each —
 * most of a spilling reduce's time went waiting on them); at most {@link MAX_OPEN} files stay
 * open (least recently used closed first). Remote files are read by ranged requests.
 */
export class BlockFiles {
  static readonly MAX_OPEN = 64;
  private readonly open = new Map<string, Promise<FileHandle>>();

  /** Bytes `[offset, offset + length)` of `file`. */
  async read(file: string, offset: number, length: number): Promise<Buffer> {
    if (file.includes("://")) return readObject(file, { start: offset, end: offset + length - 1 });
    try {
      const fh = await this.handle(file);
      const buf = Buffer.allocUnsafeSlow(length);
      let at = 0;
      while (at < length) {
        const { bytesRead } = await fh.read(buf, at, length - at, offset + at);
        if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${offset + at} (block of ${length} bytes at ${offset})`);
        at += bytesRead;
      }
      return buf;
    } catch (e) {
      throw new IoError(`reading shuffle data ${file} failed: ${(e as Error).message}`, { uri: file, op: "read", retryable: true }, { cause: e });
    }
  }

  private handle(file: string): Promise<FileHandle> {
    let h = this.open.get(file);
    if (h) {
      // Most recently used last.
      this.open.delete(file);
      this.open.set(file, h);
      return h;
    }
    h = fsp.open(file, "r");
    h.catch(() => this.open.delete(file));
    this.open.set(file, h);
    if (this.open.size > BlockFiles.MAX_OPEN) void this.forget(this.open.keys().next().value!);
    return h;
  }

  /** Closes `file` if open (before it is removed). */
  async forget(file: string): Promise<void> {
    const h = this.open.get(file);
    if (!h) return;
    this.open.delete(file);
    await (await h.catch(() => undefined))?.close();
  }

  /** Closes every open file. */
  async close(): Promise<void> {
    await Promise.all([...this.open.keys()].map((f) => this.forget(f)));
  }
}

/** Reads one block (a read of its spill file, decoded) or takes it from memory as it is. */
export async function readBlock(b: BlockRef, files?: BlockFiles): Promise<Block[]> {
  if (b.columns) return [Block.fromColumns(b.columns)];
  const bytes = files ? await files.read(b.file!, b.offset, b.length) : await readObject(b.file!, { start: b.offset, end: b.offset + b.length - 1 });
  return decodeBlock(bytes);
}

/** Every block in order, one read at a time (the next one read ahead). */
export async function* readBlocks(blocks: readonly BlockRef[], files?: BlockFiles): AsyncGenerator<Block[]> {
  let next = blocks.length > 0 ? readBlock(blocks[0]!, files) : undefined;
  try {
    for (let i = 0; i < blocks.length; i++) {
      const cur = await next!;
      next = i + 1 < blocks.length ? readBlock(blocks[i + 1]!, files) : undefined;
      yield cur;
    }
  } finally {
    // A consumer that stops early leaves the read ahead unawaited: keep its failure from going unhandled.
    next?.catch(() => {});
  }
}
