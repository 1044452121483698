/**
 * Map a function over every file of a directory with `mapFiles`: convert each `.jsonl.gz`
 * to `.jsonl.zst` under outDir, keeping relative paths (`rename` changes the extension).
 * Your function reads `inputPath` and writes `outputPath`; sirocco moves the output into
 * place only when the function resolves, and skips files already done, so an interrupted run
 * resumes.
 *
 *   sirocco run examples/gzip-to-zstd.ts [inDir] [outDir] [--workers N]
 *   npx tsx examples/gzip-to-zstd.ts [inDir] [outDir]
 *
 * Defaults: data/demo/in → data/demo/zstd.
 */
import fsp from "node:fs/promises";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { compress } from "@mongodb-js/zstd";
import { context, Dataset, run } from "sirocco";

const level = 3;
const gunzip = promisify(zlib.gunzip);

const [inDir = "data/demo/in", outDir = "data/demo/zstd"] = process.argv.slice(2);

const job = Dataset.fromFiles(inDir, "**/*.jsonl.gz").mapFiles(
  async (inputPath, outputPath) => {
    const gz = await fsp.readFile(inputPath);
    const zst = await compress(await gunzip(gz), level);
    await fsp.writeFile(outputPath, zst);
    context().counters.inc("bytes_before", gz.length);
    context().counters.inc("bytes_after", zst.length);
  },
  { outputDir: outDir, rename: (rel) => rel.replace(/\.gz$/, ".zst") },
);

const { outputs, counters, stats } = await run(job);

const skipped = stats.stages[0]?.skippedShards ?? 0;
const mb = (n = 0) => (n / 1e6).toFixed(2);
console.log(`gzip-to-zstd: ${inDir} → ${outDir} (zstd level ${level}) on ${stats.executor}(${stats.workers})`);
console.log(`  files: ${outputs.length} (${outputs.length - skipped} written, ${skipped} skipped as already done)`);
if (counters.bytes_before) console.log(`  size of the files written: ${mb(counters.bytes_before)} MB gzip → ${mb(counters.bytes_after)} MB zstd`);
