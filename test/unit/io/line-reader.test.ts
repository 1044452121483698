import { describe, expect, it } from "vitest";
import { readLines, type LineBatch } from "../../../src/io/line-reader.js";

async function* chunksOf(...parts: Array<string | Buffer>): AsyncGenerator<Buffer> {
  for (const p of parts) yield typeof p === "string" ? Buffer.from(p, "utf8") : p;
}

/** Splits bytes into pieces of `size` bytes (the last may be shorter). */
async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(i + size, buf.length));
}

async function batches(src: AsyncIterable<Buffer>): Promise<LineBatch[]> {
  const out: LineBatch[] = [];
  for await (const b of readLines(src)) out.push({ lines: [...b.lines], firstLine: b.firstLine });
  return out;
}

async function allLines(src: AsyncIterable<Buffer>): Promise<string[]> {
  return (await batches(src)).flatMap((b) => b.lines);
}

/** Every batch's firstLine must equal 1 + the number of lines yielded before it. */
function expectContiguousNumbering(bs: LineBatch[]): void {
  let expected = 1;
  for (const b of bs) {
    expect(b.firstLine).toBe(expected);
    expected += b.lines.length;
  }
}

describe("readLines", () => {
  it("splits a single chunk into lines, numbering from 1", async () => {
    const bs = await batches(chunksOf("a\nbb\nccc\n"));
    expect(bs).toEqual([{ lines: ["a", "bb", "ccc"], firstLine: 1 }]);
  });

  it("joins a line split across chunk boundaries", async () => {
    const lines = await allLines(chunksOf("alpha\nbe", "t", "a\ngam", "ma\n"));
    expect(lines).toEqual(["alpha", "beta", "gamma"]);
  });

  it("keeps a line that spans many chunks without a newline in any of them", async () => {
    const long = "x".repeat(10_000);
    const lines = await allLines(pieces(Buffer.from(`first\n${long}\nlast\n`), 97));
    expect(lines).toEqual(["first", long, "last"]);
  });

  it("decodes multi-byte UTF-8 characters split across chunks (fed one byte at a time)", async () => {
    const text = "héllo wörld\n日本語のテキスト\n🎉 emoji 👩‍👩‍👧\nÅngström\n";
    const bytes = Buffer.from(text, "utf8");
    expect(bytes.length).toBeGreaterThan(text.length); // really multi-byte
    const bs = await batches(pieces(bytes, 1));
    expect(bs.flatMap((b) => b.lines)).toEqual(["héllo wörld", "日本語のテキスト", "🎉 emoji 👩‍👩‍👧", "Ångström"]);
    expect(bs.flatMap((b) => b.lines).join("")).not.toContain("\uFFFD");
    expectContiguousNumbering(bs);
  });

  it("decodes a 4-byte character split in every possible position", async () => {
    const bytes = Buffer.from("a🎉b\n🎉\n", "utf8");
    for (let cut = 1; cut < bytes.length; cut++) {
      const lines = await allLines(chunksOf(bytes.subarray(0, cut), bytes.subarray(cut)));
      expect(lines, `cut at byte ${cut}`).toEqual(["a🎉b", "🎉"]);
    }
  });

  it("strips \\r of \\r\\n line ends, also when \\r and \\n are in different chunks", async () => {
    expect(await allLines(chunksOf("one\r\ntwo\r\nthree\r\n"))).toEqual(["one", "two", "three"]);
    expect(await allLines(chunksOf("one\r", "\ntwo\r", "\n"))).toEqual(["one", "two"]);
  });

  it("keeps a \\r that is not at the end of a line", async () => {
    expect(await allLines(chunksOf("a\rb\r\n"))).toEqual(["a\rb"]);
  });

  it("yields a final line without a trailing newline", async () => {
    const bs = await batches(chunksOf("a\nb\nlast"));
    expect(bs.flatMap((b) => b.lines)).toEqual(["a", "b", "last"]);
    expect(bs[bs.length - 1]).toEqual({ lines: ["last"], firstLine: 3 });
  });

  it("yields a final \\r\\n-less line with \\r stripped", async () => {
    expect(await allLines(chunksOf("a\r\nlast\r"))).toEqual(["a", "last"]);
  });

  it("yields nothing for empty input and for only empty chunks", async () => {
    expect(await batches(chunksOf())).toEqual([]);
    expect(await batches(chunksOf(Buffer.alloc(0), Buffer.alloc(0)))).toEqual([]);
  });

  it("counts empty lines (they keep later line numbers right)", async () => {
    const bs = await batches(chunksOf("\n\nx\n\n"));
    expect(bs.flatMap((b) => b.lines)).toEqual(["", "", "x", ""]);
    expectContiguousNumbering(bs);
  });

  it("numbers lines correctly across many batches", async () => {
    const n = 5000;
    const text = Array.from({ length: n }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
    const bs = await batches(pieces(Buffer.from(text), 333));
    expect(bs.length).toBeGreaterThan(10);
    expectContiguousNumbering(bs);
    for (const b of bs) b.lines.forEach((l, i) => expect(l).toBe(`line ${b.firstLine + i}`));
    expect(bs.reduce((a, b) => a + b.lines.length, 0)).toBe(n);
  });

  it("numbers the final unterminated line after the others", async () => {
    const bs = await batches(chunksOf("1\n2\n", "3\n4"));
    expect(bs).toEqual([
      { lines: ["1", "2"], firstLine: 1 },
      { lines: ["3"], firstLine: 3 },
      { lines: ["4"], firstLine: 4 },
    ]);
  });
});

describe("readLines with { bytes: true }", () => {
  async function withBytes(src: AsyncIterable<Buffer>): Promise<Array<{ line: string; bytes: string }>> {
    const out: Array<{ line: string; bytes: string }> = [];
    for await (const b of readLines(src, { bytes: true })) {
      expect(b.bytes!.length).toBe(b.lines.length);
      b.lines.forEach((line, i) => out.push({ line, bytes: Buffer.from(b.bytes![i]!).toString("utf8") }));
    }
    return out;
  }

  it("gives each line's own bytes, also for lines split across chunks, \\r\\n ends and a final unterminated line", async () => {
    const text = "héllo\r\nwörld\n\n🎉 x\r\n日本\nlast\r";
    const want = ["héllo", "wörld", "", "🎉 x", "日本", "last"];
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const got = await withBytes(pieces(Buffer.from(text, "utf8"), size));
      expect(got.map((g) => g.line), `pieces of ${size}`).toEqual(want);
      expect(got.map((g) => g.bytes), `pieces of ${size}`).toEqual(want);
    }
  });

  it("keeps bytes that are not valid UTF-8 as they are (the line decodes with U+FFFD)", async () => {
    const bad = Buffer.from([0x61, 0xff, 0x62, 0x0a, 0x63, 0x0a]);
    const bs: Uint8Array[] = [];
    for await (const b of readLines(chunksOf(bad), { bytes: true })) bs.push(...b.bytes!);
    expect(bs.map((b) => [...b])).toEqual([[0x61, 0xff, 0x62], [0x63]]);
  });
});
