/**
 * The "clean" job with sirocco. Run as its own process by bench/run.ts:
 *   node --import tsx bench/clean-job.ts <inDir> <outDir> <inline|threads|redis> <workers>
 * (redis: run through `sirocco run … --redis URL --autoscale local`, which supplies the rest).
 * Worker threads re-import this file (process.argv[1]) with the same argv and rebuild the
 * same plan, so everything before `run()` must be cheap, deterministic and side-effect free.
 */
import { Dataset, run } from "sirocco";
import { cleanDoc, keepDoc, report, startMeasure, type Doc } from "./common.js";

const [inDir, outDir, executor = "inline", workersArg = "2"] = process.argv.slice(2);
if (!inDir || !outDir || (executor !== "inline" && executor !== "threads" && executor !== "redis")) {
  console.error("usage: clean-job.ts <inDir> <outDir> <inline|threads|redis> <workers>");
  process.exit(2);
}
const workers = Number(workersArg);

const sink = Dataset.fromFiles(inDir, "*.jsonl.gz")
  .loadJsonl<Doc>()
  .map(cleanDoc)
  .filter(keepDoc)
  .writeJsonl(`${outDir}/{basename}.jsonl.gz`);

const start = startMeasure();
const result = await run(sink, { executor, workers, progress: "none" });
const stage = result.stats.stages[0]!;
report(executor === "inline" ? "sirocco-inline" : `sirocco-${executor}-${workers}`, start, {
  rowsIn: stage.rowsIn,
  rowsOut: stage.rowsOut,
  files: result.outputs.length,
  engineWallMs: result.stats.wallMs,
});
