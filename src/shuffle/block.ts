import { loadArrow } from "../io/columnar/load-arrow.js";

/** Bytes a reducer counts per entry on top of its block bytes (sort arrays: block, row, hash). */
export const SORT_BYTES_PER_ENTRY = 24;

/**
 * A block's columns as typed arrays — the Arrow layout of its record batch (offsets and values
 * buffers, fixed-width arrays), without IPC framing. On one machine a map task hands these
 * (over `SharedArrayBuffer`s) to reducers as they are.
 */
export interface BlockColumns {
  rows: number;
  hash: Float64Array;
  src: Int32Array;
  shard: Int32Array;
  pos: Float64Array;
  keys: Uint8Array;
  keyOffsets: Int32Array;
  payloads: Uint8Array;
  payloadOffsets: Int32Array;
}

/** The distinct buffers the columns are views of (one shared buffer holds all columns of a flush). */
export function columnBuffers(c: BlockColumns, into: Set<ArrayBufferLike> = new Set()): Set<ArrayBufferLike> {
  for (const a of [c.hash, c.src, c.shard, c.pos, c.keys, c.keyOffsets, c.payloads, c.payloadOffsets]) into.add(a.buffer);
  return into;
}

/**
 * One spill block read back, as the typed-array views of its Arrow columns (zero-copy over
 * the bytes read; see {@link BlockBuilder} for the columns). Reducers work on these columns
 * directly — sorting row numbers, comparing key bytes, copying payload bytes — so reading a
 * partition makes no object per entry.
 */
export class Block {
  constructor(
    readonly rows: number,
    readonly hash: Float64Array,
    readonly src: Int32Array,
    readonly shard: Int32Array,
    readonly pos: Float64Array,
    /** Canonical keys, UTF-8: row i's key is `keys[keyOffsets[i], keyOffsets[i + 1])`. */
    readonly keys: Buffer,
    readonly keyOffsets: Int32Array,
    /** Payloads: row i's is `payloads[payloadOffsets[i], payloadOffsets[i + 1])`. */
    readonly payloads: Buffer,
    readonly payloadOffsets: Int32Array,
  ) {}

  /** A block over columns handed over in memory (no copy). */
  static fromColumns(c: BlockColumns): Block {
    return new Block(c.rows, c.hash, c.src, c.shard, c.pos, asBuffer(c.keys), c.keyOffsets, asBuffer(c.payloads), c.payloadOffsets);
  }

  keyStart(i: number): number {
    return this.keyOffsets[i]!;
  }

  keyEnd(i: number): number {
    return this.keyOffsets[i + 1]!;
  }

  /** Row i's canonical key as a string. */
  key(i: number): string {
    return this.keys.toString("utf8", this.keyOffsets[i]!, this.keyOffsets[i + 1]!);
  }

  /** A view of row i's payload (valid as long as the block is); a plain Uint8Array, cheaper to make than a Buffer view. */
  payload(i: number): Uint8Array {
    const s = this.payloadOffsets[i]!;
    return new Uint8Array(this.payloads.buffer, this.payloads.byteOffset + s, this.payloadOffsets[i + 1]! - s);
  }

  payloadLength(i: number): number {
    return this.payloadOffsets[i + 1]! - this.payloadOffsets[i]!;
  }

  /** Whether row i's payload is JSON text (UTF-8) rather than `v8.serialize` bytes (which start with 0xFF). */
  isText(i: number): boolean {
    const s = this.payloadOffsets[i]!;
    return this.payloadOffsets[i + 1]! > s && this.payloads[s] !== 0xff;
  }

  /** Whether row i of this block and row j of `other` have the same key (byte for byte). */
  sameKey(i: number, other: Block, j: number): boolean {
    const a0 = this.keyOffsets[i]!;
    const a1 = this.keyOffsets[i + 1]!;
    const b0 = other.keyOffsets[j]!;
    const b1 = other.keyOffsets[j + 1]!;
    return a1 - a0 === b1 - b0 && this.keys.compare(other.keys, b0, b1, a0, a1) === 0;
  }

  /** Key order of row i here and row j of `other`: by their keys' UTF-8 bytes. */
  compareKey(i: number, other: Block, j: number): number {
    return this.keys.compare(other.keys, other.keyOffsets[j]!, other.keyOffsets[j + 1]!, this.keyOffsets[i]!, this.keyOffsets[i + 1]!);
  }
}

/** The blocks of one Arrow IPC stream (one per record batch; spill blocks have one). */
export async function blocksOfIpc(ipc: Uint8Array): Promise<Block[]> {
  const { tableFromIPC } = await loadArrow();
  const table = tableFromIPC(ipc);
  const out: Block[] = [];
  for (const batch of table.batches) {
    const col = (name: string) => batch.getChild(name)!.data[0]!;
    const fixed = <T extends Float64Array | Int32Array>(name: string): T => {
      const d = col(name);
      return (d.values as T).subarray(d.offset, d.offset + batch.numRows) as T;
    };
    const k = col("key");
    const p = col("payload");
    out.push(
      new Block(
        batch.numRows,
        fixed<Float64Array>("hash"),
        fixed<Int32Array>("src"),
        fixed<Int32Array>("shard"),
        fixed<Float64Array>("pos"),
        asBuffer(k.values as Uint8Array),
        (k.valueOffsets as Int32Array).subarray(k.offset),
        asBuffer(p.values as Uint8Array),
        (p.valueOffsets as Int32Array).subarray(p.offset),
      ),
    );
  }
  return out;
}

function asBuffer(a: Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
