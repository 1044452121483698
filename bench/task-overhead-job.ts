/**
 * Per-task overhead of the threads executor: the same N items run as N one-item shards and
 * as 2 shards, on 2 worker threads, with an (almost) empty map and no sink (rows come back
 * to the driver). Every run() starts its own pool, so both runs pay the same thread
 * start-up; (T(N shards) − T(2 shards)) / (N − 2) is what one extra task costs. The same
 * pair is run inline too, to separate the engine's per-task work from thread dispatch. Runs
 * alternate and the median of each is reported.
 *
 * Cross-check without any start-up in it: the map returns the wall-clock time (µs
 * resolution) at which it ran, so the N-shard threads run also gives the steady-state time
 * per task between the 10th and the 90th percentile of task start times.
 *
 * Run as its own process by bench/run.ts (worker threads re-import this file and replay
 * its run() calls in the same order, so it must stay deterministic):
 *   node --import tsx bench/task-overhead-job.ts <N> <reps>
 */
import { Dataset, run } from "sirocco";
import { report, startMeasure } from "./common.js";

const n = Number(process.argv[2] ?? 2000);
const reps = Number(process.argv[3] ?? 3);
const workers = 2;
const items = Array.from({ length: n }, (_, i) => i);
/** The "empty" task body: the time it ran at (epoch ms, sub-ms precision, comparable across threads). */
const now = (_x: number): number => performance.timeOrigin + performance.now();
const many = Dataset.fromList(items, { shards: n }).map(now);
const two = Dataset.fromList(items, { shards: 2 }).map(now);

type Key = "threadsMany" | "threadsTwo" | "inlineMany" | "inlineTwo";
const times: Record<Key, number[]> = { threadsMany: [], threadsTwo: [], inlineMany: [], inlineTwo: [] };
/** Steady-state ms per task of each N-shard threads run (from the rows' timestamps). */
const steady: number[] = [];

async function timed(key: Key, ds: Dataset<number>, executor: "inline" | "threads"): Promise<void> {
  const t0 = performance.now();
  const r = await run(ds, { executor, workers, progress: "none" });
  const ms = performance.now() - t0;
  if (r.rows?.length !== n) throw new Error(`${key}: expected ${n} rows, got ${r.rows?.length}`);
  times[key].push(ms);
  if (key === "threadsMany") {
    const ts = [...r.rows].sort((a, b) => a - b);
    const lo = Math.floor(n * 0.1);
    const hi = Math.floor(n * 0.9);
    steady.push((ts[hi]! - ts[lo]!) / (hi - lo));
  }
}

const start = startMeasure();
for (let i = 0; i < reps; i++) {
  await timed("threadsTwo", two, "threads");
  await timed("threadsMany", many, "threads");
  await timed("inlineTwo", two, "inline");
  await timed("inlineMany", many, "inline");
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<Key, number>;
report("task-overhead", start, {
  n,
  workers,
  reps,
  times,
  median: m,
  perTaskMsThreads: (m.threadsMany - m.threadsTwo) / (n - 2),
  perTaskMsInline: (m.inlineMany - m.inlineTwo) / (n - 2),
  perTaskMsThreadsSteady: median(steady),
  steadyPerTaskMs: steady,
  poolStartupMs: m.threadsTwo - m.inlineTwo,
});
