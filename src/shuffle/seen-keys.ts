/** Bytes {@link SeenKeys} takes per key it holds (two 8-byte slots per key at most half full, doubled while growing). */
export const SEEN_BYTES_PER_KEY = 32;

/**
 * The keys a map task has buffered for a dedupe, by key hash: an open-addressing table of
 * (52-bit hash → where the first row with that hash sits in the buffers), in two typed
 * arrays — no boxed numbers, nothing for the garbage collector. Distinct keys sharing a hash
 * (practically never) each get a slot; {@link findOrAdd} asks the caller to compare the real
 * keys of every slot with the hash.
 *
 * @example
 * const seen = new SeenKeys();
 * if (seen.findOrAdd(hash, at, (prev) => sameKey(prev))) skip(); // a buffered row has this key
 */
export class SeenKeys {
  private hashes = new Float64Array(1024);
  /** Per slot: the caller's value + 1 (0 = empty). */
  private values = new Float64Array(1024);
  private mask = 1023;
  size = 0;

  /**
   * Whether a key is held already: `same(value)` is asked for each held slot with `hash`
   * (the value given when it was added) and says whether that slot's key is the new one.
   * When none is, the key is added with `value` and false is returned.
   */
  findOrAdd(hash: number, value: number, same: (value: number) => boolean): boolean {
    let i = (hash % 0x40000000) & this.mask;
    for (;;) {
      const v = this.values[i]!;
      if (v === 0) break;
      if (this.hashes[i] === hash && same(v - 1)) return true;
      i = (i + 1) & this.mask;
    }
    this.hashes[i] = hash;
    this.values[i] = value + 1;
    if (++this.size * 2 > this.mask) this.grow();
    return false;
  }

  /** Forgets every key (and gives back the memory of a table grown large). */
  clear(): void {
    if (this.hashes.length > 1024) {
      this.hashes = new Float64Array(1024);
      this.values = new Float64Array(1024);
      this.mask = 1023;
    } else this.values.fill(0);
    this.size = 0;
  }

  private grow(): void {
    const oh = this.hashes;
    const ov = this.values;
    const cap = oh.length * 2;
    this.hashes = new Float64Array(cap);
    this.values = new Float64Array(cap);
    this.mask = cap - 1;
    for (let j = 0; j < oh.length; j++) {
      const v = ov[j]!;
      if (v === 0) continue;
      let i = (oh[j]! % 0x40000000) & this.mask;
      while (this.values[i] !== 0) i = (i + 1) & this.mask;
      this.hashes[i] = oh[j]!;
      this.values[i] = v;
    }
  }
}
