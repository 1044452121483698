/**
 * Wide steps: drop exact duplicate texts (keeping the first document in input order), write
 * the survivors, then count the survivors per domain.
 *
 *   sirocco run examples/dedupe-and-count.ts [inDir] [outDir] [--workers N] [--memory 64MB]
 *
 * Defaults: data/demo/in → data/demo/dedup (`npm run example:dedupe` makes the corpus). The
 * output is identical for any number of workers and any memory budget (a small one makes
 * the shuffle spill to the scratch folder and merge from disk).
 */
import { Dataset, run } from "sirocco";

interface Doc {
  id: number;
  url: string;
  domain: string;
  category: string;
  text: string;
}

const [inDir = "data/demo/in", outDir = "data/demo/dedup"] = process.argv.slice(2);

const docs = Dataset.fromFiles(inDir, "**/*.jsonl.gz")
  .loadJsonl<Doc>()
  .map((d) => ({ ...d, text: d.text.replace(/\s+/g, " ").trim() }));

const unique = docs.dedupe((d) => d.text);

const written = await run(unique.writeJsonl(`${outDir}/part-{shard:05d}-of-{total:05d}.jsonl.gz`));
const [map, reduce] = written.stats.stages;
console.log(`dedupe-and-count: ${inDir} → ${outDir} on ${written.stats.executor}(${written.stats.workers})`);
console.log(`  rows in:    ${map?.rowsIn ?? 0}`);
console.log(`  unique:     ${reduce?.rowsOut ?? 0}`);
console.log(`  spilled:    ${map?.spillFiles ?? 0} spill files, ${reduce?.sortedRuns ?? 0} sorted runs`);

const perDomain = await run(unique.countBy((d) => d.domain, { numShards: 1 }));
for (const { key, count } of perDomain.rows ?? []) console.log(`  ${String(key).padEnd(24)} ${count}`);
