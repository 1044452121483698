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
