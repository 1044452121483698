/**
 * The redis executor's numbers (`npm run bench:redis`), measured side by side in one run on
 * this machine, with a real redis-server on a free local port:
 *
 * 1. The clean job (bench/clean-job.ts) on threads(2) vs redis with 2 local worker
 *    processes (`--autoscale local --workers 2`, each worker one thread). Wall time of the
 *    whole `sirocco run` (worker start-up included) and of the engine's run() alone.
 * 2. Per-task dispatch overhead: N empty one-item tasks vs 2 tasks on 2 workers started
 *    once (`sirocco worker`), (T(N) − T(2)) / (N − 2); and the steady-state time per task
 *    from the tasks' own timestamps (no start-up in it).
 * 3. Time to recover a killed worker's task: a worker is SIGKILLed while writing an output;
 *    time from the kill to that output's commit by another worker, with the default lock
 *    (15 s) and a short one (2 s lock, 0.5 s stalled checks).
 * 4. A scaling curve: 1, 2, 4, 8 worker processes on CPU-light tasks (each sleeps 25 ms):
 *    steady-state tasks/s should grow with workers if dispatch is not the bottleneck.
 *
 * Environment: BENCH_DIST_MB (clean corpus, uncompressed MB, default 80), BENCH_TASKS (default 600),
 * BENCH_ROUNDS (default 2; best round reported), BENCH_PARTS (default "clean,dispatch,recovery,scaling").
 * Writes bench/results/distributed.json (the parts run).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeCorpus } from "../scripts/make-corpus.js";
import { childrenOf, writerOfTemporary } from "../test/support/processes.js";
import { startRedis, type TestRedis } from "../test/support/redis-server.js";
import { RESULT_PREFIX, type ChildReport } from "./common.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin/sirocco.mjs");
const MB = Number(process.env.BENCH_DIST_MB ?? 80);
const TASKS = Number(process.env.BENCH_TASKS ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PARTS = new Set((process.env.BENCH_PARTS ?? "clean,dispatch,recovery,scaling").split(","));
const log = (s = "") => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = { ...process.env, ...extra };
  delete e.SIROCCO_RUN_DEFAULTS;
  delete e.SIROCCO_ENTRY;
  return e;
}

async function sirocco(args: string[], extraEnv: Record<string, string> = {}): Promise<{ wallMs: number; report: ChildReport }> {
  const t0 = performance.now();
  const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: env(extraEnv), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => p.on("close", r));
  const wallMs = performance.now() - t0;
  const line = out.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || !line) throw new Error(`sirocco ${args.join(" ")} failed (${code}):\n${err.slice(-3000)}`);
  return { wallMs, report: JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildReport };
}

function startWorkers(n: number, redis: TestRedis, queue: string, script: string, extraEnv: Record<string, string> = {}): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn(process.execPath, [BIN, "worker", script, "--redis", redis.url, "--queue", queue, "--concurrency", "1"], { cwd: ROOT, env: env(extraEnv), stdio: "ignore" }),
  );
}

async function stopWorkers(ws: ChildProcess[]): Promise<void> {
  await Promise.all(ws.map((w) => new Promise((r) => (w.exitCode !== null ? r(undefined) : (w.once("close", r), w.kill("SIGTERM"))))));
}

function loadAvg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(" ");
}

const min = (xs: number[]) => Math.min(...xs);

async function main(): Promise<void> {
  const redis = await startRedis();
  const results: Record<string, unknown> = { machine: { cpus: os.availableParallelism(), loadAvgAtStart: os.loadavg() } };
  log(`sirocco distributed bench — ${os.availableParallelism()} cores, load average at start ${loadAvg()}, redis ${redis.url}`);
  try {
    const corpus = path.join(ROOT, "bench/.data", `dist-${MB}mb`);
    if (!fs.existsSync(corpus)) await makeCorpus({ outDir: corpus, megabytes: MB, files: 16, seed: 1, gzipLevel: 6 });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sirocco-dist-bench-"));
    // 1. clean job
    if (PARTS.has("clean")) {
    const clean: Record<string, { wallMs: number[]; engineMs: number[] }> = { threads: { wallMs: [], engineMs: [] }, redis: { wallMs: [], engineMs: [] } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const ex of ["threads", "redis"] as const) {
        const out = path.join(tmp, `clean-${ex}-${round}`);
        const flags = ex === "redis" ? ["--redis", redis.url, "--autoscale", "local"] : [];
        const r = await sirocco(["run", "bench/clean-job.ts", corpus, out, ex, "2", "--workers", "2", "--progress", "none", ...flags], { SIROCCO_AUTOSCALE_MIN: "2" });
        clean[ex]!.wallMs.push(r.wallMs);
        clean[ex]!.engineMs.push(Number(r.report.extra.engineWallMs));
        fs.rmSync(out, { recursive: true, force: true });
      }
    }
    const ratio = min(clean.redis!.wallMs) / min(clean.threads!.wallMs);
    const ratioEngine = min(clean.redis!.engineMs) / min(clean.threads!.engineMs);
    results.clean = { corpusMb: MB, rounds: ROUNDS, clean, redisOverThreadsWall: ratio, redisOverThreadsEngine: ratioEngine, loadAvg: os.loadavg() };
    log(`\n1. clean job, ${MB} MB JSONL (16 gz files), best of ${ROUNDS}:`);
    log(`   threads(2): ${min(clean.threads!.wallMs).toFixed(0)} ms process, ${min(clean.threads!.engineMs).toFixed(0)} ms run()`);
    log(`   redis(2 worker processes): ${min(clean.redis!.wallMs).toFixed(0)} ms process, ${min(clean.redis!.engineMs).toFixed(0)} ms run()`);
    log(`   redis / threads: ${ratio.toFixed(2)}× (process), ${ratioEngine.toFixed(2)}× (run()) — target ≤ 1.25×   [load ${loadAvg()}]`);
    }

    // 2. per-task dispatch overhead (2 workers started once)
    if (PARTS.has("dispatch")) {
    const q = "bench-overhead";
    const ws = startWorkers(2, redis, q, "bench/redis-tasks-job.ts");
    const many: number[] = [];
    const two: number[] = [];
    const steady: number[] = [];
    for (let round = 0; round < ROUNDS + 1; round++) {
      const flags = ["--executor", "redis", "--redis", redis.url, "--queue", q, "--progress", "none"];
      const a = await sirocco(["run", "bench/redis-tasks-job.ts", String(TASKS), "2", "0", ...flags]);
      const b = await sirocco(["run", "bench/redis-tasks-job.ts", String(TASKS), String(TASKS), "0", ...flags]);
      if (round === 0) continue; // warm-up (first pools, page cache)
      two.push(Number(a.report.extra.engineWallMs));
      many.push(Number(b.report.extra.engineWallMs));
      steady.push(Number(b.report.extra.steadyMsPerItem));
    }
    await stopWorkers(ws);
    const perTask = (min(many) - min(two)) / (TASKS - 2);
    results.dispatch = { tasks: TASKS, workers: 2, manyMs: many, twoMs: two, perTaskMs: perTask, steadyMsPerTask: steady, loadAvg: os.loadavg() };
    log(`\n2. dispatch overhead, ${TASKS} empty tasks on 2 workers: ${perTask.toFixed(2)} ms/task from (T(${TASKS}) − T(2)); steady state ${min(steady).toFixed(2)} ms/task (${(1000 / min(steady)).toFixed(0)} tasks/s)   [load ${loadAvg()}]`);
    }

    // 3. recovery of a killed worker's task
    if (PARTS.has("recovery")) {
    const recovery: Record<string, number> = {};
    for (const [label, e] of [
      ["default lock (15 s, checks every 5 s)", {}],
      ["short lock (2 s, checks every 0.5 s)", { SIROCCO_WORKER_LOCK_MS: "2000", SIROCCO_WORKER_STALLED_INTERVAL_MS: "500" }],
    ] as const) {
      recovery[label] = await recoveryMs(redis, corpus, tmp, e);
      log(`\n3. recovery, ${label}: ${(recovery[label]! / 1000).toFixed(1)} s from SIGKILL to the task's output committed by another worker`);
    }
    results.recovery = recovery;
    }

    // 4. scaling curve
    if (PARTS.has("scaling")) {
    const curve: Array<{ workers: number; tasksPerSec: number; wallMs: number }> = [];
    const SLEEP = 25;
    const N = 400;
    log(`\n4. scaling, ${N} tasks of ${SLEEP} ms sleep (CPU-light):`);
    for (const n of [1, 2, 4, 8]) {
      const queue = `bench-scale-${n}`;
      const w = startWorkers(n, redis, queue, "bench/redis-tasks-job.ts");
      const flags = ["--executor", "redis", "--redis", redis.url, "--queue", queue, "--progress", "none"];
      await sirocco(["run", "bench/redis-tasks-job.ts", String(n * 4), String(n * 4), "0", ...flags]); // warm every worker's pool
      const r = await sirocco(["run", "bench/redis-tasks-job.ts", String(N), String(N), String(SLEEP), ...flags]);
      await stopWorkers(w);
      const tps = 1000 / Number(r.report.extra.steadyMsPerItem);
      curve.push({ workers: n, tasksPerSec: tps, wallMs: Number(r.report.extra.engineWallMs) });
      log(`   ${n} worker(s): ${tps.toFixed(0)} tasks/s steady (ideal ${((1000 / SLEEP) * n).toFixed(0)}), run() ${Number(r.report.extra.engineWallMs).toFixed(0)} ms   [load ${loadAvg()}]`);
    }
    results.scaling = { sleepMs: SLEEP, tasks: N, curve };
    }
    results.machine = { ...(results.machine as object), loadAvgAtEnd: os.loadavg() };
    fs.mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
    const file = path.join(ROOT, "bench/results/distributed.json");
    const before = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    fs.writeFileSync(file, `${JSON.stringify({ ...before, ...results }, null, 2)}\n`);
    fs.rmSync(tmp, { recursive: true, force: true });
  } finally {
    await redis.stop();
  }
}

/** Runs the slowed clean fixture on 2 local workers, SIGKILLs the one writing an output, times until that output is committed. */
async function recoveryMs(redis: TestRedis, corpus: string, tmp: string, extraEnv: Record<string, string>): Promise<number> {
  const out = path.join(tmp, `recovery-${Date.now()}`);
  fs.mkdirSync(out);
  const p = spawn(
    process.execPath,
    [BIN, "run", "test/fixtures/pipelines.ts", "slow-clean", corpus, out, "1", "--executor", "redis", "--redis", redis.url, "--autoscale", "local", "--workers", "2", "--progress", "none"],
    { cwd: ROOT, env: env({ ...extraEnv, SIROCCO_AUTOSCALE_MIN: "2" }), stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((r) => p.on("close", r));
  let victim: { pid: number; temp: string } | undefined;
  while (!victim) {
    await sleep(20);
    victim = writerOfTemporary(out, childrenOf(p.pid!));
    if (p.exitCode !== null) throw new Error(`the job ended before a worker could be killed:\n${err}`);
  }
  // The temp name is .sirocco-tmp-<runId>-<random>-<final name>: the output it becomes.
  const final = victim.temp.replace(/^\.sirocco-tmp-[^-]+-[^-]+-/, "");
  process.kill(victim.pid, "SIGKILL");
  const t0 = performance.now();
  while (!fs.existsSync(path.join(out, final))) {
    await sleep(20);
    if (p.exitCode !== null) break;
  }
  const ms = performance.now() - t0;
  if ((await closed) !== 0) throw new Error(`recovery run failed:\n${err}`);
  return ms;
}

await main();
