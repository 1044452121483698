/**
 * The examples, run as a user would (through the CLI and as plain scripts) on a small
 * generated corpus; their outputs are checked against results computed here, independently.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listFiles, readJsonl, readText } from "../support/read-output.js";
import { describeRun, runSirocco, runTsx, type SpawnResult } from "../support/spawn.js";
import { makeTempCorpus, type TempCorpus } from "../support/temp-corpus.js";

interface Doc {
  id: number;
  text: string;
}

let corpus: TempCorpus;
/** The input files, sorted as `Dataset.fromFiles` lists them (one shard each). */
let inputFiles: string[];
/** Each input file's documents, in order (parsed independently of sirocco). */
let inputDocs: Doc[][];

/** A document whose text, after whitespace normalization, is exactly `length` characters. */
function docOfLength(id: number, length: number): Doc {
  return { id, text: `\t ${"x".repeat(length - 10)}  \n\n ${"é".repeat(9)}  ` };
}

beforeAll(async () => {
  corpus = await makeTempCorpus({ megabytes: 1.5, files: 3 });
  // The generated documents rarely land on the 200-character boundary; these do.
  const edges = [docOfLength(1_000_001, 199), docOfLength(1_000_002, 200), docOfLength(1_000_003, 201)];
  fs.writeFileSync(path.join(corpus.inDir, "edge-cases.jsonl.gz"), zlib.gzipSync(edges.map((d) => `${JSON.stringify(d)}\n`).join("")));
  inputFiles = listFiles(corpus.inDir);
  inputDocs = inputFiles.map((f) => readJsonl<Doc>(f));
});
afterAll(() => corpus?.remove());

/** The `  counters: {...}` / `  rows in: N` lines the examples print. */
function summaryField(stdout: string, name: string): string {
  const m = new RegExp(`^\\s*${name}:\\s*(.*)$`, "m").exec(stdout);
  if (!m) throw new Error(`no "${name}:" line in:\n${stdout}`);
  return m[1]!.trim();
}

describe("examples/clean-directory.ts", () => {
  const script = "examples/clean-directory.ts";
  const runs: Array<{ name: string; executor: RegExp; start(outDir: string): Promise<SpawnResult> }> = [
    { name: "sirocco run --executor inline", executor: /on inline\(1\)/, start: (out) => runSirocco(["run", script, "--executor", "inline", "--progress", "none", corpus.inDir, out]) }, // flags may come first
    { name: "sirocco run --executor threads --workers 2", executor: /on threads\(2\)/, start: (out) => runSirocco(["run", script, corpus.inDir, out, "--executor", "threads", "--workers", "2", "--progress", "none"]) },
    { name: "tsx examples/clean-directory.ts (no CLI, default options)", executor: /on threads\(\d+\)/, start: (out) => runTsx(script, [corpus.inDir, out]) },
  ];
  /** Decompressed output files of each run, by run name. */
  const written = new Map<string, string[]>();

  for (const r of runs) {
    it(`${r.name}: writes exactly the documents of >= 200 normalized chars and counts the others`, async () => {
      const outDir = path.join(corpus.root, `clean-${written.size}`);
      const result = await r.start(outDir);
      expect(result.code, describeRun(result)).toBe(0);

      // Computed here: per input file, the documents whose normalized text is long enough.
      const normalized = inputDocs.map((docs) => docs.map((d) => ({ ...d, text: d.text.replace(/\s+/g, " ").trim() })));
      const expected = normalized.map((docs) => docs.filter((d) => d.text.length >= 200).map((d) => `${JSON.stringify(d)}\n`).join(""));
      const rowsIn = inputDocs.reduce((a, docs) => a + docs.length, 0);
      const tooShort = normalized.reduce((a, docs) => a + docs.filter((d) => d.text.length < 200).length, 0);
      expect(tooShort).toBeGreaterThan(0); // the corpus has short documents, so the filter is exercised
      expect(expected[0]!.split("\n").map((l) => (l ? (JSON.parse(l) as Doc).id : undefined))).toEqual([1_000_002, 1_000_003, undefined]); // 200 and 201 kept, 199 dropped

      // One committed part per input file, nothing else (no leftover temporary files).
      const files = listFiles(outDir);
      expect(files.map((f) => path.basename(f))).toEqual(["part-00000-of-00004.jsonl.gz", "part-00001-of-00004.jsonl.gz", "part-00002-of-00004.jsonl.gz", "part-00003-of-00004.jsonl.gz"]);
      const contents = files.map(readText);
      contents.forEach((text, i) => expect(text === expected[i], `output ${i} differs from the expected cleaned documents`).toBe(true));

      expect(result.stdout).toMatch(r.executor);
      expect(JSON.parse(summaryField(result.stdout, "counters"))).toEqual({ too_short: tooShort });
      expect(Number(summaryField(result.stdout, "rows in"))).toBe(rowsIn);
      expect(Number(summaryField(result.stdout, "rows out"))).toBe(rowsIn - tooShort);
      expect(summaryField(result.stdout, "outputs")).toMatch(/^4 files/);
      written.set(r.name, contents);
    });
  }

  it("writes byte-identical outputs (after decompression) however it is run", () => {
    expect([...written.keys()]).toEqual(runs.map((r) => r.name));
    const [first, ...others] = [...written.values()];
    for (const other of others) expect(other).toEqual(first);
  });
});

