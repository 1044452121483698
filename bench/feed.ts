/**
 * Training-feed benchmark (`npm run bench:feed`), measured side by side in one run:
 *
 * 1. tokenize throughput: sirocco threads(2) `tokenize → writeTokenCache` versus a
 *    single-threaded loop with the same tokenizer (gpt-tokenizer cl100k_base), each in its
 *    own process, timing only the work (not process start-up); target ≥ 1.7×;
 * 2. feed read throughput per host from the local cache (host 0 of 4, seqLen 2048), with
 *    and without window shuffling, and from the GCS test server; target ≥ 5 M tokens/s;
 * 3. time to first batch while the cache is being written (the reader starts with the job).
 *
 * Writes bench/results/feed.json. The corpus (scripts/make-corpus.ts, Brown sentences) is
 * generated once under bench/.data/feed-corpus.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeCorpus } from "../scripts/make-corpus.js";
import { openTokenFeed, readLedger } from "../src/index.js";
import { FakeGcsServer } from "../test/support/fake-gcs-server.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MB = Number(process.env.FEED_BENCH_MB ?? 64);
const REPS = Number(process.env.FEED_BENCH_REPS ?? 3);
const corpusDir = path.join(ROOT, `bench/.data/feed-corpus-${MB}mb`);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "sirocco-feed-bench-"));
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const BIN = path.join(ROOT, "bin/sirocco.mjs");

function json(out: string): Record<string, number> {
  const line = out.trim().split("\n").filter((l) => l.startsWith("{")).pop()!;
  return JSON.parse(line) as Record<string, number>;
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0]!;
  if (!fs.existsSync(path.join(corpusDir, "done"))) {
    fs.rmSync(corpusDir, { recursive: true, force: true });
    await makeCorpus({ outDir: corpusDir, megabytes: MB, files: 8, seed: 11 });
    fs.writeFileSync(path.join(corpusDir, "done"), "");
  }
  const env = { ...process.env, SIROCCO_RUN_DEFAULTS: undefined, SIROCCO_ENTRY: undefined };

  // 1. tokenize: the single-threaded loop, then sirocco on 2 threads (median of 3 each, alternating).
  const single: number[] = [];
  const threads: number[] = [];
  const singleCpu: number[] = [];
  const threadsCpu: number[] = [];
  let tokens = 0;
  let cache = "";
  for (let i = 0; i < REPS; i++) {
    const s = json(execFileSync(TSX, ["bench/feed/single-thread-tokenize.ts", corpusDir], { cwd: ROOT, env, encoding: "utf8" }));
    single.push(s.wallMs!);
    singleCpu.push(s.cpuMs!);
    tokens = s.tokens!;
    cache = path.join(work, `cache-${i}`);
    const t = json(execFileSync(process.execPath, [BIN, "run", "bench/feed/tokenize-job.ts", corpusDir, cache, "--workers", "2", "--progress", "none"], { cwd: ROOT, env, encoding: "utf8" }));
    threads.push(t.wallMs!);
    threadsCpu.push(t.cpuMs!);
  }
  const ledger = (await readLedger(cache))!;
  if (ledger.tokens !== tokens) throw new Error(`the cache holds ${ledger.tokens} tokens, the loop counted ${tokens}`);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const tokenize = {
    corpusMB: MB,
    tokens,
    singleThreadMs: med(single),
    siroccoThreads2Ms: med(threads),
    singleThreadTokensPerS: Math.round(tokens / (med(single) / 1000)),
    siroccoThreads2TokensPerS: Math.round(tokens / (med(threads) / 1000)),
    speedup: +(med(single) / med(threads)).toFixed(2),
    target: 1.7,
    // CPU time of the work (all threads): how much more CPU sirocco spends for the same
    // tokens (thread start-up, one tokenizer and one BPE cache to warm per thread).
    singleThreadCpuMs: Math.round(med(singleCpu)),
    siroccoThreads2CpuMs: Math.round(med(threadsCpu)),
    cpuPerTokenRatio: +(med(threadsCpu) / med(singleCpu)).toFixed(2),
  };
  console.log("tokenize", tokenize);

  // 2. feed read throughput, one host of 4.
  const read = async (uri: string, shuffle: "none" | "window") => {
    const o = { seqLen: 2048, globalBatch: 64, hostIndex: 0, hostCount: 4, seed: 1, shuffle } as const;
    const t0 = performance.now();
    let n = 0;
    let steps = 0;
    for await (const b of openTokenFeed(uri, o)) {
      n += b.tokens.length;
      steps++;
    }
    const ms = performance.now() - t0;
    return { steps, tokens: n, ms: Math.round(ms), tokensPerS: Math.round(n / (ms / 1000)) };
  };
  const feedRead: Record<string, unknown> = { none: await read(cache, "none"), window: await read(cache, "window") };
  // The same cache served by the GCS-JSON-API test server (127.0.0.1, in this process).
  const gcs = await FakeGcsServer.start();
  try {
    gcs.createBucket("bench");
    for (const e of fs.readdirSync(cache, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) gcs.putObject("bench", `cache/${path.relative(cache, path.join(e.parentPath, e.name))}`, fs.readFileSync(path.join(e.parentPath, e.name)));
    }
    process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
    feedRead.gcsTestServerWindow = await read("gs://bench/cache", "window");
  } finally {
    delete process.env.STORAGE_EMULATOR_HOST;
    await gcs.close();
  }
  Object.assign(feedRead, { target: 5_000_000, note: "host 0 of 4, seqLen 2048, globalBatch 64, one epoch, cold start (every part read once)" });
  console.log("feed read", feedRead);

  // 3. time to first batch while the cache is being written.
  const live = path.join(work, "live");
  const t0 = performance.now();
  const producer = spawn(process.execPath, [BIN, "run", "bench/feed/tokenize-job.ts", corpusDir, live, "--workers", "2", "--progress", "none"], { cwd: ROOT, env, stdio: "ignore" });
  let firstLedgerMs = -1;
  const watch = setInterval(() => {
    if (firstLedgerMs < 0 && fs.existsSync(path.join(live, "ledger.json"))) {
      const l = JSON.parse(fs.readFileSync(path.join(live, "ledger.json"), "utf8")) as { publishedShards: number };
      if (l.publishedShards > 0) firstLedgerMs = performance.now() - t0;
    }
  }, 10);
  let firstBatchMs = -1;
  for await (const _ of openTokenFeed(live, { seqLen: 2048, globalBatch: 64, hostIndex: 0, hostCount: 4, seed: 1, shuffleWindow: 256, pollMs: 20, maxPollMs: 100 })) {
    firstBatchMs = performance.now() - t0;
    break;
  }
  const done = await new Promise<number>((r) => producer.on("exit", () => r(performance.now() - t0)));
  clearInterval(watch);
  const firstBatch = {
    firstShardPublishedMs: Math.round(firstLedgerMs),
    firstBatchMs: Math.round(firstBatchMs),
    jobDoneMs: Math.round(done),
    note: "from starting `sirocco run` (process start-up included); shuffleWindow 256 × seqLen 2048 tokens must be published first; 8 input shards",
  };
  console.log("time to first batch", firstBatch);

  // Other processes on the machine skew the threads-vs-one-thread ratio: the 1-minute load
  // average is recorded so a reader can tell (on 2 cores, anything above ~2 means contention).
  const machine = { cpus: os.availableParallelism(), node: process.version, loadAverageBefore: +loadBefore.toFixed(2), loadAverageAfter: +os.loadavg()[0]!.toFixed(2) };
  const result = { date: new Date().toISOString(), machine, tokenize, feedRead, firstBatch };
  fs.mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "bench/results/feed.json"), `${JSON.stringify(result, null, 2)}\n`);
  fs.rmSync(work, { recursive: true, force: true });
}

await main();
