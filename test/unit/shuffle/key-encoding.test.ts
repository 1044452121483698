import { describe, expect, it } from "vitest";
import { canonicalKey, decodeKey, hashKey, keyHash, partitionOf } from "../../../src/shuffle/key-encoding.js";

describe("canonicalKey", () => {
  it("tells values of different types apart: 1 vs \"1\", true vs \"true\", null vs \"null\", [1] vs 1", () => {
    const keys = [1, "1", true, "true", null, "null", [1], ["1"], { a: 1 }, { a: "1" }, 0, "", [], {}];
    const forms = keys.map(canonicalKey);
    expect(new Set(forms).size).toBe(keys.length);
  });

  it("treats objects with the same fields in any order as one key, also nested", () => {
    expect(canonicalKey({ a: 1, b: [2, { y: 1, x: 2 }] })).toBe(canonicalKey({ b: [2, { x: 2, y: 1 }], a: 1 }));
    expect(canonicalKey({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it("keeps array order significant and writes -0 as 0", () => {
    expect(canonicalKey([1, 2])).not.toBe(canonicalKey([2, 1]));
    expect(canonicalKey(-0)).toBe(canonicalKey(0));
  });

  it("writes a plain string key raw after one quote (no escaping), nested strings as JSON", () => {
    expect(canonicalKey('a\n"b')).toBe('"a\n"b');
    expect(canonicalKey(['a\n"b'])).toBe('["a\\n\\"b"]');
    expect(canonicalKey("")).toBe('"');
  });

  it("does not confuse strings that contain separators or quotes", () => {
    expect(canonicalKey(["a,b"])).not.toBe(canonicalKey(["a", "b"]));
    expect(canonicalKey('a"b')).not.toBe(canonicalKey("a\\\"b"));
    expect(canonicalKey({ "a:1": 2 })).not.toBe(canonicalKey({ a: "1:2" }));
  });

  it("round-trips through decodeKey", () => {
    for (const k of ["x", 3.5, -7, true, null, ["a", 1, [null]], { z: { y: [1, "2"] }, a: false }, "ü€😀"]) {
      expect(decodeKey(canonicalKey(k))).toEqual(k);
    }
  });

  it("rejects what is not a key with a message saying what keys may be", () => {
    expect(() => canonicalKey(undefined)).toThrow(/undefined \(did the key function return nothing\?\)/);
    expect(() => canonicalKey(NaN)).toThrow(/may not be NaN/);
    expect(() => canonicalKey(new Date(0))).toThrow(/may not be a Date.*strings, numbers/);
    expect(() => canonicalKey([1, () => 1])).toThrow(/may not be a function/);
    expect(() => canonicalKey(10n)).toThrow(/may not be a bigint/);
  });
});

describe("hashKey / partitionOf", () => {
  it("is a fixed function of the canonical form (same value on every machine)", () => {
    // Pinned values: a change here changes which partition every key lands in. A string key
    // hashes as its raw text with seed 0: XXH64("hello") is 26c7827d889f6da3 in the reference
    // implementation, whose top 32 bits 0x26c7827d = 650609277. Other keys hash their
    // canonical form with seed 1.
    expect([hashKey(canonicalKey("hello")), hashKey(canonicalKey(1)), hashKey(""), hashKey(canonicalKey({ a: 1 }))]).toEqual([650609277, 422230623, 3585063443, 3316592189]);
    expect(keyHash(canonicalKey("hello"))).toBe(keyHash("", "hello"));
    expect(Math.floor(keyHash(canonicalKey("hello")) / 2 ** 20)).toBe(0x26c7827d);
    expect(keyHash(canonicalKey("hello"))).toBe(Number(0x26c7827d889f6da3n >> 12n));
    expect(hashKey("1")).not.toBe(hashKey('"1"'));
    expect(Number.isInteger(hashKey("x")) && hashKey("x") >= 0 && hashKey("x") < 2 ** 32).toBe(true);
  });

  it("spreads keys evenly over partitions and stays in range", () => {
    const n = 7;
    const counts = new Array<number>(n).fill(0);
    for (let i = 0; i < 70_000; i++) counts[partitionOf(canonicalKey(`doc-${i}`), n)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(600);
    expect(partitionOf(canonicalKey("anything"), 1)).toBe(0);
  });

  it("has no collisions among 200k distinct short keys", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200_000; i++) seen.add(hashKey(canonicalKey([i, `k${i}`])));
    // 32-bit hashes: about n²/2³³ ≈ 5 collisions expected by chance.
    expect(seen.size).toBeGreaterThan(200_000 - 30);
  });
});
