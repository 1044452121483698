/**
 * Map a function over every file of a directory with `mapFiles`: re-compress each
 * `.jsonl.gz` at gzip's best level into outDir, keeping relative paths. Your function reads
 * `inputPath` and writes `outputPath`; sirocco moves the output into place only when the
 * function resolves, and skips files already done, so an interrupted run resumes.
 *
 *   sirocco run examples/recompress.ts [inDir] [outDir] [--workers N]
 *   npx tsx examples/recompress.ts [inDir] [outDir]
 *
 * Defaults: data/demo/in → data/demo/recompressed.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { context, Dataset, run } from "sirocco";

const level = 9;

const [inDir = "data/demo/in", outDir = "data/demo/recompressed"] = process.argv.slice(2);

const job = Dataset.fromFiles(inDir, "**/*.jsonl.gz").mapFiles(
  async (inputPath, outputPath) => {
    await pipeline(fs.createReadStream(inputPath), zlib.createGunzip(), zlib.createGzip({ level }), fs.createWriteStream(outputPath));
    context().counters.inc("bytes_before", (await fsp.stat(inputPath)).size);
    context().counters.inc("bytes_after", (await fsp.stat(outputPath)).size);
  },
  { outputDir: outDir },
);

const { outputs, counters, stats } = await run(job);

const skipped = stats.stages[0]?.skippedShards ?? 0;
const mb = (n = 0) => (n / 1e6).toFixed(2);
console.log(`recompress: ${inDir} → ${outDir} (gzip level ${level}) on ${stats.executor}(${stats.workers})`);
console.log(`  files: ${outputs.length} (${outputs.length - skipped} written, ${skipped} skipped as already done)`);
if (counters.bytes_before) console.log(`  size of the files written: ${mb(counters.bytes_before)} MB → ${mb(counters.bytes_after)} MB`);
