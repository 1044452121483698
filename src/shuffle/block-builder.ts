import { loadArrow } from "../io/columnar/load-arrow.js";
import { SORT_BYTES_PER_ENTRY, type Block, type BlockColumns } from "./block.js";
import type { ShuffleEntry } from "./shuffle-entry.js";

const INITIAL_ROWS = 64;
const INITIAL_BYTES = 4096;

/**
 * The entries of one block, appended straight into the columns of the Arrow record batch
 * they will be written as (`key`, `hash`, `src`, `shard`, `pos`, `payload`): a key or a text
 * payload is encoded to UTF-8 once, on arrival, and nothing per row stays on the JavaScript
 * heap, so a map task's buffered rows cost the garbage collector nothing. Columns grow by
 * doubling and are reused after {@link reset}.
 *
 * A key can be *staged* first ({@link stageKey}): encoded where the next row's key goes, so
 * its bytes can be hashed and compared with buffered keys before the row is added (dedupe
 * drops a row whose key is buffered already, without encoding the key twice).
 *
 * `usedBytes` is what the rows take in the columns, `allocatedBytes` the columns' capacity
 * (at most about twice the most they ever held); `memoryBytes` is what a reducer counts for
 * the block when it holds it (its bytes plus its share of the sort arrays).
 */
export class BlockBuilder {
  rows = 0;
  private keys: Buffer;
  private keyEnd = 0;
  /** End of the staged key (≥ keyEnd), or -1 when no key is staged. */
  private stagedEnd = -1;
  private keyOffsets: Int32Array;
  private payloads: Buffer;
  private payloadEnd = 0;
  private payloadOffsets: Int32Array;
  private hash: Float64Array;
  private src: Int32Array;
  private shard: Int32Array;
  private pos: Float64Array;

  constructor() {
    this.keys = this.alloc(INITIAL_BYTES);
    this.payloads = this.alloc(INITIAL_BYTES);
    this.keyOffsets = this.ints(INITIAL_ROWS + 1);
    this.payloadOffsets = this.ints(INITIAL_ROWS + 1);
    // Memory may come uninitialized: every row's end is written as it is added, the first start here.
    this.keyOffsets[0] = 0;
    this.payloadOffsets[0] = 0;
    this.hash = this.doubles(INITIAL_ROWS);
    this.src = this.ints(INITIAL_ROWS);
    this.shard = this.ints(INITIAL_ROWS);
    this.pos = this.doubles(INITIAL_ROWS);
  }

  /** Column memory: uninitialized, never from Node's shared pool (typed arrays over it stay aligned). */
  private alloc(n: number): Buffer {
    return Buffer.allocUnsafeSlow(n);
  }

  private ints(n: number): Int32Array {
    const b = this.alloc(n * 4);
    return new Int32Array(b.buffer, b.byteOffset, n);
  }

  private doubles(n: number): Float64Array {
    const b = this.alloc(n * 8);
    return new Float64Array(b.buffer, b.byteOffset, n);
  }

  /** Bytes the columns take in memory (their capacity). */
  get allocatedBytes(): number {
    return this.keys.length + this.payloads.length + this.hash.length * 32;
  }

  /** Bytes the rows take in the columns. */
  get usedBytes(): number {
    return this.keyEnd + this.payloadEnd + this.rows * 32;
  }

  /** Bytes a reducer counts for this block when it holds it. */
  get memoryBytes(): number {
    return this.usedBytes + this.rows * SORT_BYTES_PER_ENTRY;
  }

  /** Appends an entry; returns how many bytes `usedBytes` grew by. */
  add(e: ShuffleEntry): number {
    return this.addRow(e.key, e.hash, e.src, e.shard, e.pos, e.payload);
  }

  /** Appends a row (its canonical key as a string, "" for none); returns how many bytes `usedBytes` grew by. */
  addRow(key: string, hash: number, src: number, shard: number, pos: number, payload: Uint8Array | string): number {
    if (key.length > 0) this.stageKey(key);
    return this.addStaged(hash, src, shard, pos, payload);
  }

