import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Dataset, openTokenFeed, PlanError, run, type TokenFeedOptions } from "../../../src/index.js";
import { makeDocs } from "../../support/feed-corpus.js";
import { useTempDir } from "../../support/use-temp-dir.js";

async function all(uri: string, o: TokenFeedOptions, max = Infinity): Promise<Array<{ step: number; tokens: number[] }>> {
  const out: Array<{ step: number; tokens: number[] }> = [];
  for await (const b of openTokenFeed(uri, o)) {
    out.push({ step: b.step, tokens: [...b.tokens] });
    if (out.length >= max) break;
  }
  return out;
}

function streamOf(cache: string): number[] {
  const l = JSON.parse(fs.readFileSync(`${cache}/ledger.json`, "utf8"));
  return l.parts.flatMap((p: { name: string }) => {
    const b = fs.readFileSync(`${cache}/shards/${p.name}.tokens`);
    return [...new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4)];
  });
}

describe("openTokenFeed", () => {
  const tmp = useTempDir();
  let cache: string;
  let stream: number[];
  const root = fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "sirocco-feed-unit-"));

  beforeAll(async () => {
    cache = path.join(root, "cache");
    await run(Dataset.fromList(makeDocs(300, 9), { shards: 5 }).tokenize({ encoding: "cl100k_base" }).writeTokenCache(cache, { shardRows: 25 }), {
      executor: "inline",
      progress: "none",
    });
    stream = streamOf(cache);
  });
  afterEach(() => {
    delete process.env.TPU_WORKER_ID;
    delete process.env.TPU_WORKER_HOSTNAMES;
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("shuffle none: consecutive seqLen windows of the concatenated stream, tail dropped, then ends", async () => {
    const seqLen = 16;
    const gb = 4;
    const got = await all(cache, { seqLen, globalBatch: gb, shuffle: "none" });
    const windows = Math.floor(stream.length / seqLen);
    expect(got).toHaveLength(Math.floor(windows / gb));
    got.forEach((b, s) => {
      expect(b.step).toBe(s);
      expect(b.tokens).toEqual(stream.slice(s * gb * seqLen, (s + 1) * gb * seqLen));
    });
  });

  it("the hosts' slices concatenate to the global batch; 4 and 2 hosts see the same global batches", async () => {
    const base = { seqLen: 32, globalBatch: 8, seed: 7, shuffle: "window", shuffleWindow: 16 } as const;
    const global = await all(cache, base);
    expect(global.length).toBeGreaterThan(10);
    for (const H of [2, 4]) {
      const hosts = await Promise.all(Array.from({ length: H }, (_, h) => all(cache, { ...base, hostIndex: h, hostCount: H })));
      global.forEach((g, s) => expect(hosts.flatMap((hs) => hs[s]!.tokens)).toEqual(g.tokens));
    }
    // Every window of the epoch is used exactly once.
    const seen = new Set<string>();
    for (const g of global) for (let r = 0; r < 8; r++) seen.add(g.tokens.slice(r * 32, (r + 1) * 32).join(","));
    expect(seen.size).toBe(global.length * 8);
  });

  it("is a pure function of (cache, seed, step): same seed same batches, other seed other order, resume at any step", async () => {
    const o = { seqLen: 32, globalBatch: 4, seed: 3, shuffleWindow: 32 } as const;
    const a = await all(cache, o);
    expect(await all(cache, o)).toEqual(a);
    expect((await all(cache, { ...o, seed: 4 })).map((b) => b.tokens)).not.toEqual(a.map((b) => b.tokens));
    expect(await all(cache, { ...o, startStep: 17 })).toEqual(a.slice(17));
    // every shuffled row is a window of the stream from the same block of 32 windows
    const windowAt = new Map<string, number>();
    for (let w = 0; (w + 1) * 32 <= stream.length; w++) windowAt.set(stream.slice(w * 32, (w + 1) * 32).join(","), w);
    a.forEach((b, s) => {
      for (let r = 0; r < 4; r++) {
        const w = windowAt.get(b.tokens.slice(r * 32, (r + 1) * 32).join(","));
        expect(w).toBeDefined();
        expect(Math.floor(w! / 32)).toBe(Math.floor((s * 4 + r) / 32));
      }
    });
  });

  it("epochs: the next epoch reshuffles; the feed ends after the last", async () => {
    const o = { seqLen: 64, globalBatch: 8, seed: 1, shuffleWindow: 16 } as const;
    const one = await all(cache, o);
    const two = await all(cache, { ...o, epochs: 2 });
    expect(two).toHaveLength(2 * one.length);
    expect(two.slice(0, one.length)).toEqual(one);
    expect(two[one.length]!.tokens).not.toEqual(one[0]!.tokens);
    expect(two[one.length]!.step).toBe(one.length);
    const forever = await all(cache, { ...o, epochs: Infinity }, 3 * one.length + 1);
    expect(forever).toHaveLength(3 * one.length + 1);
  });

  it("takes host index and count from TPU_WORKER_ID / TPU_WORKER_HOSTNAMES", async () => {
    process.env.TPU_WORKER_ID = "1";
    process.env.TPU_WORKER_HOSTNAMES = "t-0,t-1,t-2,t-3";
    const feed = openTokenFeed(cache, { seqLen: 16, globalBatch: 8 });
    expect(feed.localBatch).toBe(2);
    const viaEnv = await all(cache, { seqLen: 16, globalBatch: 8 }, 2);
    delete process.env.TPU_WORKER_ID;
    delete process.env.TPU_WORKER_HOSTNAMES;
    expect(viaEnv).toEqual(await all(cache, { seqLen: 16, globalBatch: 8, hostIndex: 1, hostCount: 4 }, 2));
  });

  it("fails clearly on bad options and on a fingerprint that is not the one asked for", async () => {
    expect(() => openTokenFeed(cache, { seqLen: 16, globalBatch: 10, hostCount: 4, hostIndex: 0 })).toThrow(/globalBatch 10 is not divisible by hostCount 4/);
    expect(() => openTokenFeed(cache, { seqLen: 16, globalBatch: 8, hostCount: 4, hostIndex: 4 })).toThrow(/hostIndex 4 is not below hostCount 4/);
    expect(() => openTokenFeed(cache, { seqLen: 0, globalBatch: 8 })).toThrow(/options.seqLen must be an integer >= 1/);
    expect(() => openTokenFeed(cache, { seqLen: 8, globalBatch: 8, shuffle: "global" as never })).toThrow(/shuffle must be "none" or "window"/);
    const e = await all(cache, { seqLen: 16, globalBatch: 8, fingerprint: { tokenizer: "o200k_base" } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PlanError);
    expect((e as Error).message).toMatch(/tokenizer: cache has "cl100k_base", expected "o200k_base"/);
    expect(await all(cache, { seqLen: 16, globalBatch: 8, fingerprint: { tokenizer: "cl100k_base", eosId: 100257 } }, 1)).toHaveLength(1);
    await expect(all(cache, { seqLen: 1 << 20, globalBatch: 8 })).rejects.toThrow(/fewer than one global batch/);
  });

  it("waits while the data is unpublished, then gives the same batches as the finished cache", async () => {
    const o = { seqLen: 32, globalBatch: 4, seed: 11, shuffleWindow: 8, pollMs: 20, maxPollMs: 50 } as const;
    const reference = await all(cache, o);
    // A copy of the cache whose ledger publishes only the first 2 input shards at first.
    const growing = path.join(tmp.path, "growing");
    fs.cpSync(cache, growing, { recursive: true });
    const full = JSON.parse(fs.readFileSync(`${cache}/ledger.json`, "utf8"));
    const publish = (k: number) => {
      const parts = full.parts.filter((p: { shard: number }) => p.shard < k);
      const ledger = { ...full, parts, publishedShards: k, finished: k === full.inputShards, rows: parts.reduce((a: number, p: { rows: number }) => a + p.rows, 0), tokens: parts.reduce((a: number, p: { tokens: number }) => a + p.tokens, 0) };
      fs.writeFileSync(`${growing}/ledger.json.tmp`, JSON.stringify(ledger));
      fs.renameSync(`${growing}/ledger.json.tmp`, `${growing}/ledger.json`);
    };
    fs.rmSync(`${growing}/ledger.json`); // not even started
    const reading = all(growing, o);
    let settled = false;
    void reading.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    for (let k = 1; k <= full.inputShards; k++) {
      publish(k);
      await new Promise((r) => setTimeout(r, 80));
    }
    expect(await reading).toEqual(reference);

    // A consumer that stops while prefetched steps still wait for data leaves no poller behind.
    const timers = () => (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const baseline = timers();
    publish(1); // only shard 0: the steps after its data wait
    const ready = Math.floor(Math.floor(JSON.parse(fs.readFileSync(`${growing}/ledger.json`, "utf8")).tokens / 32) / 8) * 2;
    const it = openTokenFeed(growing, { ...o, prefetch: 4 })[Symbol.asyncIterator]();
    for (let i = 0; i < ready; i++) expect((await it.next()).done).toBe(false);
    // Wait for a condition rather than a fixed time: on a loaded machine pollers arm late.
    const eventually = async (cond: () => boolean) => {
      for (let waited = 0; !cond() && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      return cond();
    };
    const polling = () => timers() > baseline + 1; // more than eventually()'s own timer
    expect(await eventually(polling)).toBe(true); // the prefetches are polling
    await it.return!(undefined);
    expect(await eventually(() => timers() <= baseline + 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(timers()).toBe(baseline);

    const timeout = await all(path.join(tmp.path, "nothing"), { ...o, waitTimeoutMs: 100 }).catch((x: unknown) => x);
    expect(String(timeout)).toMatch(/step 0 of .* was not published within 100 ms \(ledger: none yet\)/);
  });
});
