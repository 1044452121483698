/**
 * What the shuffle moves: one row (or one map-side combined row) with its canonical key,
 * where it came from and its payload bytes. The shuffle never looks inside `payload`.
 *
 * `src` is the input side (0, or 1 for the right side of a join), `shard` the map task's
 * input shard and `pos` the row's position in that shard: `(src, shard, pos)` is the row's
 * input order, which makes every reduce deterministic.
 */
export interface ShuffleEntry {
  /** Canonical key (see key-encoding.ts); "" for entries without one (reshard). */
  key: string;
  /** `keyHash` of the key (52 bits): entries are ordered by it first, so keys are compared only on ties. */
  hash: number;
  src: number;
  shard: number;
  pos: number;
  /**
   * The row: `v8.serialize` bytes (they start with 0xFF), or its JSON text — a string or UTF-8
   * bytes (never starting with 0xFF, which UTF-8 never uses).
   */
  payload: Uint8Array | string;
}

/**
 * The order reducers see entries in: by key hash, then key (its UTF-8 bytes; compared only
 * when hashes tie), then input order (src, shard, pos). The in-memory sort and the external
 * merge both give exactly this order.
 */
export function compareEntries(a: ShuffleEntry, b: ShuffleEntry): number {
  if (a.hash !== b.hash) return a.hash - b.hash;
  if (a.key !== b.key) return Buffer.compare(Buffer.from(a.key, "utf8"), Buffer.from(b.key, "utf8"));
  return a.src - b.src || a.shard - b.shard || a.pos - b.pos;
}

/** Whether a payload is JSON text (UTF-8) rather than `v8.serialize` bytes. */
export function isTextPayload(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] !== 0xff;
}
