/**
 * Stable key encoding. A grouping key (string, number, boolean, null, or arrays / plain
 * objects of them) becomes its *canonical form*: JSON with object keys sorted by UTF-16
 * code units, `-0` written as `0` — except that a key which is a plain string is written as
 * `"` followed by the raw string, unescaped (no other canonical form starts with `"`, and
 * skipping JSON escaping matters for long text keys such as a dedupe on `text`). Two keys
 * are equal exactly when their canonical forms are equal, so `1` and `"1"` differ and
 * `{a, b}` equals `{b, a}`. The canonical form is reversible ({@link decodeKey}), so
 * reducers and `countBy` get the key back.
 *
 * The *key hash* is the top 52 bits of XXH64 (xxhash-wasm: about 3× node:crypto's SHA-1 on
 * document-sized keys, 10× on short ones): of the raw UTF-8 string with seed 0 for a string
 * key, of the canonical form with seed 1 otherwise (so the string "1" and the number 1 do not
 * collide). It is a fixed function of the key, identical on every thread, machine and Node
 * version. The
 * partition is its top 32 bits mod numShards; reducers order keys by (hash, canonical form),
 * so long keys are compared as text only when their hashes tie.
 */

import xxhash from "xxhash-wasm";

const { h64 } = await xxhash();

/** Canonical form of a key; throws a TypeError naming what is not allowed. */
export function canonicalKey(v: unknown): string {
  return typeof v === "string" ? `"${v}` : canonicalValue(v);
}

/** Canonical JSON of a key, or of a value nested in one. */
function canonicalValue(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`a key may not be ${v} (keys must be strings, finite numbers, booleans, null, or arrays/objects of them)`);
      return v === 0 ? "0" : JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "object":
      if (v === null) return "null";
      if (Array.isArray(v)) {
        let s = "[";
        for (let i = 0; i < v.length; i++) s += (i ? "," : "") + canonicalValue(v[i]);
        return `${s}]`;
      }
      if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
        const keys = Object.keys(v).sort();
        let s = "{";
        let first = true;
        for (const k of keys) {
          const x = (v as Record<string, unknown>)[k];
          if (x === undefined) continue; // as in JSON: an undefined field is an absent field
          s += `${first ? "" : ","}${JSON.stringify(k)}:${canonicalValue(x)}`;
          first = false;
        }
        return `${s}}`;
      }
      throw new TypeError(`a key may not be a ${(v as object).constructor?.name ?? "class instance"} (keys must be strings, numbers, booleans, null, or arrays/plain objects of them); convert it, e.g. to a string`);
    default:
      throw new TypeError(`a key may not be ${v === undefined ? "undefined (did the key function return nothing?)" : `a ${typeof v}`}; keys must be strings, numbers, booleans, null, or arrays/plain objects of them`);
  }
}

/** The key value back from its canonical form. */
export function decodeKey(canonical: string): unknown {
  return canonical.charCodeAt(0) === 34 /* " */ ? canonical.slice(1) : JSON.parse(canonical);
}

const TWO20 = 1048576;

/** The top 52 bits of XXH64 of `text` (UTF-8), an integer < 2^52, exact in a double. */
function xxh52(text: string, seed: bigint): number {
  return Number(h64(text, seed) >> 12n);
}

/**
 * The 52-bit key hash (an integer < 2^52, exact in a double) of a key value whose canonical
 * form is `canonical`; for a string key pass the raw string as `raw` (no copy of a long text).
 */
export function keyHash(canonical: string, raw?: string): number {
  if (raw !== undefined) return xxh52(raw, 0n);
  return canonical.charCodeAt(0) === 34 /* " */ ? xxh52(canonical.slice(1), 0n) : xxh52(canonical, 1n);
}

/** 32-bit partition hash of a canonical key (unsigned): the top 32 bits of {@link keyHash}. */
export function hashKey(canonical: string): number {
  return Math.floor(keyHash(canonical) / TWO20);
}

/** The partition (0 ≤ p < numShards) of a key hash. */
export function partitionOfHash(hash: number, numShards: number): number {
  return numShards === 1 ? 0 : Math.floor(hash / TWO20) % numShards;
}

/** The partition (0 ≤ p < numShards) of a canonical key. */
export function partitionOf(canonical: string, numShards: number): number {
  return numShards === 1 ? 0 : hashKey(canonical) % numShards;
}

/** A short, printable preview of a canonical key for error messages. */
export function keyPreview(canonical: string, max = 80): string {
  const shown = canonical.charCodeAt(0) === 34 ? JSON.stringify(canonical.slice(1, max + 1)) : canonical;
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}
