import { createHash } from "node:crypto";
import { serialize } from "node:v8";

/** Hex SHA-256 of a string or bytes. Used for plan fingerprints, not on hot paths. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * A content hash of any structured-cloneable value (arrays of rows, Maps, Dates…), identical
 * for equal values built the same way on every thread and machine running the same Node major.
 */
export function contentHash(value: unknown): string {
  return sha256(serialize(value)).slice(0, 16);
}

/**
 * murmur3's 32-bit finalizer: mixes every input bit into every output bit (unsigned result).
 * Used by the feed's window permutation.
 *
 * @example fmix32(1) // 1364076727
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
