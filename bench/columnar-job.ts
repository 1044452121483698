/**
 * The columnar conversions with sirocco. Run as its own process by bench/columnar.ts:
 *   node bin/sirocco.mjs run bench/columnar-job.ts <jsonl|parquet> <inDir> <outDir> <workers> [zstd|snappy]
 * jsonl: every *.jsonl.gz file → one Parquet file (zstd). parquet: every *.parquet file →
 * Parquet with the projection id, domain, text pushed into the reader.
 */
import { Dataset, run } from "sirocco";
import { report, startMeasure } from "./common.js";

const [mode, inDir, outDir, workersArg = "2", codec = "zstd"] = process.argv.slice(2);
if ((mode !== "jsonl" && mode !== "parquet") || !inDir || !outDir) {
  console.error("usage: columnar-job.ts <jsonl|parquet> <inDir> <outDir> <workers>");
  process.exit(2);
}
const workers = Number(workersArg);

const sink =
  mode === "jsonl"
    ? Dataset.fromFiles(inDir, "*.jsonl.gz").loadJsonl<Record<string, unknown>>().writeParquet(`${outDir}/{basename}.parquet`)
    : Dataset.fromFiles(inDir, "*.parquet").loadParquet({ columns: ["id", "domain", "text"] }).writeParquet(`${outDir}/part-{shard:05d}.parquet`, { compression: codec as "zstd" | "snappy" });

const start = startMeasure();
const result = await run(sink, { executor: "threads", workers, progress: "none" });
const stage = result.stats.stages[0]!;
report(`sirocco-threads-${workers}-${mode}-${codec}`, start, { rowsIn: stage.rowsIn, rowsOut: stage.rowsOut, files: result.outputs.length, bytesWritten: stage.bytesWritten });
