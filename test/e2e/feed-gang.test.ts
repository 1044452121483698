/**
 * Gang guarantees of the training feed, with real processes: H host processes read one
 * cache (test/fixtures/feed-host.mjs); the Python reader (clients/python/sirocco_feed.py,
 * numpy) is compared with them byte for byte.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset, run, type TokenFeedOptions } from "../../src/index.js";
import { writeDocFiles } from "../support/feed-corpus.js";
import { globalBatches, killGroup, pythonWithNumpy, readHost, runGang, runHost, startTokenize, FEED_HOST } from "../support/feed-gang.js";
import { tempDir } from "../support/files.js";
import { makeTempCorpus } from "../support/temp-corpus.js";
import { spawn } from "node:child_process";
import { describeRun, REPO_ROOT, runSirocco } from "../support/spawn.js";

let root: string;
let inDir: string;
let cache: string;
const OPTS: TokenFeedOptions = { seqLen: 64, globalBatch: 8, seed: 1234, shuffle: "window", shuffleWindow: 32 };
let reference: Buffer[]; // global batches of one host reading the finished cache

beforeAll(async () => {
  root = tempDir("sirocco-feed-gang-");
  inDir = path.join(root, "in");
  writeDocFiles(inDir, 8, 60, 33);
  cache = path.join(root, "cache");
  await run(Dataset.fromFiles(inDir, "*.jsonl").loadJsonl<{ text: string }>().tokenize({ encoding: "cl100k_base" }).writeTokenCache(cache, { shardRows: 20 }), {
    executor: "inline",
    progress: "none",
  });
  reference = await runGang(cache, root, OPTS, 1, 1_000_000, "ref");
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("a gang of host processes", () => {
  it("the hosts' slices concatenate to the global batch; 4 hosts and 2 hosts see the same global batches", async () => {
    expect(reference.length).toBeGreaterThan(20);
    const [four, two] = await Promise.all([runGang(cache, root, OPTS, 4, 1_000_000, "g4"), runGang(cache, root, OPTS, 2, 1_000_000, "g2")]);
    expect(four.length).toBe(reference.length);
    expect(four).toEqual(reference);
    expect(two).toEqual(reference);
  });

  it("killing one host and restarting the whole gang at step k reproduces the batches from k", async () => {
    // A gang reading forever (epochs: Infinity) slowly; host 1 is killed mid-run.
    const slow = { ...OPTS, epochs: Infinity, prefetch: 1 };
    const outs = [0, 1].map((h) => path.join(root, `kill-h${h}.bin`));
    const hosts = [0, 1].map((h) =>
      spawn(process.execPath, [FEED_HOST, cache, outs[h]!, JSON.stringify({ ...slow, hostIndex: h, hostCount: 2 }), "1000000"], { cwd: REPO_ROOT, stdio: "ignore", detached: true }),
    );
    await new Promise((r) => setTimeout(r, 600));
    killGroup(hosts[1]!);
    killGroup(hosts[0]!); // the scheduler takes the whole slice down
    await Promise.all(hosts.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once("exit", r)))));
    const k = 5;
    const restarted = await runGang(cache, root, { ...OPTS, startStep: k }, 2, 1_000_000, "restart");
    expect(restarted).toEqual(reference.slice(k));
    // …and across the epoch boundary, from a step of the second epoch.
    const epochs = await runGang(cache, root, { ...OPTS, epochs: 2, startStep: reference.length - 1 }, 2, 3, "epoch2");
    expect(epochs[0]).toEqual(reference[reference.length - 1]);
    expect(epochs).toHaveLength(3);
    expect(epochs[1]).not.toEqual(reference[0]); // the second epoch reshuffles
  });

  it("hosts started while the producer is still writing wait, then get the same batches as after it finished", async () => {
    const live = path.join(root, "live");
    const producer = startTokenize({ inDir, cache: live, encoding: "cl100k_base", shardRows: 20, env: { FEED_DELAY_MS: "3" } });
    try {
      const startedBeforeFinish = !fs.existsSync(path.join(live, "ledger.json")) || !JSON.parse(fs.readFileSync(path.join(live, "ledger.json"), "utf8")).finished;
      const gang = await Promise.all([0, 1].map((h) => runHost(live, path.join(root, `live-h${h}.bin`), { ...OPTS, hostIndex: h, hostCount: 2, pollMs: 50, maxPollMs: 200 }, 1_000_000)));
      expect(startedBeforeFinish).toBe(true);
      expect(globalBatches(gang, OPTS.seqLen)).toEqual(reference);
    } finally {
      killGroup(producer);
    }
  });
});

describe("examples/tokenize-and-feed.ts", () => {
  it("tokenizes a Brown corpus sample on 2 threads while a 4-host gang reads it, and verifies every global batch", async () => {
    const corpus = await makeTempCorpus({ megabytes: 1, files: 3 });
    try {
      const out = path.join(corpus.root, "tokens");
      const r = await runSirocco(["run", "examples/tokenize-and-feed.ts", corpus.inDir, out, "--steps", "6", "--workers", "2", "--progress", "none"]);
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.stdout).toMatch(/tokenized \d+ documents from 3 files \(0 already cached\)/);
      expect(r.stdout).toContain("global batches verified: 6");
      expect(r.stdout).toMatch(/step 0: global batch [0-9a-f]{12} = [0-9a-f]{12} \+ [0-9a-f]{12} \+ [0-9a-f]{12} \+ [0-9a-f]{12}/);
      const again = await runSirocco(["run", "examples/tokenize-and-feed.ts", corpus.inDir, out, "--steps", "6", "--progress", "none"]);
      expect(again.code, describeRun(again)).toBe(0);
      expect(again.stdout).toContain("(3 already cached)");
      expect(again.stdout.split("\n").filter((l) => l.startsWith("step "))).toEqual(r.stdout.split("\n").filter((l) => l.startsWith("step ")));
    } finally {
      corpus.remove();
    }
  });
});

describe("sirocco feed inspect", () => {
  it("prints shards, rows, tokens, finished and fingerprint", async () => {
    const r = await runSirocco(["feed", "inspect", cache, "--parts"]);
    expect(r.code, describeRun(r)).toBe(0);
    const ledger = JSON.parse(fs.readFileSync(path.join(cache, "ledger.json"), "utf8"));
    expect(r.stdout).toContain(`token cache ${cache}`);
    expect(r.stdout).toContain("finished:     yes");
    expect(r.stdout).toContain(`shards:       8 of 8 input shards published (${ledger.parts.length} parts)`);
    expect(r.stdout).toContain(`rows:         480`);
    expect(r.stdout).toContain(`tokens:       ${ledger.tokens}`);
    expect(r.stdout).toContain("fingerprint:  tokenizer=cl100k_base eosId=100257 appendEos=true dtype=uint32");
    expect(r.stdout).toMatch(/00007-0002  shard 7  rows 20  tokens \d+/);
    const none = await runSirocco(["feed", "inspect", inDir]);
    expect(none.stdout).toContain("no ledger.json");
  });
});

function hasNumpy(): string | undefined {
  return pythonWithNumpy().why;
}

describe("the Python reader (numpy)", () => {
  const missing = hasNumpy();
  // .ci/run installs numpy and sets SIROCCO_REQUIRE_NUMPY=1: there a missing numpy fails, elsewhere it skips with the reason.
  it.skipIf(missing !== undefined && process.env.SIROCCO_REQUIRE_NUMPY !== "1")(`yields the TypeScript feed's batches byte for byte${missing ? ` [skipped: ${missing}]` : ""}`, async () => {
    expect(missing, missing).toBeUndefined();
    const cases: TokenFeedOptions[] = [
      OPTS,
      { ...OPTS, hostIndex: 3, hostCount: 4 },
      { ...OPTS, shuffle: "none", hostIndex: 1, hostCount: 2 },
      { ...OPTS, seed: 7, shuffleWindow: 4096, startStep: 3 },
      { seqLen: 100, globalBatch: 6, seed: 99, shuffleWindow: 50, epochs: 3, hostIndex: 2, hostCount: 3 },
    ];
    for (const [i, o] of cases.entries()) {
      const [ts, py] = await Promise.all([runHost(cache, path.join(root, `py-ts-${i}.bin`), o, 1_000_000), runHost(cache, path.join(root, `py-py-${i}.bin`), o, 1_000_000, { python: true })]);
      expect(py.steps, JSON.stringify(o)).toEqual(ts.steps);
      expect(ts.bytes.length).toBeGreaterThan(0);
      expect(py.bytes.equals(ts.bytes), `python and TypeScript differ for ${JSON.stringify(o)}`).toBe(true);
    }
    // Host defaults from the TPU environment work the same in both readers.
    const env = { TPU_WORKER_ID: "1", TPU_WORKER_HOSTNAMES: "a,b" };
    const [ts, py] = await Promise.all([runHost(cache, path.join(root, "env-ts.bin"), OPTS, 4, { env }), runHost(cache, path.join(root, "env-py.bin"), OPTS, 4, { env, python: true })]);
    expect(ts.localBatch).toBe(4);
    expect(py.bytes.equals(ts.bytes)).toBe(true);
    expect(readHost(path.join(root, "env-ts.bin")).steps).toEqual([0, 1, 2, 3]);
  });
});
