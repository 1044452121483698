import { loadZstd } from "../io/compression.js";
import { Block, blocksOfIpc } from "./block.js";
import { BlockBuilder } from "./block-builder.js";
import type { ShuffleEntry } from "./shuffle-entry.js";

/**
 * A spill block: the entries of one partition from one flush, as one Arrow IPC stream
 * (columns `key` utf8 (canonical key), `hash` float64 (the 52-bit key hash), `src` int32,
 * `shard` int32, `pos` float64, `payload` binary: v8-serialized or JSON text, see
 * {@link ShuffleEntry}) — compressed as a single zstd frame (level 1: spill files are
 * short-lived, speed beats ratio) when `compressed`, else the IPC bytes as they are.
 * Scratch on local disk is written uncompressed (zstd cost about a sixth of a dedupe's CPU
 * and local scratch lives in the page cache); remote scratch (gs://) is compressed.
 * {@link decodeBlock} tells the two apart by the zstd frame magic (an Arrow IPC stream
 * starts with 0xFFFFFFFF).
 */
export async function finishBlock(ipc: Uint8Array, compressed: boolean): Promise<Buffer> {
  const buf = Buffer.from(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  return compressed ? (await loadZstd()).compress(buf, 1) : buf;
}

const ZSTD_MAGIC = 0xfd2fb528;

/** The block(s) in bytes written by {@link finishBlock} (zero-copy over uncompressed bytes). */
export async function decodeBlock(bytes: Buffer): Promise<Block[]> {
  return blocksOfIpc(bytes.length >= 4 && bytes.readUInt32LE(0) === ZSTD_MAGIC ? await (await loadZstd()).decompress(bytes) : bytes);
}

/** Whether blocks written under a scratch folder are compressed: only when it is remote. */
export function compressScratch(dir: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dir);
}

/** Entries as one Arrow IPC stream (see {@link BlockBuilder}). */
export function encodeBlockIpc(entries: readonly ShuffleEntry[]): Promise<Uint8Array> {
  const b = new BlockBuilder();
  for (const e of entries) b.add(e);
  return b.toIpc();
}

/** The entries of a block as plain objects (payloads as views), in block order: for tests and tools. */
export function blockEntries(b: Block): ShuffleEntry[] {
  return Array.from({ length: b.rows }, (_, i) => ({ key: b.key(i), hash: b.hash[i]!, src: b.src[i]!, shard: b.shard[i]!, pos: b.pos[i]!, payload: b.payload(i) }));
}
