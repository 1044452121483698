/**
 * Helpers of the feed's process tests: run the tokenize fixture through the CLI, start host
 * processes of a simulated training gang (test/fixtures/feed-host.mjs) and read what they got.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { TokenFeedOptions } from "../../src/index.js";
import { executorFlags } from "./executors.js";
import { describeRun, REPO_ROOT, runCommand, runSirocco, type SpawnResult } from "./spawn.js";

export const FEED_PIPELINES = path.join(REPO_ROOT, "test/fixtures/feed-pipelines.ts");
export const FEED_HOST = path.join(REPO_ROOT, "test/fixtures/feed-host.mjs");
export const PY_FEED = path.join(REPO_ROOT, "clients/python/sirocco_feed.py");

/**
 * The first Python that has numpy: $SIROCCO_PYTHON, the `python3` on PATH (pyenv's on this
 * kind of machine, which ships numpy), or Debian's /usr/bin/python3 (python3-numpy).
 */
export function pythonWithNumpy(): { python?: string; why?: string } {
  const tried: string[] = [];
  for (const py of [process.env.SIROCCO_PYTHON, "python3", "/usr/bin/python3"].filter((p): p is string => !!p)) {
    try {
      execFileSync(py, ["-c", "import numpy"], { stdio: "pipe" });
      return { python: py };
    } catch (e) {
      tried.push(`${py}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { why: `no python with numpy (${tried.join("; ")}); install Debian's python3-numpy (.ci/run does)` };
}

/** `sirocco run feed-pipelines.ts <in> <cache> <encoding> [shardRows] --executor E --workers N`. */
export async function tokenizeViaCli(
  a: { inDir: string; cache: string; encoding: string; shardRows?: number; executor: string; workers?: number; env?: Record<string, string> },
): Promise<SpawnResult> {
  const r = await runSirocco(
    ["run", FEED_PIPELINES, a.inDir, a.cache, a.encoding, ...(a.shardRows ? [String(a.shardRows)] : []), "--executor", a.executor, "--workers", String(a.workers ?? 2), "--progress", "none", ...executorFlags(a.executor)],
    { env: a.env, timeoutMs: 90_000 },
  );
  if (r.code !== 0) throw new Error(`tokenize job failed: ${describeRun(r)}`);
  return r;
}

/** Starts the tokenize job without waiting (own process group, so it can be killed whole). */
export function startTokenize(a: { inDir: string; cache: string; encoding: string; shardRows?: number; env?: Record<string, string> }): ChildProcess {
  const args = [path.join(REPO_ROOT, "bin/sirocco.mjs"), "run", FEED_PIPELINES, a.inDir, a.cache, a.encoding, ...(a.shardRows ? [String(a.shardRows)] : []), "--workers", "2", "--progress", "none"];
  const env = { ...process.env, ...a.env };
  delete env.SIROCCO_RUN_DEFAULTS;
  delete env.SIROCCO_ENTRY;
  return spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: "ignore", detached: true });
}

export interface HostRun {
  steps: number[];
  localBatch: number;
  /** Raw batches, one after the other (uint32 LE). */
  bytes: Buffer;
}

/** Runs one host (TypeScript feed, or the Python reader with `python: true`) to completion. */
export async function runHost(uri: string, out: string, o: TokenFeedOptions, steps: number, opts: { python?: boolean; env?: Record<string, string> } = {}): Promise<HostRun> {
  const r = opts.python
    ? await runCommand(pythonWithNumpy().python ?? "python3", [PY_FEED, uri, out, JSON.stringify(o), String(steps)], { timeoutMs: 60_000, env: opts.env })
    : await runCommand(process.execPath, [FEED_HOST, uri, out, JSON.stringify(o), String(steps)], { timeoutMs: 60_000, env: opts.env });
  if (r.code !== 0) throw new Error(`host ${o.hostIndex ?? 0}/${o.hostCount ?? 1} failed: ${describeRun(r)}`);
  return readHost(out);
}

export function readHost(out: string): HostRun {
  const meta = JSON.parse(fs.readFileSync(`${out}.json`, "utf8")) as { steps: number[]; localBatch: number };
  return { ...meta, bytes: fs.readFileSync(out) };
}

/** Runs H hosts as a gang (concurrently) and returns, per step, the concatenation of their slices. */
export async function runGang(uri: string, dir: string, o: TokenFeedOptions, hosts: number, steps: number, tag: string): Promise<Buffer[]> {
  const runs = await Promise.all(Array.from({ length: hosts }, (_, h) => runHost(uri, path.join(dir, `${tag}-h${h}of${hosts}.bin`), { ...o, hostIndex: h, hostCount: hosts }, steps)));
  return globalBatches(runs, o.seqLen);
}

/** Per step, the hosts' slices concatenated in host order. */
export function globalBatches(runs: HostRun[], seqLen: number): Buffer[] {
  const n = runs[0]!.steps.length;
  for (const r of runs) if (r.steps.length !== n) throw new Error(`hosts got different step counts: ${runs.map((x) => x.steps.length)}`);
  const out: Buffer[] = [];
  for (let s = 0; s < n; s++) {
    out.push(Buffer.concat(runs.map((r) => {
      const size = r.localBatch * seqLen * 4;
      return r.bytes.subarray(s * size, (s + 1) * size);
    })));
  }
  return out;
}

export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
  // `sirocco run` compiles the script to a hidden module beside it and removes it on exit;
  // a SIGKILL leaves it behind.
  fs.rmSync(path.join(path.dirname(FEED_PIPELINES), `.${path.basename(FEED_PIPELINES)}.sirocco-${child.pid}.mjs`), { force: true });
}
