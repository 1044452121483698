import { describe, expect, it } from "vitest";
import { PlanError } from "../../../src/core/errors.js";
import { formatPattern, inputBasename, patternTokens } from "../../../src/io/output-pattern.js";

describe("formatPattern", () => {
  it("fills {shard} and {total}", () => {
    expect(formatPattern("out/part-{shard}-of-{total}.jsonl", { shard: 3, total: 8 })).toBe("out/part-3-of-8.jsonl");
  });

  it("zero-pads {shard:05d} and {total:05d}", () => {
    expect(formatPattern("part-{shard:05d}-of-{total:05d}.jsonl.gz", { shard: 3, total: 8 })).toBe("part-00003-of-00008.jsonl.gz");
    expect(formatPattern("p{shard:03d}", { shard: 12345, total: 20000 })).toBe("p12345");
  });

  it("fills {basename} and the same placeholder more than once", () => {
    expect(formatPattern("out/{basename}/{basename}-{shard}.jsonl", { shard: 0, total: 1, basename: "part-7" })).toBe("out/part-7/part-7-0.jsonl");
  });

  it("leaves a pattern without placeholders alone", () => {
    expect(formatPattern("out/all.jsonl", { shard: 0, total: 1 })).toBe("out/all.jsonl");
  });

  it("rejects {basename} without a file input, saying what it needs", () => {
    expect(() => formatPattern("out/{basename}.jsonl", { shard: 0, total: 1 })).toThrow(PlanError);
    expect(() => formatPattern("out/{basename}.jsonl", { shard: 0, total: 1 })).toThrow(/uses \{basename\}, which needs a file input \(Dataset\.fromFiles\)/);
  });
});

describe("patternTokens", () => {
  it("lists the placeholders used", () => {
    expect([...patternTokens("a/{basename}-{shard:05d}-of-{total}.jsonl")].sort()).toEqual(["basename", "shard", "total"]);
    expect(patternTokens("plain.jsonl").size).toBe(0);
  });

  it("rejects unknown placeholders with a message naming them and the valid ones", () => {
    for (const bad of ["out/{part}.jsonl", "out/{shard:5x}.jsonl", "out/{Shard}.jsonl", "out/{}.jsonl"]) {
      let err: unknown;
      try {
        patternTokens(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(PlanError);
      const placeholder = /\{[^}]*\}/.exec(bad)![0];
      expect((err as Error).message).toContain(`unknown placeholder ${placeholder}`);
      expect((err as Error).message).toContain("use {shard}, {total} or {basename}");
      expect((err as Error).message).toContain(JSON.stringify(bad));
    }
  });
});

describe("inputBasename", () => {
  it("drops the directory, the compression and the format extensions", () => {
    expect(inputBasename("a/b/part-7.jsonl.gz")).toBe("part-7");
    expect(inputBasename("x.txt")).toBe("x");
    expect(inputBasename("y.jsonl.zst")).toBe("y");
    expect(inputBasename("dir/no-ext")).toBe("no-ext");
    expect(inputBasename("no-ext")).toBe("no-ext");
    expect(inputBasename("/abs/z.parquet")).toBe("z");
    expect(inputBasename("w.ndjson.zstd")).toBe("w");
  });

  it("keeps extensions it does not know", () => {
    expect(inputBasename("a/data.tar.gz")).toBe("data.tar");
    expect(inputBasename("notes.md")).toBe("notes.md");
    expect(inputBasename("v1.2.jsonl")).toBe("v1.2");
  });
});
