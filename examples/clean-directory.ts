/**
 * Map over a directory: clean every document of a JSONL.gz corpus and write the survivors
 * as numbered parts.
 *
 *   sirocco run examples/clean-directory.ts [inDir] [outDir] [--executor inline|threads] [--workers N]
 *   npx tsx examples/clean-directory.ts [inDir] [outDir]
 *
 * Defaults: data/demo/in → data/demo/out (`npm run demo` makes the corpus). Whitespace in
 * `text` is normalized, documents shorter than `minChars` afterwards are dropped and counted
 * as `too_short`, and each input file becomes `out/part-{shard:05d}-of-{total:05d}.jsonl.gz`.
 */
import { context, Dataset, run } from "sirocco";

interface Doc {
  id: number;
  url: string;
  domain: string;
  category: string;
  text: string;
}

// A module-level value the filter closes over: worker threads see it because they re-import
// this script to rebuild the pipeline.
const minChars = 200;

const [inDir = "data/demo/in", outDir = "data/demo/out"] = process.argv.slice(2);

const cleaned = Dataset.fromFiles(inDir, "**/*.jsonl.gz")
  .loadJsonl<Doc>()
  .map((d) => ({ ...d, text: d.text.replace(/\s+/g, " ").trim() }))
  .filter((d) => {
    if (d.text.length >= minChars) return true;
    context().counters.inc("too_short");
    return false;
  })
  .writeJsonl(`${outDir}/part-{shard:05d}-of-{total:05d}.jsonl.gz`);

const { outputs, counters, stats } = await run(cleaned);

const stage = stats.stages[0];
console.log(`clean-directory: ${inDir} → ${outDir} on ${stats.executor}(${stats.workers})`);
console.log(`  rows in:  ${stage?.rowsIn ?? 0}`);
console.log(`  rows out: ${stage?.rowsOut ?? 0}`);
console.log(`  counters: ${JSON.stringify(counters)}`);
console.log(`  outputs:  ${outputs.length} files${outputs.length ? ` (${outputs[0]} … ${outputs[outputs.length - 1]})` : ""}`);
