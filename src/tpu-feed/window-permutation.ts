/**
 * The permutation behind `shuffle: "window"`, chosen to be trivial to reimplement exactly in
 * any language with 32-bit unsigned arithmetic (numpy: uint32 arrays, which wrap).
 *
 *   fmix32(h) = h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16
 *               (all mod 2^32: MurmurHash3's finalizer)
 *   mix(h, x) = fmix32(h XOR x)
 *   key(seed, epoch, block) = mix(mix(mix(0x9e3779b9, seed), epoch), block)
 *   perm(n, key): p = [0, 1, …, n-1]; for i = n-1 down to 1: j = mix(key, i) mod (i+1); swap p[i], p[j]
 *
 * (Fisher–Yates with a counter-based hash instead of a stateful generator; the modulo bias is
 * below 2^-20 for blocks of up to 4,096 windows and does not matter for shuffling.)
 */

import { fmix32 } from "../core/hash.js";

export { fmix32 };

export function mix(h: number, x: number): number {
  return fmix32((h ^ x) >>> 0);
}

export function permutationKey(seed: number, epoch: number, block: number): number {
  return mix(mix(mix(0x9e3779b9, seed >>> 0), epoch >>> 0), block >>> 0);
}

/** The permutation of 0…n-1 for `key` (see the module comment). */
export function windowPermutation(n: number, key: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i >= 1; i--) {
    const j = mix(key, i) % (i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