describe("examples/word-count.ts", () => {
  const script = "examples/word-count.ts";

  /** The same definition of a word as the example's, counted here in one pass. */
  function independentCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const docs of inputDocs) {
      for (const d of docs) for (const w of d.text.toLowerCase().match(/\p{L}+(?:'\p{L}+)*/gu) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    return counts;
  }

  for (const r of [
    { name: "tsx examples/word-count.ts (threads, default options)", start: () => runTsx(script, [corpus.inDir]) },
    { name: "sirocco run --executor inline", start: () => runSirocco(["run", script, corpus.inDir, "--executor", "inline", "--progress", "none"]) },
  ]) {
    it(`${r.name}: prints the top 20 words and the totals of an independent count`, async () => {
      const result = await r.start();
      expect(result.code, describeRun(result)).toBe(0);

      const counts = independentCounts();
      const total = [...counts.values()].reduce((a, n) => a + n, 0);
      const expectedTop = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 20);

      const printedTop = [...result.stdout.matchAll(/^\s*(\d+)\s+(\S+)\s+(\d+)$/gm)].map((m) => [Number(m[1]), m[2], Number(m[3])]);
      expect(printedTop).toEqual(expectedTop.map(([w, n], i) => [i + 1, w, n]));
      expect(result.stdout).toContain(`total: ${total} words, ${counts.size} distinct`);
      expect(result.stdout).toContain(`word-count: ${corpus.inDir}, ${inputFiles.length} shards`);
    });
  }
});

describe("examples/gzip-to-zstd.ts (mapFiles with rename)", () => {
  it("converts every file to .zst at the same relative path with the same content, and skips finished files on a re-run", async () => {
    const script = "examples/gzip-to-zstd.ts";
    const outDir = path.join(corpus.root, "zstd");
    const args = ["run", script, corpus.inDir, outDir, "--workers", "2", "--progress", "none"];

    const first = await runSirocco(args);
    expect(first.code, describeRun(first)).toBe(0);
    expect(first.stdout).toContain("files: 4 (4 written, 0 skipped as already done)");
    const outputs = listFiles(outDir);
    expect(outputs.map((f) => path.relative(outDir, f))).toEqual(inputFiles.map((f) => path.relative(corpus.inDir, f).replace(/\.gz$/, ".zst")));
    for (const out of outputs) expect(fs.readFileSync(out).readUInt32LE(0), `${out} is not zstd`).toBe(0xfd2fb528);
    outputs.forEach((out, i) => {
      expect(readText(out) === readText(inputFiles[i]!), `${out} does not hold the content of ${inputFiles[i]}`).toBe(true);
    });

    // Lose one output; a re-run redoes only that one and leaves the others untouched.
    fs.rmSync(outputs[1]!);
    const mtimes = outputs.map((f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : undefined));
    const second = await runSirocco(args);
    expect(second.code, describeRun(second)).toBe(0);
    expect(second.stdout).toContain("files: 4 (1 written, 3 skipped as already done)");
    expect(listFiles(outDir)).toEqual(outputs);
    expect(readText(outputs[1]!) === readText(inputFiles[1]!)).toBe(true);
    expect(fs.statSync(outputs[0]!).mtimeMs).toBe(mtimes[0]);
    expect(fs.statSync(outputs[2]!).mtimeMs).toBe(mtimes[2]);
    expect(fs.statSync(outputs[3]!).mtimeMs).toBe(mtimes[3]);
  });
});
