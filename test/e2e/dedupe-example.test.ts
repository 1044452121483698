/**
 * examples/dedupe-and-count.ts run as a user would, through the CLI: the unique documents and
 * per-domain counts are checked against results computed here, and outputs are identical for
 * 1 and 2 workers and with a budget small enough to spill.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCorpus, type CorpusDoc } from "../../scripts/make-corpus.js";
import { listFiles, readJsonl, readText } from "../support/read-output.js";
import { describeRun, runSirocco } from "../support/spawn.js";
import { tempDir } from "../support/files.js";

let root: string;
let inDir: string;
let docs: CorpusDoc[];

beforeAll(async () => {
  root = tempDir("sirocco-dedupe-example-");
  inDir = path.join(root, "in");
  const files = await makeCorpus({ outDir: inDir, megabytes: 1, files: 3, seed: 5, gzipLevel: 1, duplicateFraction: 0.3 });
  docs = files.flatMap((f) => readJsonl<CorpusDoc>(f));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("examples/dedupe-and-count.ts", () => {
  it("keeps the first document of each normalized text and counts them per domain, identically for 1 or 2 workers and when spilling", async () => {
    const norm = (s: string) => s.replace(/\s+/g, " ").trim();
    const firsts = new Map<string, CorpusDoc>();
    for (const d of docs) if (!firsts.has(norm(d.text))) firsts.set(norm(d.text), { ...d, text: norm(d.text) });
    expect(firsts.size).toBeLessThan(docs.length * 0.8);
    const counts = new Map<string, number>();
    for (const d of firsts.values()) counts.set(d.domain, (counts.get(d.domain) ?? 0) + 1);

    const trees: string[][] = [];
    for (const flags of [["--workers", "1"], ["--workers", "2"], ["--workers", "2", "--memory", "400KB"]]) {
      const outDir = path.join(root, `out-${trees.length}`);
      const r = await runSirocco(["run", "examples/dedupe-and-count.ts", inDir, outDir, "--progress", "none", ...flags]);
      expect(r.code, describeRun(r)).toBe(0);
      const files = listFiles(outDir);
      expect(files).toHaveLength(3);
      const rows = files.flatMap((f) => readJsonl<CorpusDoc>(f));
      expect(rows.sort((a, b) => a.id - b.id)).toEqual([...firsts.values()].sort((a, b) => a.id - b.id));
      expect(r.stdout).toContain(`unique:     ${firsts.size}`);
      // Printed once: worker threads that re-import the script for the second run() replay the
      // first one silently (its report already came from the driver).
      expect(r.stdout.split("\n").filter((l) => l.startsWith("dedupe-and-count:"))).toHaveLength(1);
      for (const [domain, n] of counts) expect(r.stdout).toMatch(new RegExp(`^\\s+${domain.replace(/\./g, "\\.")}\\s+${n}$`, "m"));
      if (flags.includes("--memory")) expect(r.stdout).toMatch(/spilled:\s+\d+ spill files, [1-9]\d* sorted runs/);
      trees.push(files.map(readText));
    }
    expect(trees[1]).toEqual(trees[0]);
    expect(trees[2]).toEqual(trees[0]);
  });
});
