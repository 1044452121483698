import { Binary, Float64, Int32, Table, Utf8, makeData, makeVector, tableToIPC } from "apache-arrow";
import { DecodedEntry, ENTRY_OVERHEAD_BYTES, type ShuffleEntry } from "./shuffle-entry.js";

const INITIAL_ROWS = 64;
const INITIAL_BYTES = 4096;

/**
 * The entries of one block, appended straight into the columns of the Arrow record batch
 * they will be written as (`key`, `hash`, `src`, `shard`, `pos`, `payload`): a text payload
 * or key is encoded to UTF-8 once, on arrival, and nothing per row stays on the JavaScript
 * heap, so a map task's buffered rows cost the garbage collector nothing. Columns grow by
 * doubling and are reused after {@link reset}.
 *
 * `usedBytes` is what the rows take in the columns, `allocatedBytes` the columns' capacity
 * (at most about twice the most they ever held); `decodedBytes` is what the rows will be
 * counted for once decoded by a reducer (`entryBytes` of each).
 */
export class BlockBuilder {
  rows = 0;
  /** Sum of `entryBytes` of the rows as a reducer decodes them. */
  decodedBytes = 0;
  private keys: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  private keyEnd = 0;
  private keyOffsets = new Int32Array(INITIAL_ROWS + 1);
  private payloads: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  private payloadEnd = 0;
  private payloadOffsets = new Int32Array(INITIAL_ROWS + 1);
  private hash = new Float64Array(INITIAL_ROWS);
  private src = new Int32Array(INITIAL_ROWS);
  private shard = new Int32Array(INITIAL_ROWS);
  private pos = new Float64Array(INITIAL_ROWS);

  /** Bytes the columns take in memory (their capacity). */
  get allocatedBytes(): number {
    return this.keys.length + this.payloads.length + this.hash.length * 32;
  }

  /** Bytes the rows take in the columns. */
  get usedBytes(): number {
    return this.keyEnd + this.payloadEnd + this.rows * 32;
  }

  /** Appends an entry; returns how many bytes `usedBytes` grew by. */
  add(e: ShuffleEntry): number {
    const before = this.usedBytes;
    const i = this.rows;
    if (i === this.hash.length) this.growRows();
    let keyBytes: number;
    if (e instanceof DecodedEntry) {
      keyBytes = e.keyUtf8Length;
      this.reserveKeys(keyBytes);
      e.keyBuf.copy(this.keys, this.keyEnd, e.keyStart, e.keyStart + keyBytes);
    } else if (e.key.length === 0) keyBytes = 0;
    else {
      this.reserveKeys(Buffer.byteLength(e.key, "utf8"));
      keyBytes = this.keys.write(e.key, this.keyEnd, "utf8");
    }
    this.keyEnd += keyBytes;
    this.keyOffsets[i + 1] = this.keyEnd;
    const p = e.payload;
    let payloadBytes: number;
    if (typeof p === "string") {
      this.reservePayloads(Buffer.byteLength(p, "utf8"));
      payloadBytes = this.payloads.write(p, this.payloadEnd, "utf8");
    } else {
      payloadBytes = p.length;
      this.reservePayloads(payloadBytes);
      this.payloads.set(p, this.payloadEnd);
    }
    this.payloadEnd += payloadBytes;
    this.payloadOffsets[i + 1] = this.payloadEnd;
    this.hash[i] = e.hash;
    this.src[i] = e.src;
    this.shard[i] = e.shard;
    this.pos[i] = e.pos;
    this.rows = i + 1;
    this.decodedBytes += keyBytes * 2 + payloadBytes + ENTRY_OVERHEAD_BYTES;
    return this.usedBytes - before;
  }

  /** The payload bytes of row `i` (a view into the column: valid until the builder is reset). */
  payloadAt(i: number): Uint8Array {
    return this.payloads.subarray(this.payloadOffsets[i]!, this.payloadOffsets[i + 1]!);
  }

  /** The rows as one Arrow IPC stream (a copy: the builder may be reset or reused after). */
  toIpc(): Uint8Array {
    const n = this.rows;
    const table = new Table({
      key: makeVector(makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: this.keyOffsets.subarray(0, n + 1), data: this.keys.subarray(0, this.keyEnd) })),
      hash: makeVector(makeData({ type: new Float64(), length: n, nullCount: 0, data: this.hash.subarray(0, n) })),
      src: makeVector(makeData({ type: new Int32(), length: n, nullCount: 0, data: this.src.subarray(0, n) })),
      shard: makeVector(makeData({ type: new Int32(), length: n, nullCount: 0, data: this.shard.subarray(0, n) })),
      pos: makeVector(makeData({ type: new Float64(), length: n, nullCount: 0, data: this.pos.subarray(0, n) })),
      payload: makeVector(makeData({ type: new Binary(), length: n, nullCount: 0, valueOffsets: this.payloadOffsets.subarray(0, n + 1), data: this.payloads.subarray(0, this.payloadEnd) })),
    });
    return tableToIPC(table, "stream");
  }

  /** Empties the builder, keeping its columns' memory for the next block. */
  reset(): void {
    this.rows = 0;
    this.decodedBytes = 0;
    this.keyEnd = 0;
    this.payloadEnd = 0;
  }

  private growRows(): void {
    const n = this.hash.length * 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.keyOffsets = grow(this.keyOffsets, n + 1);
    this.payloadOffsets = grow(this.payloadOffsets, n + 1);
    this.hash = grow(this.hash, n);
    this.src = grow(this.src, n);
    this.shard = grow(this.shard, n);
    this.pos = grow(this.pos, n);
  }

  private reserveKeys(n: number): void {
    if (this.keyEnd + n > this.keys.length) this.keys = grown(this.keys, this.keyEnd, this.keyEnd + n);
  }

  private reservePayloads(n: number): void {
    if (this.payloadEnd + n > this.payloads.length) this.payloads = grown(this.payloads, this.payloadEnd, this.payloadEnd + n);
  }
}

function grown(buf: Buffer, used: number, need: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
  buf.copy(next, 0, 0, used);
  return next;
}
