/**
 * The redis executor under faults, with a real redis-server of its own (so pausing or
 * restarting it does not disturb other test files) and real `sirocco worker` processes:
 * a worker SIGKILLed mid-task, a worker stopped with SIGTERM mid-task, Redis paused and
 * restarted mid-stage, a driver killed and resumed, a worker running another script. Every
 * successful run must give byte-identical outputs to a clean inline run, with no
 * temporaries left. (The normal pipelines run on redis through the EXECUTORS loop.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCorpus } from "../../scripts/make-corpus.js";
import { readBinaryTree } from "../support/feed-corpus.js";
import { runFixture, ROOT } from "../support/fixture-runner.js";
import { tempDir } from "../support/files.js";
import { childrenOf, writerOfTemporary } from "../support/processes.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";

const BIN = path.join(ROOT, "bin/sirocco.mjs");
const PIPELINES = path.join(ROOT, "test/fixtures/pipelines.ts");
/** Short locks so a dead worker's task is noticed in about 2 s. */
const FAST_STALL = { SIROCCO_WORKER_LOCK_MS: "1500", SIROCCO_WORKER_STALLED_INTERVAL_MS: "500" };
const ROW_DELAY_MS = "4";

let redis: TestRedis;
let corpusDir: string;
let reference: Record<string, string>;

beforeAll(async () => {
  redis = await startRedis();
  corpusDir = tempDir("sirocco-redis-corpus-");
  await makeCorpus({ outDir: corpusDir, megabytes: 1.2, files: 6, seed: 11, gzipLevel: 1 });
  const refDir = tempDir("sirocco-redis-ref-");
  const r = await runFixture("slow-clean", { inDir: corpusDir, outDir: refDir, extra: "0", executor: "inline" });
  expect(r.code, r.stderr).toBe(0);
  reference = readBinaryTree(refDir);
  expect(Object.keys(reference)).toHaveLength(6);
});
afterAll(async () => {
  await redis?.stop();
});

interface Driver {
  proc: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string; result?: { stats: { retries: number; stages: Array<{ skippedShards: number }> } } }>;
}

/** `sirocco run pipelines.ts <case> …` on the redis executor, not awaited. */
function startDriver(kase: string, outDir: string, flags: string[], env: Record<string, string> = {}): Driver {
  const args = [BIN, "run", PIPELINES, kase, corpusDir, outDir, ROW_DELAY_MS, "--executor", "redis", "--redis", redis.url, "--workers", "2", "--progress", "none", ...flags];
  const e: NodeJS.ProcessEnv = { ...process.env, ...FAST_STALL, ...env };
  delete e.SIROCCO_RUN_DEFAULTS;
  delete e.SIROCCO_ENTRY;
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: e, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Awaited<Driver["done"]>>((resolve) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), 100_000);
    proc.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      resolve({ code, stdout, stderr, result: line ? JSON.parse(line.slice(7)) : undefined });
    });
  });
  return { proc, done };
}

