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

/** Reads one block (a ranged read of its spill file, decoded) or takes it from memory as it is. */
export async function readBlock(b: BlockRef): Promise<Block[]> {
  if (b.columns) return [Block.fromColumns(b.columns)];
  return decodeBlock(await readObject(b.file!, { start: b.offset, end: b.offset + b.length - 1 }));
}

/** Every block in order, one read at a time (the next one read ahead). */
export async function* readBlocks(blocks: readonly BlockRef[]): AsyncGenerator<Block[]> {
  let next = blocks.length > 0 ? readBlock(blocks[0]!) : undefined;
  for (let i = 0; i < blocks.length; i++) {
    const cur = await next!;
    next = i + 1 < blocks.length ? readBlock(blocks[i + 1]!) : undefined;
    yield cur;
  }
}
