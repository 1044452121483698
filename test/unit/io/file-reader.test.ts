import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { compress as zstdCompress } from "@mongodb-js/zstd";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/core/errors.js";
import { readDecompressed } from "../../../src/io/file-reader.js";
import { LocalStore } from "../../../src/io/local-store.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const store = new LocalStore();

async function readAll(p: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of readDecompressed(store, p)) parts.push(c);
  return Buffer.concat(parts);
}

async function failure(p: string): Promise<unknown> {
  try {
    await readAll(p);
  } catch (e) {
    return e;
  }
  return undefined;
}

const TEXT = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `{"i":${i},"s":"ünïcödé ${i}"}\n`).join(""));

describe("readDecompressed", () => {
  const tmp = useTempDir();

  it("reads plain, gzip and zstd files by extension to the same bytes", async () => {
    const plain = path.join(tmp.path, "a.jsonl");
    const gz = path.join(tmp.path, "a.jsonl.gz");
    const zst = path.join(tmp.path, "a.jsonl.zst");
    fs.writeFileSync(plain, TEXT);
    fs.writeFileSync(gz, zlib.gzipSync(TEXT));
    fs.writeFileSync(zst, await zstdCompress(TEXT, 3));
    for (const p of [plain, gz, zst]) expect((await readAll(p)).equals(TEXT), p).toBe(true);
  });

  it("stops early without error when the consumer stops", async () => {
    const p = path.join(tmp.path, "big.jsonl.gz");
    fs.writeFileSync(p, zlib.gzipSync(Buffer.concat(Array.from({ length: 20 }, () => TEXT))));
    let got = 0;
    for await (const c of readDecompressed(store, p)) {
      got += c.length;
      break;
    }
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(TEXT.length * 20);
  });

  it("turns a missing file into an InputError naming it", async () => {
    const p = path.join(tmp.path, "gone.jsonl");
    const err = await failure(p);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe(p);
    expect((err as Error).message).toBe(`input file ${p} disappeared before it could be read`);
  });

  it("turns corrupt gzip into an InputError naming the file and the codec", async () => {
    const p = path.join(tmp.path, "bad.jsonl.gz");
    fs.writeFileSync(p, Buffer.from("this is not gzip data at all\n"));
    const err = await failure(p);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe(p);
    expect((err as Error).message).toContain(`could not decompress ${p} as gzip`);
  });

  it("turns truncated gzip into an InputError", async () => {
    const p = path.join(tmp.path, "trunc.jsonl.gz");
    const gz = zlib.gzipSync(TEXT);
    fs.writeFileSync(p, gz.subarray(0, gz.length - 50));
    const err = await failure(p);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(`could not decompress ${p} as gzip`);
  });

  it("turns corrupt zstd into an InputError naming the file and the codec", async () => {
    const p = path.join(tmp.path, "bad.jsonl.zst");
    fs.writeFileSync(p, Buffer.from("this is not zstd data at all, just some text\n"));
    const err = await failure(p);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe(p);
    expect((err as Error).message).toContain(`could not decompress ${p} as zstd`);
  });

  it("turns truncated zstd into an InputError naming the file", async () => {
    const p = path.join(tmp.path, "trunc.jsonl.zst");
    const z = await zstdCompress(TEXT, 3);
    fs.writeFileSync(p, z.subarray(0, z.length - 50));
    const err = await failure(p);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe(p);
    expect((err as Error).message).toContain(`could not decompress ${p} as zstd`);
    expect((err as Error).message).toContain("unexpected EOF");
  });
});
