/**
 * A small generated corpus in a fresh temporary folder, for tests that run pipelines on
 * real files. Same generator as `npm run demo` (scripts/make-corpus.ts), so about 15% of
 * documents are shorter than 200 characters and all have messy whitespace.
 *
 * @example
 * const corpus = await makeTempCorpus({ megabytes: 1.5, files: 3 });
 * afterAll(() => corpus.remove());
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeCorpus } from "../../scripts/make-corpus.js";

export interface TempCorpus {
  /** The temporary folder; put outputs under it so `remove()` cleans them too. */
  root: string;
  /** The folder holding the corpus files (`<root>/in`). */
  inDir: string;
  /** The corpus files, sorted (the order of `Dataset.fromFiles` shards). */
  files: string[];
  remove(): void;
}

export async function makeTempCorpus(o: { megabytes?: number; files?: number; seed?: number } = {}): Promise<TempCorpus> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "sirocco-test-"));
  const inDir = path.join(root, "in");
  const files = await makeCorpus({ outDir: inDir, megabytes: o.megabytes ?? 1.5, files: o.files ?? 3, seed: o.seed ?? 7 });
  return { root, inDir, files: [...files].sort(), remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
