import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { compress as zstdCompress, decompress as zstdDecompress } from "@mongodb-js/zstd";
import { describe, expect, it } from "vitest";
import { codecOf, compressor, decompressor } from "../../../src/io/compression.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Compressible but not trivial text: JSONL-like lines with random words. */
function sampleText(bytes: number): Buffer {
  const words = ["alpha", "beta", "gamma", "delta", "épsilon", "ζeta", "日本", "🎉", "lorem", "ipsum"];
  const parts: string[] = [];
  let size = 0;
  let i = 0;
  const rnd = randomBytes(bytes / 4);
  while (size < bytes) {
    const n = 3 + (rnd[i % rnd.length]! % 12);
    const line = `{"id":${i},"text":"${Array.from({ length: n }, (_, k) => words[rnd[(i + k) % rnd.length]! % words.length]).join(" ")}","r":${rnd[i % rnd.length]}}\n`;
    parts.push(line);
    size += Buffer.byteLength(line);
    i++;
  }
  return Buffer.from(parts.join(""));
}

/** Feeds `data` through `t` in pieces of `pieceBytes` and returns everything it outputs. */
async function through(t: Transform, data: Buffer, pieceBytes: number): Promise<Buffer> {
  const out: Buffer[] = [];
  async function* src(): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += pieceBytes) yield data.subarray(i, Math.min(i + pieceBytes, data.length));
  }
  await pipeline(Readable.from(src()), t, async function (source: AsyncIterable<Buffer>) {
    for await (const c of source) out.push(Buffer.from(c));
  });
  return Buffer.concat(out);
}

function countOccurrences(hay: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++;
  return n;
}

describe("codecOf", () => {
  it("derives the codec from the extension", () => {
    expect(codecOf("a/b/part-1.jsonl.gz")).toBe("gzip");
    expect(codecOf("x.gz")).toBe("gzip");
    expect(codecOf("a/y.jsonl.zst")).toBe("zstd");
    expect(codecOf("y.zstd")).toBe("zstd");
    expect(codecOf("plain.jsonl")).toBe("none");
    expect(codecOf("no-ext")).toBe("none");
    expect(codecOf("gz/inside-dir.txt")).toBe("none");
  });

  it("gives no stream for 'none'", () => {
    expect(compressor("none")).toBeUndefined();
    expect(decompressor("none")).toBeUndefined();
  });
});

describe("gzip streams", () => {
  it("round-trips a few MB through compressor() and decompressor()", async () => {
    const data = sampleText(3 * 1024 * 1024);
    const gz = await through(compressor("gzip")!, data, 64 * 1024);
    expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gz.length).toBeLessThan(data.length);
    // an independent reader agrees
    expect(zlib.gunzipSync(gz).equals(data)).toBe(true);
    const back = await through(decompressor("gzip")!, gz, 10_007);
    expect(back.equals(data)).toBe(true);
  });

  it("decompresses concatenated gzip members", async () => {
    const a = Buffer.from("first member\n");
    const b = Buffer.from("second member\n");
    const back = await through(decompressor("gzip")!, Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b)]), 5);
    expect(back.toString()).toBe("first member\nsecond member\n");
  });
});

describe("zstd streams", () => {
  it("round-trips a few MB (one frame) and an independent decoder agrees", async () => {
    const data = sampleText(3 * 1024 * 1024);
    const z = await through(compressor("zstd")!, data, 64 * 1024);
    expect(z.subarray(0, 4)).toEqual(ZSTD_MAGIC);
    expect(z.length).toBeLessThan(data.length);
    expect((await zstdDecompress(z)).equals(data)).toBe(true);
    const back = await through(decompressor("zstd")!, z, 64 * 1024);
    expect(back.equals(data)).toBe(true);
  });

  it("writes more than the 4 MB frame size as several frames, and decodes them all", async () => {
    const data = sampleText(11 * 1024 * 1024);
    const z = await through(compressor("zstd")!, data, 256 * 1024);
    // 11 MB in 4 MB frames: at least 3 frames, each starting with the magic number
    expect(countOccurrences(z, ZSTD_MAGIC)).toBeGreaterThanOrEqual(3);
    expect((await zstdDecompress(z)).equals(data)).toBe(true);
    const back = await through(decompressor("zstd")!, z, 100_003);
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
  });

  it("decodes a file made by @mongodb-js/zstd, fed in small and odd-sized pieces", async () => {
    const data = sampleText(512 * 1024);
    const z = await zstdCompress(data, 9);
    for (const piece of [7, 4096, z.length]) {
      const back = await through(decompressor("zstd")!, z, piece);
      expect(back.equals(data), `pieces of ${piece} bytes`).toBe(true);
    }
  });

  it("decodes a small file fed one byte at a time", async () => {
    const data = sampleText(16 * 1024);
    const z = await zstdCompress(data, 3);
    const back = await through(decompressor("zstd")!, z, 1);
    expect(back.equals(data)).toBe(true);
  });

  it("fails on a truncated frame instead of returning short data silently", async () => {
    const data = sampleText(64 * 1024);
    const z = await zstdCompress(data, 3);
    await expect(through(decompressor("zstd")!, z.subarray(0, z.length - 100), 4096)).rejects.toThrow(/unexpected EOF/);
  });

  it("decodes concatenated frames made by @mongodb-js/zstd", async () => {
    const a = sampleText(300 * 1024);
    const b = sampleText(200 * 1024);
    const z = Buffer.concat([await zstdCompress(a, 1), await zstdCompress(b, 19)]);
    const back = await through(decompressor("zstd")!, z, 33_333);
    expect(back.equals(Buffer.concat([a, b]))).toBe(true);
  });

  it("round-trips an empty input to an empty output", async () => {
    const z = await through(compressor("zstd")!, Buffer.alloc(0), 1);
    expect(z.length).toBe(0);
    const back = await through(decompressor("zstd")!, z, 1);
    expect(back.length).toBe(0);
  });

  it("fails on bytes that are not zstd", async () => {
    await expect(through(decompressor("zstd")!, Buffer.from("definitely not a zstd frame, just text\n"), 1024)).rejects.toThrow(/zstd/);
  });
});

describe("zstd CLI interoperability", () => {
  const dir = useTempDir();
  let cli: string | undefined;
  try {
    cli = execFileSync("which", ["zstd"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    cli = undefined;
  }

  it.skipIf(!cli)("decodes what the zstd CLI writes, and the CLI decodes what compressor() writes", async () => {
    const data = sampleText(6 * 1024 * 1024);
    const raw = path.join(dir.path, "data.jsonl");
    fs.writeFileSync(raw, data);
    execFileSync(cli!, ["-q", "-3", "-f", raw, "-o", `${raw}.zst`]);
    const back = await through(decompressor("zstd")!, fs.readFileSync(`${raw}.zst`), 1024 * 1024);
    expect(back.equals(data)).toBe(true);

    const ours = await through(compressor("zstd")!, data, 1024 * 1024);
    fs.writeFileSync(path.join(dir.path, "ours.zst"), ours);
    const decodedByCli = execFileSync(cli!, ["-q", "-d", "-c", path.join(dir.path, "ours.zst")], { maxBuffer: 64 * 1024 * 1024 });
    expect(decodedByCli.equals(data)).toBe(true);
  });
});
