/**
 * Shuffle benchmark: exact dedupe on `text` and count-by-domain over a generated corpus of
 * ≥ 300 MB of uncompressed JSONL (gzip files, ~25% exact duplicate texts), side by side in
 * one run: a hand-written single-threaded Node loop (Set / Map), the same loop spread by hand
 * over 2 worker threads (what this machine's two cores give such work without any engine),
 * DuckDB with 2 threads, and sirocco threads(2). Then a dedupe whose input is ~10× the memory budget, reporting peak
 * RSS against the budget. Each variant is its own process; the three run in turn, for
 * SHUFFLE_ROUNDS rounds (default 3), and each variant's median round is reported (this VM's
 * speed moves by ±20% from minute to minute; interleaving makes the ratios fair).
 *
 * Usage: npm run bench:shuffle            (SHUFFLE_MB=300 SHUFFLE_BUDGET=30MB SHUFFLE_ROUNDS=3 to change)
 * Results: printed, and written to bench/results/shuffle.json.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeCorpus } from "../scripts/make-corpus.js";
import { RESULT_PREFIX, type ChildReport } from "./common.js";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const MB = Number(process.env.SHUFFLE_MB ?? 300);
const BUDGET = process.env.SHUFFLE_BUDGET ?? "30MB";
const ROUNDS = Math.max(1, Number(process.env.SHUFFLE_ROUNDS ?? 3));
const corpusDir = path.join(BENCH, ".data", `shuffle-${MB}mb-dup25`);

async function corpus(): Promise<{ files: string[]; bytes: number }> {
  const marker = path.join(corpusDir, ".complete");
  if (!fs.existsSync(marker)) {
    console.log(`generating ${MB} MB of JSONL.gz with 25% duplicate texts in ${corpusDir} (cached for later runs)…`);
    await fsp.rm(corpusDir, { recursive: true, force: true });
    await makeCorpus({ outDir: corpusDir, megabytes: MB, files: 16, seed: 3, duplicateFraction: 0.25, gzipLevel: 1 });
    await fsp.writeFile(marker, "");
  }
  const files = (await fsp.readdir(corpusDir)).filter((n) => n.endsWith(".jsonl.gz")).map((n) => path.join(corpusDir, n));
  return { files, bytes: files.reduce((a, f) => a + fs.statSync(f).size, 0) };
}

type Kind = "loop" | "parallel" | "duckdb" | "sirocco";
const SCRIPT: Record<Exclude<Kind, "sirocco">, string> = { loop: "shuffle-loop-job.ts", parallel: "shuffle-parallel-job.ts", duckdb: "shuffle-duckdb-job.ts" };

async function child(kind: Kind, job: string, flags: string[] = []): Promise<ChildReport & { processWallMs: number }> {
  const outDir = await fsp.mkdtemp(path.join(os.tmpdir(), `sirocco-bench-${kind}-`));
  const argv =
    kind === "sirocco"
      ? [path.join(ROOT, "bin/sirocco.mjs"), "run", path.join(BENCH, "shuffle-job.ts"), job, corpusDir, outDir, "--executor", "threads", "--workers", "2", "--progress", "none", ...flags]
      : ["--import", "tsx", path.join(BENCH, SCRIPT[kind]), job, corpusDir, outDir];
  const env = { ...process.env };
  delete env.SIROCCO_RUN_DEFAULTS;
  const t0 = performance.now();
  const c = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  c.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  const code = await new Promise<number | null>((r) => c.on("close", r));
  const processWallMs = performance.now() - t0;
  await fsp.rm(outDir, { recursive: true, force: true });
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || !line) throw new Error(`${kind} ${job} failed (exit ${code}):\n${stdout}`);
  return { ...(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildReport), processWallMs };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const { files, bytes } = await corpus();
  const load = os.loadavg();
  console.log(`corpus: ${files.length} files, ${(bytes / 1e6).toFixed(0)} MB gzip (${MB} MB JSONL); ${os.availableParallelism()} cores, load average ${load.map((l) => l.toFixed(2)).join(" ")}`);
  const results: Record<string, unknown> = { corpusMb: MB, gzipMb: bytes / 1e6, loadAverageBefore: load, at: new Date().toISOString() };
  for (const job of ["dedupe", "countBy"]) {
    const rounds: Array<Record<Kind, Awaited<ReturnType<typeof child>>>> = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push({ loop: await child("loop", job), parallel: await child("parallel", job), duckdb: await child("duckdb", job), sirocco: await child("sirocco", job) });
    const median = (kind: Kind) => [...rounds].sort((a, b) => a[kind].processWallMs - b[kind].processWallMs)[Math.floor(ROUNDS / 2)]![kind];
    const loop = median("loop");
    const par = median("parallel");
    const duck = median("duckdb");
    const sir = median("sirocco");
    if (loop.extra.rowsOut !== sir.extra.rowsOut || duck.extra.rowsOut !== sir.extra.rowsOut || par.extra.rowsOut !== sir.extra.rowsOut) {
      throw new Error(`${job}: row counts differ: loop ${String(loop.extra.rowsOut)}, 2-thread loop ${String(par.extra.rowsOut)}, duckdb ${String(duck.extra.rowsOut)}, sirocco ${String(sir.extra.rowsOut)}`);
    }
    const line = {
      rowsIn: loop.extra.rowsIn,
      rowsOut: sir.extra.rowsOut,
      loopMs: loop.processWallMs,
      parallelLoopMs: par.processWallMs,
      duckdbMs: duck.processWallMs,
      siroccoMs: sir.processWallMs,
      speedupVsLoop: loop.processWallMs / sir.processWallMs,
      parallelLoopSpeedupVsLoop: loop.processWallMs / par.processWallMs,
      slowdownVsDuckdb: sir.processWallMs / duck.processWallMs,
      peakRssMb: { loop: loop.maxRssKb / 1024, parallelLoop: par.maxRssKb / 1024, duckdb: duck.maxRssKb / 1024, sirocco: sir.maxRssKb / 1024 },
      cpuMs: { loop: loop.userMs + loop.sysMs, parallelLoop: par.userMs + par.sysMs, duckdb: duck.userMs + duck.sysMs, sirocco: sir.userMs + sir.sysMs },
      sirocco: sir.extra,
      rounds: rounds.map((r) => ({ loopMs: r.loop.processWallMs, parallelLoopMs: r.parallel.processWallMs, duckdbMs: r.duckdb.processWallMs, siroccoMs: r.sirocco.processWallMs })),
    };
    results[job] = line;
    console.log(
      `${job}: ${String(line.rowsIn)} rows → ${String(line.rowsOut)}; median of ${ROUNDS} rounds, process wall time: loop ${s(loop.processWallMs)}, the loop on 2 threads by hand ${s(par.processWallMs)}, DuckDB(2) ${s(duck.processWallMs)}, sirocco threads(2) ${s(sir.processWallMs)} ` +
        `(CPU loop ${s(line.cpuMs.loop)}, 2-thread loop ${s(line.cpuMs.parallelLoop)}, DuckDB ${s(line.cpuMs.duckdb)}, sirocco ${s(line.cpuMs.sirocco)}) → sirocco ${line.speedupVsLoop.toFixed(2)}× the loop (target ≥ 1.5; the 2-thread loop: ${line.parallelLoopSpeedupVsLoop.toFixed(2)}×), ${line.slowdownVsDuckdb.toFixed(2)}× DuckDB's time (target ≤ 2); ` +
        `peak RSS MB loop ${line.peakRssMb.loop.toFixed(0)}, 2-thread loop ${line.peakRssMb.parallelLoop.toFixed(0)}, DuckDB ${line.peakRssMb.duckdb.toFixed(0)}, sirocco ${line.peakRssMb.sirocco.toFixed(0)}`,
    );
  }
  const small = await child("sirocco", "dedupe", ["--memory", BUDGET]);
  const budgetMb = Number.parseFloat(BUDGET) * (BUDGET.toUpperCase().endsWith("GB") ? 1000 : 1);
  results.boundedDedupe = { budget: BUDGET, inputToBudget: MB / budgetMb, wallMs: small.processWallMs, cpuMs: small.userMs + small.sysMs, peakRssMb: small.maxRssKb / 1024, extra: small.extra };
  console.log(
    `dedupe with --memory ${BUDGET} (input ${(MB / budgetMb).toFixed(0)}× the budget per task, 2 tasks at a time): ${s(small.processWallMs)}, peak RSS ${(small.maxRssKb / 1024).toFixed(0)} MB ` +
      `(= 2 × budget + ${(small.maxRssKb / 1024 - 2 * budgetMb).toFixed(0)} MB for Node, two worker threads, V8 heaps and Arrow/zstd buffers); spill files ${String(small.extra.spillFiles)}, sorted runs ${String(small.extra.sortedRuns)}`,
  );
  results.loadAverageAfter = os.loadavg();
  await fsp.mkdir(path.join(BENCH, "results"), { recursive: true });
  await fsp.writeFile(path.join(BENCH, "results", "shuffle.json"), `${JSON.stringify(results, null, 2)}\n`);
}

await main();
