import { tableFromIPC } from "apache-arrow";
import { compress, decompress } from "@mongodb-js/zstd";
import { BlockBuilder } from "./block-builder.js";
import { DecodedEntry, type ShuffleEntry } from "./shuffle-entry.js";

/**
 * A spill block: the entries of one partition from one flush, as one Arrow IPC stream
 * (columns `key` utf8, `hash` float64 (the 52-bit key hash), `src` int32, `shard` int32,
 * `pos` float64, `payload` binary: v8-serialized or JSON text, see {@link ShuffleEntry}) — compressed as a single zstd frame (level 1: spill files
 * are short-lived, speed beats ratio) when `compressed`, else the IPC bytes as they are.
 * Scratch on local disk is written uncompressed (zstd cost about a sixth of a dedupe's CPU
 * and local scratch lives in the page cache); remote scratch (gs://) is compressed.
 * {@link decodeBlock} tells the two apart by the zstd frame magic (an Arrow IPC stream
 * starts with 0xFFFFFFFF).
 */
export async function encodeBlock(entries: readonly ShuffleEntry[], compressed = true): Promise<Buffer> {
  return finishBlock(encodeBlockIpc(entries), compressed);
}

/** A block's bytes from its Arrow IPC stream: zstd-compressed when `compressed`. */
export async function finishBlock(ipc: Uint8Array, compressed: boolean): Promise<Buffer> {
  const buf = Buffer.from(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  return compressed ? compress(buf, 1) : buf;
}

const ZSTD_MAGIC = 0xfd2fb528;

/** Entries of a block written by {@link encodeBlock}, in the order they were written. */
export async function decodeBlock(bytes: Buffer): Promise<ShuffleEntry[]> {
  return decodeBlockIpc(bytes.length >= 4 && bytes.readUInt32LE(0) === ZSTD_MAGIC ? await decompress(bytes) : bytes);
}

/** Whether blocks written under a scratch folder are compressed: only when it is remote. */
export function compressScratch(dir: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dir);
}

/** The entries as one Arrow IPC stream (see {@link BlockBuilder}). */
export function encodeBlockIpc(entries: readonly ShuffleEntry[]): Uint8Array {
  const b = new BlockBuilder();
  for (const e of entries) b.add(e);
  return b.toIpc();
}

export function decodeBlockIpc(ipc: Uint8Array): ShuffleEntry[] {
  const table = tableFromIPC(ipc);
  const out: ShuffleEntry[] = [];
  for (const batch of table.batches) {
    const k = batch.getChild("key")!.data[0]!;
    const p = batch.getChild("payload")!.data[0]!;
    const hash = batch.getChild("hash")!.data[0]!.values as Float64Array;
    const src = batch.getChild("src")!.data[0]!.values as Int32Array;
    const shard = batch.getChild("shard")!.data[0]!.values as Int32Array;
    const pos = batch.getChild("pos")!.data[0]!.values as Float64Array;
    const kv = k.values as Uint8Array;
    const keyBuf = Buffer.from(kv.buffer, kv.byteOffset, kv.byteLength);
    const ko = k.valueOffsets as Int32Array;
    const pv = p.values as Uint8Array;
    const po = p.valueOffsets as Int32Array;
    for (let i = 0; i < batch.numRows; i++) {
      out.push(new DecodedEntry(keyBuf, ko[i]!, ko[i + 1]! - ko[i]!, hash[i]!, src[i]!, shard[i]!, pos[i]!, pv.subarray(po[i]!, po[i + 1]!)));
    }
  }
  return out;
}
