import fs from "node:fs";
import path from "node:path";
import { encode } from "gpt-tokenizer/encoding/cl100k_base";
import { describe, expect, it } from "vitest";
import { Dataset, PlanError, readLedger, run, TaskError, type RunOptions } from "../../../src/index.js";
import { inspectTokenCache } from "../../../src/tpu-feed/inspect.js";
import { makeDocs, readBinaryTree, writeTokenizerJson, WORDS } from "../../support/feed-corpus.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const INLINE: RunOptions = { executor: "inline", progress: "none" };

function readU32(p: string): number[] {
  const b = fs.readFileSync(p);
  return [...new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4)];
}
function readU64(p: string): number[] {
  const b = fs.readFileSync(p);
  return [...new BigUint64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))].map(Number);
}

describe("tokenize + writeTokenCache", () => {
  const tmp = useTempDir();

  it("writes tokens (uint32 LE), offsets (uint64 LE, n+1) and manifests, and a finished ledger", async () => {
    const docs = makeDocs(50);
    const cache = path.join(tmp.path, "cache");
    const r = await run(Dataset.fromList(docs, { shards: 3 }).tokenize({ encoding: "cl100k_base" }).writeTokenCache(cache, { shardRows: 7 }), INLINE);
    expect(r.outputs).toEqual([0, 1, 2].map((s) => `${cache}/shards/0000${s}.json`));

    const expected = docs.map((d) => [...encode(d.text), 100257]);
    const ledger = (await readLedger(cache))!;
    expect(ledger).toMatchObject({
      format: "sirocco-token-cache",
      version: 1,
      inputShards: 3,
      publishedShards: 3,
      finished: true,
      rows: 50,
      tokens: expected.reduce((a, t) => a + t.length, 0),
      fingerprint: { tokenizer: "cl100k_base", eosId: 100257, appendEos: true, dtype: "uint32" },
    });
    // shards of 16, 17, 17 docs (contiguous list slices), parts of at most 7 rows
    expect(ledger.parts.map((p) => [p.name, p.shard, p.rows])).toEqual([
      ["00000-0000", 0, 7], ["00000-0001", 0, 7], ["00000-0002", 0, 2],
      ["00001-0000", 1, 7], ["00001-0001", 1, 7], ["00001-0002", 1, 3],
      ["00002-0000", 2, 7], ["00002-0001", 2, 7], ["00002-0002", 2, 3],
    ]);
    let doc = 0;
    const stream: number[] = [];
    for (const p of ledger.parts) {
      const toks = readU32(`${cache}/shards/${p.name}.tokens`);
      const offs = readU64(`${cache}/shards/${p.name}.offsets`);
      expect(toks.length).toBe(p.tokens);
      expect(offs.length).toBe(p.rows + 1);
      expect(offs[0]).toBe(0);
      expect(offs[p.rows]).toBe(p.tokens);
      for (let i = 0; i < p.rows; i++) expect(toks.slice(offs[i], offs[i + 1])).toEqual(expected[doc++]);
      stream.push(...toks);
    }
    expect(stream).toEqual(expected.flat());
    const manifest = JSON.parse(fs.readFileSync(`${cache}/shards/00001.json`, "utf8"));
    expect(manifest).toMatchObject({ format: "sirocco-token-cache", shard: 1, parts: [{ name: "00001-0000", rows: 7 }, { rows: 7 }, { rows: 3 }] });

    const text = await inspectTokenCache(cache);
    expect(text).toContain("finished:     yes");
    expect(text).toContain("3 of 3 input shards published (9 parts)");
    expect(text).toContain(`tokens:       ${ledger.tokens}`);
    expect(text).toContain("tokenizer=cl100k_base eosId=100257");
  });

  it("encodes special-token text inside documents as plain text, and appendEos: false appends nothing", async () => {
    const rows = await Dataset.fromList(["hello <|endoftext|> world"]).tokenize({ encoding: "cl100k_base", appendEos: false }).collect(INLINE);
    expect([...rows[0]!]).toEqual(encode("hello <|endoftext|> world", { disallowedSpecial: new Set() }));
    expect([...rows[0]!]).not.toContain(100257);
    const o200 = await Dataset.fromList([{ body: "hi" }]).tokenize({ encoding: "o200k_base", textField: "body" }).collect(INLINE);
    expect(o200[0]![o200[0]!.length - 1]).toBe(199999);
  });

  it("reads a Hugging Face tokenizer.json made by the test, with its </s> as EOS", async () => {
    const tj = path.join(tmp.path, "tok/tokenizer.json");
    const { vocab } = writeTokenizerJson(tj);
    const cache = path.join(tmp.path, "cache");
    const docs = makeDocs(20, 3);
    await run(Dataset.fromList(docs, { shards: 2 }).tokenize({ encoding: { tokenizerJson: tj } }).writeTokenCache(cache), INLINE);
    const ledger = (await readLedger(cache))!;
    expect(ledger.fingerprint.tokenizer).toMatch(/^tokenizer\.json:sha256:[0-9a-f]{16}$/);
    expect(ledger.fingerprint.eosId).toBe(1);
    const stream = ledger.parts.flatMap((p) => readU32(`${cache}/shards/${p.name}.tokens`));
    expect(stream).toEqual(docs.flatMap((d) => [...d.text.split(" ").map((w) => vocab[w]!), 1]));
    expect(WORDS.length + 2).toBe(Object.keys(vocab).length);
  });

  it("gives the same cache after a kill and a resume, skipping committed shards", async () => {
    const docs = makeDocs(40, 5);
    const a = path.join(tmp.path, "a");
    await run(Dataset.fromList(docs, { shards: 4 }).tokenize({ encoding: "cl100k_base" }).writeTokenCache(a), INLINE);
    const before = readBinaryTree(a);
    // A job killed after shards 0 and 2 committed: shards 1 and 3 are missing (3 left a
    // part, not its manifest) and the ledger publishes only the prefix, shard 0.
    for (const f of ["00001.json", "00003.json", "00001-0000.tokens", "00003-0000.offsets"]) fs.rmSync(`${a}/shards/${f}`);
    const full = JSON.parse(fs.readFileSync(`${a}/ledger.json`, "utf8"));
    const parts = full.parts.filter((p: { shard: number }) => p.shard === 0);
    const tokens = parts.reduce((x: number, p: { tokens: number }) => x + p.tokens, 0);
    fs.writeFileSync(`${a}/ledger.json`, JSON.stringify({ ...full, parts, publishedShards: 1, finished: false, rows: parts[0].rows, tokens }));
    const r = await run(Dataset.fromList(docs, { shards: 4 }).tokenize({ encoding: "cl100k_base" }).writeTokenCache(a), INLINE);
    expect(r.stats.stages[0]!.skippedShards).toBe(2);
    expect(r.stats.tasks).toBe(2);
    expect(readBinaryTree(a)).toEqual(before);

    // A published shard whose manifest disappeared is refused (the ledger must not go back).
    fs.rmSync(`${a}/shards/00000.json`);
    const e = await run(Dataset.fromList(docs, { shards: 4 }).tokenize({ encoding: "cl100k_base" }).writeTokenCache(a), { ...INLINE, retries: 0 }).catch((x: unknown) => x);
    expect(String(e)).toMatch(/publishes 4 shards but only 0 matching shard manifests were found/);
  });

  it("refuses to add to a cache made with another tokenizer, naming both", async () => {
    const cache = path.join(tmp.path, "cache");
    await run(Dataset.fromList(["a b"]).tokenize({ encoding: "cl100k_base" }).writeTokenCache(cache), INLINE);
    const e = await run(Dataset.fromList(["a b"]).tokenize({ encoding: "o200k_base" }).writeTokenCache(cache), INLINE).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PlanError);
    expect((e as Error).message).toMatch(/written with tokenizer=cl100k_base.*this job tokenizes with tokenizer=o200k_base/);
  });

  it("checks its inputs and options", async () => {
    expect(() => Dataset.fromList([1]).tokenize({ encoding: "gpt5" as never })).toThrow(/encoding must be "cl100k_base", "o200k_base" or \{ tokenizerJson: path \}/);
    expect(() => Dataset.fromList([new Uint32Array(1)]).writeTokenCache("x")).toThrow(/needs a \.tokenize/);
    expect(() => Dataset.fromList(["a"]).tokenize({ encoding: "cl100k_base" }).writeTokenCache("x", { shardRows: 0 })).toThrow(/shardRows must be a positive integer/);
    const e = await Dataset.fromList([{ id: 1, body: "x" }]).tokenize({ encoding: "cl100k_base" }).collect({ ...INLINE, retries: 0 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TaskError);
    expect(String((e as Error).cause)).toMatch(/"text" field is a string; got text: missing/);
    expect(Dataset.fromList(["a"]).tokenize({ encoding: "cl100k_base" }).writeTokenCache("c/").explain()).toMatch(
      /tokenize\(cl100k_base, textField="text", appendEos\)[\s\S]*writeTokenCache\("c", shardRows=65536\)[\s\S]*stage 0: fromList → tokenize → writeTokenCache/,
    );
  });
});
