/**
 * Word count without a shuffle: each shard counts its own words in a Map (one streaming
 * pass, fused with the load), yields its partial counts as one row, and the driver merges
 * the per-shard partials. (With groupBy / countBy this becomes a one-liner.)
 *
 *   npx tsx examples/word-count.ts [inDir] [--top 20]
 *   sirocco run examples/word-count.ts [inDir] [--workers N]
 *
 * Words are lower-cased runs of letters, apostrophes inside allowed ("don't"). Output is
 * deterministic: ties in count are broken by the word.
 */
import { Dataset } from "sirocco";

const args = process.argv.slice(2);
const inDir = args[0] && !args[0].startsWith("-") ? args[0] : "data/demo/in";
const topIndex = args.indexOf("--top");
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 20;

const WORD = /\p{L}+(?:'\p{L}+)*/gu;

const partials = await Dataset.fromFiles(inDir, "**/*.jsonl.gz")
  .loadJsonl<{ text: string }>()
  .mapShard(async function* (docs) {
    const counts = new Map<string, number>();
    for await (const d of docs) {
      for (const w of d.text.toLowerCase().match(WORD) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    yield [...counts]; // one row per shard: its [word, count] pairs
  })
  .collect();

const totals = new Map<string, number>();
for (const shard of partials) for (const [w, n] of shard) totals.set(w, (totals.get(w) ?? 0) + n);

const ranked = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
const total = ranked.reduce((sum, [, n]) => sum + n, 0);

console.log(`word-count: ${inDir}, ${partials.length} shards`);
ranked.slice(0, top).forEach(([w, n], i) => console.log(`${String(i + 1).padStart(4)}  ${w.padEnd(16)} ${n}`));
console.log(`total: ${total} words, ${ranked.length} distinct`);
