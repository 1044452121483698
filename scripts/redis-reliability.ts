/**
 * Reliability trials of the redis executor (more than the tests run): each trial runs the
 * slowed clean fixture on 2 local worker processes and injects one fault mid-stage — a
 * worker SIGKILLed while writing an output (most trials), or Redis paused for 2 s — then
 * checks the outputs are byte-identical to a clean inline run, with no temporaries.
 *   npx tsx scripts/redis-reliability.ts [trials=20]
 * Prints one line per trial and a summary; exits 1 if any trial failed.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeCorpus } from "./make-corpus.js";
import { readBinaryTree } from "../test/support/feed-corpus.js";
import { childrenOf, writerOfTemporary } from "../test/support/processes.js";
import { startRedis } from "../test/support/redis-server.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin/sirocco.mjs");
const PIPELINES = path.join(ROOT, "test/fixtures/pipelines.ts");
const TRIALS = Number(process.argv[2] ?? 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runDriver(args: string[], env: Record<string, string>): { pid: number; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const e = { ...process.env, ...env };
  delete e.SIROCCO_RUN_DEFAULTS;
  delete e.SIROCCO_ENTRY;
  const p = spawn(process.execPath, [BIN, "run", PIPELINES, ...args], { cwd: ROOT, env: e, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return { pid: p.pid!, done: new Promise((r) => p.on("close", (code) => r({ code, stdout, stderr }))) };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sirocco-reliability-"));
const corpus = path.join(tmp, "in");
await makeCorpus({ outDir: corpus, megabytes: 1.2, files: 6, seed: 11, gzipLevel: 1 });
const ref = path.join(tmp, "ref");
const r0 = await runDriver(["slow-clean", corpus, ref, "0", "--executor", "inline", "--progress", "none"], {}).done;
if (r0.code !== 0) throw new Error(r0.stderr);
const reference = JSON.stringify(readBinaryTree(ref));
const redis = await startRedis();
const rows: Array<{ trial: number; fault: string; ok: boolean; retries: number; ms: number; why?: string }> = [];
try {
  for (let t = 0; t < TRIALS; t++) {
    const fault = t % 5 === 4 ? "redis SIGSTOP 2 s" : "worker SIGKILL";
    const out = path.join(tmp, `out-${t}`);
    fs.mkdirSync(out);
    const t0 = performance.now();
    const d = runDriver(["slow-clean", corpus, out, "4", "--executor", "redis", "--redis", redis.url, "--autoscale", "local", "--workers", "2", "--progress", "none"], {
      SIROCCO_WORKER_LOCK_MS: "1500",
      SIROCCO_WORKER_STALLED_INTERVAL_MS: "500",
    });
    let victim: ReturnType<typeof writerOfTemporary>;
    const end = Date.now() + 60_000;
    while (!(victim = writerOfTemporary(out, childrenOf(d.pid))) && Date.now() < end) await sleep(10);
    if (victim && fault === "worker SIGKILL") process.kill(victim.pid, "SIGKILL");
    if (victim && fault !== "worker SIGKILL") {
      redis.pause();
      await sleep(2000);
      redis.resume();
    }
    const r = await d.done;
    const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    const retries = line ? (JSON.parse(line.slice(7)) as { stats: { retries: number } }).stats.retries : -1;
    const same = JSON.stringify(readBinaryTree(out)) === reference;
    const ok = victim !== undefined && r.code === 0 && same;
    const why = !victim ? "no fault injected (job too fast)" : r.code !== 0 ? r.stderr.slice(-500) : same ? undefined : "outputs differ";
    rows.push({ trial: t, fault, ok, retries, ms: performance.now() - t0, why });
    console.log(`trial ${t + 1}/${TRIALS}: ${fault}: ${ok ? "identical outputs" : `FAILED: ${why}`} (retries ${retries}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
} finally {
  await redis.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
const failed = rows.filter((r) => !r.ok);
console.log(`\n${rows.length} trials, ${rows.filter((r) => r.fault === "worker SIGKILL").length} worker SIGKILLs, ${rows.filter((r) => r.fault !== "worker SIGKILL").length} Redis pauses: ${rows.length - failed.length} with byte-identical outputs and no temporaries, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