  /** Encodes `key` (a canonical key) as the next row's key and returns its UTF-8 bytes (a view, valid until the next change). */
  stageKey(key: string): Uint8Array {
    this.reserveKeys(Buffer.byteLength(key, "utf8"));
    this.stagedEnd = this.keyEnd + this.keys.write(key, this.keyEnd, "utf8");
    return this.keys.subarray(this.keyEnd, this.stagedEnd);
  }

  /** Stages the canonical key of the string key `raw` (`"` + raw) without building that string. */
  stageStringKey(raw: string): void {
    const max = raw.length * 3 + 1;
    this.reserveKeys(this.keyEnd + max <= this.keys.length ? max : Buffer.byteLength(raw, "utf8") + 1);
    this.keys[this.keyEnd] = 0x22;
    this.stagedEnd = this.keyEnd + 1 + this.keys.write(raw, this.keyEnd + 1, "utf8");
  }

  /** UTF-8 bytes of buffered row `row`'s key (0: none stored). */
  keyLength(row: number): number {
    return this.keyOffsets[row + 1]! - this.keyOffsets[row]!;
  }

  /** Whether the staged key equals the key of buffered row `row`. */
  stagedKeyEquals(row: number): boolean {
    const s = this.keyOffsets[row]!;
    const e = this.keyOffsets[row + 1]!;
    return e - s === this.stagedEnd - this.keyEnd && this.keys.compare(this.keys, s, e, this.keyEnd, this.stagedEnd) === 0;
  }

  /** Forgets the staged key (its row is not added). */
  dropStaged(): void {
    this.stagedEnd = -1;
  }

  /** Appends a row whose key is the staged one (or none, when nothing is staged); returns how many bytes `usedBytes` grew by. */
  addStaged(hash: number, src: number, shard: number, pos: number, payload: Uint8Array | string): number {
    const before = this.usedBytes;
    const i = this.rows;
    if (i === this.hash.length) this.growRows();
    if (this.stagedEnd >= 0) {
      this.keyEnd = this.stagedEnd;
      this.stagedEnd = -1;
    }
    this.keyOffsets[i + 1] = this.keyEnd;
    if (typeof payload === "string") {
      this.reservePayloads(Buffer.byteLength(payload, "utf8"));
      this.payloadEnd += this.payloads.write(payload, this.payloadEnd, "utf8");
    } else {
      this.reservePayloads(payload.length);
      this.payloads.set(payload, this.payloadEnd);
      this.payloadEnd += payload.length;
    }
    this.payloadOffsets[i + 1] = this.payloadEnd;
    this.hash[i] = hash;
    this.src[i] = src;
    this.shard[i] = shard;
    this.pos[i] = pos;
    this.rows = i + 1;
    return this.usedBytes - before;
  }

  /** Appends row `i` of a block read back (its bytes copied); returns how many bytes `usedBytes` grew by. */
  addFrom(b: Block, i: number): number {
    const before = this.usedBytes;
    const r = this.rows;
    if (r === this.hash.length) this.growRows();
    const ks = b.keyOffsets[i]!;
    const ke = b.keyOffsets[i + 1]!;
    this.reserveKeys(ke - ks);
    this.keys.set(b.keys.subarray(ks, ke), this.keyEnd);
    this.keyEnd += ke - ks;
    this.keyOffsets[r + 1] = this.keyEnd;
    const ps = b.payloadOffsets[i]!;
    const pe = b.payloadOffsets[i + 1]!;
    this.reservePayloads(pe - ps);
    this.payloads.set(new Uint8Array(b.payloads.buffer, b.payloads.byteOffset + ps, pe - ps), this.payloadEnd);
    this.payloadEnd += pe - ps;
    this.payloadOffsets[r + 1] = this.payloadEnd;
    this.hash[r] = b.hash[i]!;
    this.src[r] = b.src[i]!;
    this.shard[r] = b.shard[i]!;
    this.pos[r] = b.pos[i]!;
    this.rows = r + 1;
    return this.usedBytes - before;
  }

