/**
 * Small tasks on the redis executor (bench/distributed.ts): N items as `shards` shards, each
 * item sleeping `sleepMs` (CPU-light work) and returning the time it ran, so the driver can
 * compute the steady-state rate between the 10th and 90th percentile of task times (no
 * start-up in it). Workers re-import this file with the same argv.
 *   sirocco run bench/redis-tasks-job.ts <N> <shards> <sleepMs> --executor redis --redis URL --queue Q
 */
import { Dataset, run } from "sirocco";
import { report, startMeasure } from "./common.js";

const n = Number(process.argv[2] ?? 200);
const shards = Number(process.argv[3] ?? n);
const sleepMs = Number(process.argv[4] ?? 0);
const ds = Dataset.fromList(
  Array.from({ length: n }, (_, i) => i),
  { shards },
).map(async (_x: number) => {
  if (sleepMs > 0) await new Promise((r) => setTimeout(r, sleepMs));
  return performance.timeOrigin + performance.now();
});

const start = startMeasure();
const r = await run(ds, { progress: "none" });
const ts = [...(r.rows as number[])].sort((a, b) => a - b);
const lo = Math.floor(ts.length * 0.1);
const hi = Math.floor(ts.length * 0.9);
report("redis-tasks", start, { n, shards, sleepMs, rows: ts.length, engineWallMs: r.stats.wallMs, steadyMsPerItem: (ts[hi]! - ts[lo]!) / Math.max(1, hi - lo) });
