/**
 * Exact dedupe on `text` and count-by-domain with sirocco. Run through the CLI by
 * bench/shuffle.ts: `sirocco run bench/shuffle-job.ts <dedupe|countBy> <inDir> <outDir> --executor threads --workers 2 [--memory M]`.
 */
import { Dataset, run } from "sirocco";
import { report, startMeasure, type Doc } from "./common.js";

const [job, inDir, outDir] = process.argv.slice(2) as [string, string, string];
const docs = Dataset.fromFiles(inDir, "*.jsonl.gz").loadJsonl<Doc>();
const start = startMeasure();
if (job === "dedupe") {
  const result = await run(docs.dedupe((d) => d.text).writeJsonl(`${outDir}/part-{shard:05d}.jsonl`), { progress: "none" });
  const [map, reduce] = result.stats.stages;
  report("sirocco-dedupe", start, { rowsIn: map!.rowsIn, rowsOut: reduce!.rowsOut, spillFiles: map!.spillFiles, sortedRuns: reduce!.sortedRuns, runMs: result.stats.wallMs, stageMs: result.stats.stages.map((s) => s.wallMs) });
} else {
  const result = await run(docs.countBy((d) => d.domain), { progress: "none" });
  report("sirocco-countBy", start, { rowsIn: result.stats.stages[0]!.rowsIn, rowsOut: result.rows!.length });
}
