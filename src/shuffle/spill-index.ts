import { IoError } from "../core/errors.js";
import { storeFor } from "../io/store-for.js";
import { decodeBlock } from "./spill-block.js";
import type { ShuffleEntry } from "./shuffle-entry.js";

/**
 * The index a map task writes next to its spill files (`<name>.index.json`): for each spill
 * file, for each target partition p, `ranges[4p..4p+3]` = byte offset, byte length, rows,
 * and the bytes those rows are counted for in memory. An empty partition has length 0.
 * Size: 4 numbers × partitions × spills of *this* map task — nothing grows with
 * mappers × reducers in one place.
 */
export interface SpillIndex {
  readonly version: 1;
  readonly partitions: number;
  readonly rows: number;
  readonly spills: ReadonlyArray<{ readonly file: string; readonly ranges: readonly number[] }>;
}

/** One partition's bytes in one spill file. */
export interface BlockRef {
  file: string;
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
      const length = s.ranges[4 * p + 1]!;
      if (length > 0) out.push({ file: s.file, offset: s.ranges[4 * p]!, length, rows: s.ranges[4 * p + 2]!, memoryBytes: s.ranges[4 * p + 3]! });
    }
  }
  return out;
}

/** Reads one block with a ranged read and decodes its entries. */
export async function readBlock(b: BlockRef): Promise<ShuffleEntry[]> {
  return decodeBlock(await readObject(b.file, { start: b.offset, end: b.offset + b.length - 1 }));
}

/** Every block in order, one decoded block at a time (the next one read ahead). */
export async function* readBlocks(blocks: readonly BlockRef[]): AsyncGenerator<ShuffleEntry[]> {
  let next = blocks.length > 0 ? readBlock(blocks[0]!) : undefined;
  for (let i = 0; i < blocks.length; i++) {
    const cur = await next!;
    next = i + 1 < blocks.length ? readBlock(blocks[i + 1]!) : undefined;
    yield cur;
  }
}
