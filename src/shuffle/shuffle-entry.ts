/**
 * What the shuffle moves: one row (or one map-side combined row) with its canonical key,
 * where it came from and its payload bytes. The shuffle never looks inside `payload`.
 *
 * `src` is the input side (0, or 1 for the right side of a join), `shard` the map task's
 * input shard and `pos` the row's position in that shard: `(src, shard, pos)` is the row's
 * input order, which makes every reduce deterministic.
 */
export interface ShuffleEntry {
  key: string;
  /** `keyHash` of the key (52 bits): entries are ordered by it first, so long keys are compared only on ties. */
  hash: number;
  src: number;
  shard: number;
  pos: number;
  /**
   * The row: `v8.serialize` bytes (they start with 0xFF), or its JSON text — a string when
   * written, UTF-8 bytes when read back (never starting with 0xFF, which UTF-8 never uses).
   */
  payload: Uint8Array | string;
}

/** Fixed per-entry overhead counted against memory budgets (object header, fields, array slot). */
export const ENTRY_OVERHEAD_BYTES = 96;

/**
 * An entry read back from a spill block: its key stays UTF-8 bytes in the block until first
 * asked for. Reducers compare keys only when key hashes tie, so most long keys (a dedupe on
 * text) are never decoded into strings.
 */
export class DecodedEntry implements ShuffleEntry {
  private k: string | undefined;
  constructor(
    /** The block bytes holding the key's UTF-8 at `keyStart` (copied as is into sorted runs). */
    readonly keyBuf: Buffer,
    readonly keyStart: number,
    /** UTF-8 bytes of the key (≥ its UTF-16 length, so counting it never under-counts). */
    readonly keyUtf8Length: number,
    public hash: number,
    public src: number,
    public shard: number,
    public pos: number,
    public payload: Uint8Array,
  ) {}

  get key(): string {
    return (this.k ??= this.keyBuf.toString("utf8", this.keyStart, this.keyStart + this.keyUtf8Length));
  }
}

/** Bytes an entry is counted for in memory budgets (UTF-16 key + payload (a text payload as UTF-16) + overhead). */
export function entryBytes(e: ShuffleEntry): number {
  const p = e.payload;
  return (e instanceof DecodedEntry ? e.keyUtf8Length : e.key.length) * 2 + (typeof p === "string" ? p.length * 2 : p.length) + ENTRY_OVERHEAD_BYTES;
}

/** Key order: by key hash, then canonical key (only when hashes tie). */
export function compareKeys(a: ShuffleEntry, b: ShuffleEntry): number {
  if (a.hash !== b.hash) return a.hash - b.hash;
  return a.key === b.key ? 0 : a.key < b.key ? -1 : 1;
}

/** Key order, then input order: the order sorted runs and merges use. */
export function compareEntries(a: ShuffleEntry, b: ShuffleEntry): number {
  if (a.hash !== b.hash) return a.hash - b.hash;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.src - b.src || a.shard - b.shard || a.pos - b.pos;
}

/** Whether a payload read back from a block is JSON text (UTF-8) rather than `v8.serialize` bytes. */
export function isTextPayload(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] !== 0xff;
}
