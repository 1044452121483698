/**
 * writeJsonl writes a row's JSON text (`Chunk.texts`: a string from loadJsonl, UTF-8 bytes
 * from the shuffle) byte for byte, and `JSON.stringify(row)` for rows without one, in row
 * order whatever the mix.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import type { Chunk } from "../../../src/exec/operators/chunk.js";
import { writeJsonlSink } from "../../../src/exec/sinks/write-jsonl.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const tmp = useTempDir("sirocco-write-jsonl-texts-");

async function* chunksOf(cs: Chunk[]): AsyncGenerator<Chunk> {
  yield* cs;
}

const bytes = (s: string) => {
  // A view into a larger buffer, as the shuffle hands them out.
  const big = Buffer.from(`#####${s}#####`);
  return big.subarray(5, 5 + Buffer.byteLength(s));
};

describe("writeJsonl with JSON texts", () => {
  const chunks = (): Chunk[] => [
    {
      rows: [{ a: 1 }, { b: "é" }, { c: 3 }, { d: 4 }, { e: [1] }],
      texts: ['{ "a": 1.0 }', bytes('{"b":"\\u00e9"}  '), undefined, bytes('{"d" : 4}'), "{\"e\":[1e0]}"],
    },
    { rows: [{ f: "中文 🎉" }, { g: null }], texts: [undefined, bytes('{"g":null}\t')] },
    { rows: [null, { h: 1 }], texts: [bytes('{"i":"textsOnly row"}'), undefined], textsOnly: true },
    { rows: [{ j: 1 }] },
  ];
  const want = ['{ "a": 1.0 }', '{"b":"\\u00e9"}  ', '{"c":3}', '{"d" : 4}', '{"e":[1e0]}', '{"f":"中文 🎉"}', '{"g":null}\t', '{"i":"textsOnly row"}', '{"h":1}', '{"j":1}'].map((l) => `${l}\n`).join("");

  it("mixes texts (strings and bytes) and stringified rows in row order, plain and gzip", async () => {
    const plain = path.join(tmp.path, "out.jsonl");
    await writeJsonlSink(chunksOf(chunks()), plain, "t");
    expect(fs.readFileSync(plain, "utf8")).toBe(want);
    const gz = path.join(tmp.path, "out.jsonl.gz");
    await writeJsonlSink(chunksOf(chunks()), gz, "t");
    expect(zlib.gunzipSync(fs.readFileSync(gz)).toString("utf8")).toBe(want);
  });
});
