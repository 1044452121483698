/**
 * The tokenize job through the real CLI on every executor (one loop): the cache is byte for
 * byte the one an in-process run makes, whatever the executor, the worker count or a kill
 * and resume; the ledger only ever grows while the job runs.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset, run } from "../../src/index.js";
import { EXECUTORS } from "../support/executors.js";
import { readBinaryTree, writeDocFiles, writeTokenizerJson } from "../support/feed-corpus.js";
import { killGroup, startTokenize, tokenizeViaCli } from "../support/feed-gang.js";
import { tempDir } from "../support/files.js";

let root: string;
let inDir: string;
let tokenizerJson: string;
const reference = new Map<string, Record<string, string>>();
const SHARD_ROWS = 30;

beforeAll(async () => {
  root = tempDir("sirocco-feed-int-");
  inDir = path.join(root, "in");
  writeDocFiles(inDir, 6, 80, 21);
  tokenizerJson = path.join(root, "tok/tokenizer.json");
  writeTokenizerJson(tokenizerJson);
  // The reference: the same job run in this process, inline.
  for (const enc of ["cl100k_base", tokenizerJson]) {
    const cache = path.join(root, `ref-${reference.size}`);
    const encoding = enc === "cl100k_base" ? "cl100k_base" : { tokenizerJson: enc };
    await run(Dataset.fromFiles(inDir, "*.jsonl*").loadJsonl<{ text: string }>().tokenize({ encoding }).writeTokenCache(cache, { shardRows: SHARD_ROWS }), {
      executor: "inline",
      progress: "none",
    });
    reference.set(enc, readBinaryTree(cache));
  }
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("tokenize → writeTokenCache through the CLI", () => {
  for (const executor of EXECUTORS) {
    it(`${executor}: same bytes as the in-process reference (cl100k_base and a tokenizer.json)`, async () => {
      for (const enc of ["cl100k_base", tokenizerJson]) {
        const cache = path.join(root, `${executor}-${path.basename(enc)}`);
        const r = await tokenizeViaCli({ inDir, cache, encoding: enc, shardRows: SHARD_ROWS, executor });
        const result = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("RESULT "))!.slice(7));
        expect(result.stats.stages[0].rowsOut).toBe(480);
        expect(readBinaryTree(cache)).toEqual(reference.get(enc));
      }
    });
  }

  it("threads with 1 worker: same bytes", async () => {
    const cache = path.join(root, "threads-1");
    await tokenizeViaCli({ inDir, cache, encoding: "cl100k_base", shardRows: SHARD_ROWS, executor: "threads", workers: 1 });
    expect(readBinaryTree(cache)).toEqual(reference.get("cl100k_base"));
  });

  it("killed mid-job and resumed: committed shards skipped, same bytes; the ledger never went backwards", async () => {
    const cache = path.join(root, "killed");
    const child = startTokenize({ inDir, cache, encoding: "cl100k_base", shardRows: SHARD_ROWS, env: { FEED_DELAY_MS: "4" } });
    const seen: number[] = [];
    let killedAt = -1;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        const l = JSON.parse(fs.readFileSync(path.join(cache, "ledger.json"), "utf8"));
        seen.push(l.publishedShards);
        for (const p of l.parts) expect(fs.existsSync(path.join(cache, "shards", `${p.name}.tokens`))).toBe(true);
        if (l.publishedShards >= 2 && !l.finished) {
          killGroup(child);
          killedAt = l.publishedShards;
          break;
        }
        if (l.finished) break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(killedAt, "the job finished before it could be killed; slow it down").toBeGreaterThanOrEqual(2);
    await new Promise((r) => child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once("exit", r));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    const r = await tokenizeViaCli({ inDir, cache, encoding: "cl100k_base", shardRows: SHARD_ROWS, executor: "threads" });
    const result = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("RESULT "))!.slice(7));
    expect(result.stats.stages[0].skippedShards).toBeGreaterThanOrEqual(killedAt);
    const tree = readBinaryTree(cache);
    for (const k of Object.keys(tree)) if (k.includes(".sirocco-tmp-")) delete tree[k]; // a SIGKILL may leave temporaries
    expect(tree).toEqual(reference.get("cl100k_base"));
  });
});