/** `sirocco worker pipelines.ts --redis … --queue …` (a worker started by hand, as on another machine). */
function startWorker(queue: string, script = PIPELINES, env: Record<string, string> = {}, flags = ["--concurrency", "1"]): { proc: ChildProcess; exited: Promise<number | null>; log: () => string } {
  const proc = spawn(process.execPath, [BIN, "worker", script, "--redis", redis.url, "--queue", queue, ...flags], {
    cwd: ROOT,
    env: { ...process.env, ...FAST_STALL, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  return { proc, exited: new Promise((r) => proc.on("close", (code) => r(code))), log: () => log };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, f: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("redis executor: faults", () => {
  it("a worker SIGKILLed mid-task (5 trials): its task runs again elsewhere, outputs byte-identical, no temporaries", async () => {
    for (let trial = 0; trial < 5; trial++) {
      const outDir = tempDir(`sirocco-redis-kill-${trial}-`);
      const d = startDriver("slow-clean", outDir, ["--autoscale", "local"]);
      // Kill the worker that is writing an output right now (found by its open temporary file).
      const victim = await waitFor("a worker writing an output", () => writerOfTemporary(outDir, childrenOf(d.proc.pid!)));
      process.kill(victim.pid, "SIGKILL");
      const r = await d.done;
      expect(r.code, `trial ${trial}: ${r.stderr}`).toBe(0);
      expect(r.result!.stats.retries, `trial ${trial}`).toBeGreaterThanOrEqual(1);
      expect(readBinaryTree(outDir), `trial ${trial}`).toEqual(reference);
    }
  }, 400_000);

  it("a worker stopped with SIGTERM mid-task finishes that task, commits it and exits 0 (nothing retried)", async () => {
    const queue = "graceful";
    const outDir = tempDir("sirocco-redis-term-");
    const a = startWorker(queue);
    const b = startWorker(queue);
    const d = startDriver("slow-clean", outDir, ["--queue", queue]);
    const writing = await waitFor("worker a writing an output", () => writerOfTemporary(outDir, [a.proc.pid!]));
    a.proc.kill("SIGTERM");
    expect(await a.exited, a.log()).toBe(0);
    // It left only after its task was committed: its temporary is gone and no attempt failed.
    expect(fs.existsSync(path.join(outDir, writing.temp))).toBe(false);
    const r = await d.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.result!.stats.retries).toBe(0);
    expect(readBinaryTree(outDir)).toEqual(reference);
    b.proc.kill("SIGTERM");
    expect(await b.exited, b.log()).toBe(0);
  });

  it("an --elastic worker grows its threads from 1 with the backlog (the thread-pool actuator), outputs identical", async () => {
    const queue = "elastic";
    const outDir = tempDir("sirocco-redis-elastic-");
    const w = startWorker(queue, PIPELINES, { SIROCCO_DEBUG: "1" }, ["--concurrency", "3", "--elastic"]);
    const d = startDriver("slow-clean", outDir, ["--queue", queue]);
    let most = 0;
    const watch = setInterval(() => {
      const open = fs.readdirSync(outDir).filter((n) => n.startsWith(".sirocco-tmp-")).length;
      most = Math.max(most, open);
    }, 10);
    const r = await d.done;
    clearInterval(watch);
    expect(r.code, r.stderr).toBe(0);
    expect(readBinaryTree(outDir)).toEqual(reference);
    expect(w.log()).toMatch(/threads 1 → 3 \(6 tasks, durations unknown yet\)/);
    expect(most, "tasks written at once by the one worker").toBeGreaterThanOrEqual(2);
    w.proc.kill("SIGTERM");
    expect(await w.exited, w.log()).toBe(0);
  });

  it("Redis paused (SIGSTOP) for 3 s mid-stage: driver and workers carry on when it answers again", async () => {
    const outDir = tempDir("sirocco-redis-pause-");
    const d = startDriver("slow-clean", outDir, ["--autoscale", "local"]);
    await waitFor("a worker writing an output", () => writerOfTemporary(outDir, childrenOf(d.proc.pid!)));
    redis.pause();
    await sleep(3000);
    redis.resume();
    const r = await d.done;
    expect(r.code, r.stderr).toBe(0);
    expect(readBinaryTree(outDir)).toEqual(reference);
  });

  it("Redis restarted (its data lost) mid-stage: lost tasks are queued again and the run completes identically", async () => {
    const outDir = tempDir("sirocco-redis-restart-");
    const d = startDriver("slow-clean", outDir, ["--autoscale", "local"]);
    await waitFor("a worker writing an output", () => writerOfTemporary(outDir, childrenOf(d.proc.pid!)));
    await redis.restart();
    const r = await d.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.result!.stats.retries).toBeGreaterThanOrEqual(1);
    expect(readBinaryTree(outDir)).toEqual(reference);
  });

  it("a worker running another script fails the run with the plan difference, naming the shard", async () => {
    const queue = "wrong-script";
    const other = path.join(ROOT, "test/fixtures/throwing-map.ts");
    const w = startWorker(queue, other);
    const d = startDriver("slow-clean", tempDir("sirocco-redis-wrong-"), ["--queue", queue]);
    const r = await d.done;
    w.proc.kill("SIGTERM");
    await w.exited;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TaskError: stage 0, shard \d\/6, attempt 1: PlanError: the plan rebuilt in a worker from .* differs from the driver's/);
    expect(r.stderr).toContain("PlanError");
  });

  /** Starts slow-clean, SIGKILLs the driver once `committed` outputs exist, waits for its workers to leave. */
  async function killDriverAfter(outDir: string, committed: number): Promise<void> {
    const d = startDriver("slow-clean", outDir, ["--autoscale", "local"]);
    const workers = new Set<number>();
    await waitFor(`${committed} committed outputs`, () => {
      childrenOf(d.proc.pid!).forEach((p) => workers.add(p));
      return fs.readdirSync(outDir).filter((n) => !n.startsWith(".")).length >= committed;
    });
    childrenOf(d.proc.pid!).forEach((p) => workers.add(p));
    d.proc.kill("SIGKILL");
    await d.done;
    // Its local workers notice (IPC channel closed), finish their tasks in flight and exit.
    await waitFor("the dead driver's workers to exit", () => [...workers].every((p) => !fs.existsSync(`/proc/${p}`) || fs.readFileSync(`/proc/${p}/stat`, "utf8").split(" ")[2] === "Z"), 60_000);
  }

  it("a driver killed mid-run and restarted with --resume skips the committed shards; outputs byte-identical", async () => {
    const outDir = tempDir("sirocco-redis-resume-");
    await killDriverAfter(outDir, 2);
    const d = startDriver("slow-clean", outDir, ["--autoscale", "local", "--resume"]);
    const r = await d.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.result!.stats.stages[0]!.skippedShards).toBeGreaterThanOrEqual(2);
    expect(r.stderr).not.toContain("different plan");
    expect(readBinaryTree(outDir)).toEqual(reference);
  });

  it("--resume after a killed run of a changed script starts over, saying the plan changed", async () => {
    const outDir = tempDir("sirocco-redis-resume-changed-");
    await killDriverAfter(outDir, 2);
    const cleanRef = tempDir("sirocco-redis-clean-ref-");
    expect((await runFixture("clean", { inDir: corpusDir, outDir: cleanRef, executor: "inline" })).code).toBe(0);
    const d = startDriver("clean", outDir, ["--autoscale", "local", "--resume"]);
    const r = await d.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--resume: the outputs in .* were written by a different plan \(fingerprint [0-9a-f]{16}, started .*; this plan is [0-9a-f]{16}\): the script or its arguments changed, so stage 0 starts over/);
    expect(r.result!.stats.stages[0]!.skippedShards).toBe(0);
    expect(readBinaryTree(outDir)).toEqual(readBinaryTree(cleanRef));
  });
});
