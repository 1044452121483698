import { Binary, Float64, Int32, Table, Utf8, makeData, makeVector, tableFromIPC, tableToIPC } from "apache-arrow";
import { compress, decompress } from "@mongodb-js/zstd";
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
  const ipc = encodeBlockIpc(entries);
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

export function encodeBlockIpc(entries: readonly ShuffleEntry[]): Uint8Array {
  const n = entries.length;
  const keyOffsets = new Int32Array(n + 1);
  const payloadOffsets = new Int32Array(n + 1);
  let keyBytes = 0;
  let payloadBytes = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    keyBytes += e instanceof DecodedEntry ? e.keyUtf8Length : Buffer.byteLength(e.key, "utf8");
    const p = e.payload;
    payloadBytes += typeof p === "string" ? Buffer.byteLength(p, "utf8") : p.length;
  }
  const keys = Buffer.allocUnsafe(keyBytes);
  const payloads = Buffer.allocUnsafe(payloadBytes);
  const hash = new Float64Array(n);
  const src = new Int32Array(n);
  const shard = new Int32Array(n);
  const pos = new Float64Array(n);
  let ko = 0;
  let po = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    if (e instanceof DecodedEntry) ko += e.keyBuf.copy(keys, ko, e.keyStart, e.keyStart + e.keyUtf8Length);
    else ko += keys.write(e.key, ko, "utf8");
    keyOffsets[i + 1] = ko;
    const p = e.payload;
    if (typeof p === "string") po += payloads.write(p, po, "utf8");
    else {
      payloads.set(p, po);
      po += p.length;
    }
    payloadOffsets[i + 1] = po;
    hash[i] = e.hash;
    src[i] = e.src;
    shard[i] = e.shard;
    pos[i] = e.pos;
  }
  const table = new Table({
    key: makeVector(makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: keyOffsets, data: keys })),
    hash: makeVector(makeData({ type: new Float64(), length: n, nullCount: 0, data: hash })),
    src: makeVector(makeData({ type: new Int32(), length: n, nullCount: 0, data: src })),
    shard: makeVector(makeData({ type: new Int32(), length: n, nullCount: 0, data: shard })),
    pos: makeVector(makeData({ type: new Float64(), length: n, nullCount: 0, data: pos })),
    payload: makeVector(makeData({ type: new Binary(), length: n, nullCount: 0, valueOffsets: payloadOffsets, data: payloads })),
  });
  return tableToIPC(table, "stream");
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