  /** The payload bytes of row `i` (a view into the column: valid until the builder changes). */
  payloadAt(i: number): Uint8Array {
    return this.payloads.subarray(this.payloadOffsets[i]!, this.payloadOffsets[i + 1]!);
  }

  /** The rows' columns: views of the builder's memory (no copy; valid until the builder changes — hand them over only when done with it). */
  toColumns(): BlockColumns {
    const n = this.rows;
    return {
      rows: n,
      hash: this.hash.subarray(0, n),
      src: this.src.subarray(0, n),
      shard: this.shard.subarray(0, n),
      pos: this.pos.subarray(0, n),
      keys: this.keys.subarray(0, this.keyEnd),
      keyOffsets: this.keyOffsets.subarray(0, n + 1),
      payloads: this.payloads.subarray(0, this.payloadEnd),
      payloadOffsets: this.payloadOffsets.subarray(0, n + 1),
    };
  }

  /** The rows as one Arrow IPC stream (a copy: the builder may be reset or reused after). */
  toIpc(): Promise<Uint8Array> {
    return columnsToIpc(this.toColumns());
  }

  /** Empties the builder, keeping its columns' memory for the next block. */
  reset(): void {
    this.rows = 0;
    this.keyEnd = 0;
    this.stagedEnd = -1;
    this.payloadEnd = 0;
  }

  private growRows(): void {
    const n = this.hash.length * 2;
    const ints = (a: Int32Array, size: number) => {
      const b = this.ints(size);
      b.set(a);
      return b;
    };
    const doubles = (a: Float64Array, size: number) => {
      const b = this.doubles(size);
      b.set(a);
      return b;
    };
    this.keyOffsets = ints(this.keyOffsets, n + 1);
    this.payloadOffsets = ints(this.payloadOffsets, n + 1);
    this.hash = doubles(this.hash, n);
    this.src = ints(this.src, n);
    this.shard = ints(this.shard, n);
    this.pos = doubles(this.pos, n);
  }

  private reserveKeys(n: number): void {
    if (this.keyEnd + n > this.keys.length) this.keys = this.grown(this.keys, this.keyEnd, this.keyEnd + n);
  }

  private reservePayloads(n: number): void {
    if (this.payloadEnd + n > this.payloads.length) this.payloads = this.grown(this.payloads, this.payloadEnd, this.payloadEnd + n);
  }

  private grown(buf: Buffer, used: number, need: number): Buffer {
    const next = this.alloc(Math.max(need, buf.length * 2));
    buf.copy(next, 0, 0, used);
    return next;
  }
}

/** Block columns as one Arrow IPC stream (schema + one record batch). */
export async function columnsToIpc(c: BlockColumns): Promise<Uint8Array> {
  const { Binary, Float64, Int32, Table, Utf8, makeData, makeVector, tableToIPC } = await loadArrow();
  const n = c.rows;
  const table = new Table({
    key: makeVector(makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: c.keyOffsets, data: c.keys })),
    hash: makeVector(makeData({ type: new Float64(), length: n, nullCount: 0, data: c.hash })),
    src: makeVector(makeData({ type: new Int32(), length: n, nullCount: 0, data: c.src })),
    shard: makeVector(makeData({ type: new Int32(), length: n, nullCount: 0, data: c.shard })),
    pos: makeVector(makeData({ type: new Float64(), length: n, nullCount: 0, data: c.pos })),
    payload: makeVector(makeData({ type: new Binary(), length: n, nullCount: 0, valueOffsets: c.payloadOffsets, data: c.payloads })),
  });
  return tableToIPC(table, "stream");
}
