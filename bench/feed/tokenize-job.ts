/**
 * The sirocco side of the feed benchmark: tokenize every .jsonl.gz file into a token cache.
 * `sirocco run bench/feed/tokenize-job.ts <inDir> <cacheDir> --workers 2`; prints one JSON line.
 */
import { Dataset, run } from "sirocco";

const [inDir, cacheDir] = process.argv.slice(2) as [string, string];
const t0 = performance.now();
const cpu0 = process.cpuUsage(); // all threads of the process
const r = await run(Dataset.fromFiles(inDir, "*.jsonl.gz").loadJsonl<{ text: string }>().tokenize({ encoding: "cl100k_base" }).writeTokenCache(cacheDir));
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, runWallMs: r.stats.wallMs, docs: r.stats.stages[0]!.rowsOut }));
