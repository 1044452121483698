/**
 * Exact dedupe on `text` and count-by-domain written by hand with 2 worker threads — what a
 * user who knows `node:worker_threads` would write to use both cores without an engine:
 * each thread takes every other file (gunzip stream → Buffer line split → JSON.parse) and
 * returns, per file, its map of counts, or its lines whose text is new within the file
 * (with the texts); the main thread merges them in file order (a global Set, first
 * occurrence kept, its line written as is). It shows how much of two cores this machine
 * gives to such work — the ceiling for any engine's threads(2).
 *
 * Usage: node --import tsx bench/shuffle-parallel-job.ts <dedupe|countBy> <inDir> <outDir>
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { report, startMeasure } from "./common.js";

const THREADS = 2;

/** What a thread returns for one file (see shuffle-parallel-worker.mjs, plain JavaScript: worker threads cannot load TypeScript through tsx on Node 20). */
type FileResult = { file: number; rows: number; counts?: Map<string, number>; texts?: string[]; lines?: string[] };

{
  const [job, inDir, outDir] = process.argv.slice(2) as [string, string, string];
  const start = startMeasure();
  const files = (await fsp.readdir(inDir)).filter((n) => n.endsWith(".jsonl.gz")).sort().map((n) => path.join(inDir, n));
  await fsp.mkdir(outDir, { recursive: true });
  const perThread = await Promise.all(
    Array.from({ length: THREADS }, (_, t) =>
      new Promise<FileResult[]>((resolve, reject) => {
        const w = new Worker(new URL("./shuffle-parallel-worker.mjs", import.meta.url), { workerData: { job, files: files.map((f, i) => [f, i] as const).filter(([, i]) => i % THREADS === t) }, execArgv: [] });
        w.once("message", resolve);
        w.once("error", reject);
      }),
    ),
  );
  const results = perThread.flat().sort((a, b) => a.file - b.file);
  const rowsIn = results.reduce((a, r) => a + r.rows, 0);
  let rowsOut = 0;
  if (job === "countBy") {
    const counts = new Map<string, number>();
    for (const r of results) for (const [k, v] of r.counts!) counts.set(k, (counts.get(k) ?? 0) + v);
    rowsOut = counts.size;
  } else {
    const seen = new Set<string>();
    const out = fs.createWriteStream(path.join(outDir, "deduped.jsonl"), { highWaterMark: 1 << 20 });
    for (const r of results) {
      let text = "";
      for (let i = 0; i < r.texts!.length; i++) {
        if (seen.has(r.texts![i]!)) continue;
        seen.add(r.texts![i]!);
        rowsOut++;
        text += r.lines![i]!;
        text += "\n";
      }
      if (!out.write(text)) await new Promise<void>((res) => out.once("drain", () => res()));
    }
    await new Promise<void>((res) => out.end(res));
  }
  report(`parallel-${job}`, start, { rowsIn, rowsOut });
}
