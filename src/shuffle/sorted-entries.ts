import type { Block } from "./block.js";

/**
 * Entries in reducer order (key hash, key bytes, input order), as references (block, row)
 * into blocks read back: reducers walk the columns without making an object per entry. A
 * partition sorted in memory is one batch; the external merge yields many, each referring to
 * the blocks its entries are in.
 */
export class SortedBatch {
  constructor(
    readonly blocks: readonly Block[],
    /** Per entry: index into `blocks`. */
    readonly block: Int32Array,
    /** Per entry: row in its block. */
    readonly row: Int32Array,
    readonly length: number,
  ) {}

  blockOf(i: number): Block {
    return this.blocks[this.block[i]!]!;
  }

  hash(i: number): number {
    return this.blocks[this.block[i]!]!.hash[this.row[i]!]!;
  }

  src(i: number): number {
    return this.blocks[this.block[i]!]!.src[this.row[i]!]!;
  }

  /** Whether entries i and j (of this batch, or j of `other`) have the same key. */
  sameKey(i: number, j: number, other: SortedBatch = this): boolean {
    return this.blockOf(i).sameKey(this.row[i]!, other.blockOf(j), other.row[j]!);
  }

  /** UTF-8 bytes of entry i's stored key (0: none stored, e.g. a long dedupe key). */
  keyLength(i: number): number {
    const b = this.blockOf(i);
    const r = this.row[i]!;
    return b.keyEnd(r) - b.keyStart(r);
  }

  /** Entry i's stored key bytes (a view). */
  keyBytes(i: number): Buffer {
    const b = this.blockOf(i);
    const r = this.row[i]!;
    return b.keys.subarray(b.keyStart(r), b.keyEnd(r));
  }

  /** Input order of entry i here and entry j of `other`: by (src, shard, pos). */
  compareOrder(i: number, other: SortedBatch, j: number): number {
    const a = this.blockOf(i);
    const b = other.blockOf(j);
    const r = this.row[i]!;
    const t = other.row[j]!;
    return a.src[r]! - b.src[t]! || a.shard[r]! - b.shard[t]! || a.pos[r]! - b.pos[t]!;
  }

  key(i: number): string {
    return this.blockOf(i).key(this.row[i]!);
  }

  payload(i: number): Uint8Array {
    return this.blockOf(i).payload(this.row[i]!);
  }

  isText(i: number): boolean {
    return this.blockOf(i).isText(this.row[i]!);
  }

  /** Bytes entry i is counted for while held (key and payload bytes plus a fixed overhead). */
  entryBytes(i: number): number {
    const b = this.blockOf(i);
    const r = this.row[i]!;
    return b.keyEnd(r) - b.keyStart(r) + b.payloadLength(r) + ENTRY_HELD_BYTES;
  }
}

/** Fixed per-entry bytes counted for an entry a reducer holds as a value (a group's row). */
export const ENTRY_HELD_BYTES = 96;

/**
 * All entries of `blocks` (listed in input order: side, map shard, spill) in reducer order:
 * a stable LSD radix sort on the 52-bit key hash (input order kept among equal hashes), then,
 * in the rare runs of one hash holding different keys (a hash collision), a stable sort of
 * that run by key bytes. O(entries); no object per entry.
 */
export function sortBlocks(blocks: readonly Block[]): SortedBatch {
  let n = 0;
  for (const b of blocks) n += b.rows;
  const block = new Int32Array(n);
  const row = new Int32Array(n);
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  let k = 0;
  for (let bi = 0; bi < blocks.length; bi++) {
    const h = blocks[bi]!.hash;
    for (let r = 0; r < h.length; r++, k++) {
      block[k] = bi;
      row[k] = r;
      const x = h[r]!;
      const l = x % TWO26;
      lo[k] = l;
      hi[k] = (x - l) / TWO26;
    }
  }
  const order = radixOrder(lo, hi, n);
  const sb = new Int32Array(n);
  const sr = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    sb[i] = block[order[i]!]!;
    sr[i] = row[order[i]!]!;
  }
  const out = new SortedBatch(blocks, sb, sr, n);
  sortCollisions(out);
  return out;
}

const TWO26 = 2 ** 26;
const DIGIT_BITS = 13;
const DIGITS = 1 << DIGIT_BITS;
const MASK = DIGITS - 1;

/** Stable permutation ordering 52-bit numbers given as 26-bit halves (4 passes of 13 bits). */
export function radixOrder(lo: Int32Array, hi: Int32Array, n: number): Int32Array {
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return order;
  let next = new Int32Array(n);
  const count = new Int32Array(DIGITS);
  for (let pass = 0; pass < 4; pass++) {
    const src = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : DIGIT_BITS;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(src[i]! >>> shift) & MASK]!++;
    if (count[(src[0]! >>> shift) & MASK] === n) continue; // every entry has this digit: order unchanged
    let sum = 0;
    for (let d = 0; d < DIGITS; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const e = order[i]!;
      next[count[(src[e]! >>> shift) & MASK]!++] = e;
    }
    const t = order;
    order = next;
    next = t;
  }
  return order;
}

/** Re-sorts, by key bytes (stably), each run of equal hashes that holds more than one key. */
function sortCollisions(s: SortedBatch): void {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const h = s.hash(i);
    let j = i + 1;
    let mixed = false;
    while (j < n && s.hash(j) === h) {
      if (!mixed && !s.sameKey(i, j)) mixed = true;
      j++;
    }
    if (mixed) {
      const idx = Array.from({ length: j - i }, (_, t) => i + t);
      idx.sort((a, b) => s.blockOf(a).compareKey(s.row[a]!, s.blockOf(b), s.row[b]!) || a - b);
      const bs = idx.map((t) => s.block[t]!);
      const rs = idx.map((t) => s.row[t]!);
      for (let t = 0; t < idx.length; t++) {
        s.block[i + t] = bs[t]!;
        s.row[i + t] = rs[t]!;
      }
    }
    i = j;
  }
}
