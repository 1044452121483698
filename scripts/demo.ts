/**
 * `npm run demo`: makes a demo corpus if there is none, then runs two jobs through the CLI,
 * as a user would, on the default executor (a thread pool, local files):
 *
 *   node bin/sirocco.mjs run examples/clean-directory.ts data/demo/in data/demo/out --workers 2
 *   node bin/sirocco.mjs run examples/dedupe-and-count.ts data/demo/out data/demo/dedup --workers 2
 *
 * The first cleans every file of a directory (a narrow, one-stage job); the second drops
 * duplicate texts and counts documents per domain (two shuffles).
 *
 * The corpus (data/demo/in, gitignored) is 8 JSONL.gz files, about 20 MB uncompressed, from
 * `makeCorpus` with seed 1 and 10% exact duplicate texts; it is made again when a file is
 * missing. data/demo/out and data/demo/dedup are cleared first so the demo always does the work.
 *
 * `tsx scripts/demo.ts --data-only` only makes sure the corpus exists; the `example:*` npm
 * scripts run it first, so they work from a fresh clone too.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeCorpus } from "./make-corpus.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const inDir = path.join(root, "data/demo/in");
const outDir = path.join(root, "data/demo/out");
const dedupDir = path.join(root, "data/demo/dedup");
const FILES = 8;
const MEGABYTES = 20;

/** makeCorpus names its files part-0000… and renames each into place when complete. */
function corpusComplete(): boolean {
  for (let f = 0; f < FILES; f++) {
    if (!fs.existsSync(path.join(inDir, `part-${String(f).padStart(4, "0")}.jsonl.gz`))) return false;
  }
  return true;
}

if (corpusComplete()) {
  console.log(`demo corpus: ${path.relative(root, inDir)} (${FILES} files, already there)`);
} else {
  console.log(`demo corpus: writing ${FILES} files, ~${MEGABYTES} MB of JSONL before gzip, to ${path.relative(root, inDir)} …`);
  const started = Date.now();
  fs.rmSync(inDir, { recursive: true, force: true });
  const paths = await makeCorpus({ outDir: inDir, megabytes: MEGABYTES, files: FILES, seed: 1, duplicateFraction: 0.1 });
  const bytes = paths.reduce((sum, p) => sum + fs.statSync(p).size, 0);
  console.log(`demo corpus: done, ${(bytes / 1e6).toFixed(1)} MB gzipped, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (!process.argv.includes("--data-only")) {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.rmSync(dedupDir, { recursive: true, force: true });
  const jobs = [
    ["bin/sirocco.mjs", "run", "examples/clean-directory.ts", "data/demo/in", "data/demo/out", "--workers", "2"],
    ["bin/sirocco.mjs", "run", "examples/dedupe-and-count.ts", "data/demo/out", "data/demo/dedup", "--workers", "2"],
  ];
  for (const args of jobs) {
    console.log(`\n$ node ${args.join(" ")}\n`);
    const child = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
    if (child.error) throw child.error;
    if (child.status !== 0) {
      process.exitCode = child.status ?? 1;
      break;
    }
  }
}
