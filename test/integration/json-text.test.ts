/**
 * Rows that are still exactly their input JSON text move through the shuffle as that text and
 * are written by writeJsonl byte for byte; any step that may change rows drops the text (the
 * row is then written as `JSON.stringify`). Input lines are deliberately not in
 * `JSON.stringify` form (spaces, `1.0`, `1e2`, `\u00e9` escapes, trailing spaces, `\r\n`), so
 * each assertion on exact output bytes tells the two apart. Every case runs on every executor
 * through the real CLI; outputs must be identical across executors and memory budgets.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { EXECUTORS, type TestExecutor } from "../support/executors.js";
import { readTree, tempDir } from "../support/files.js";
import { ROOT, runFixture } from "../support/fixture-runner.js";

const SCRIPT = path.join(ROOT, "test/fixtures/json-text-pipelines.ts");

interface Doc {
  id: number;
  text: string;
  [k: string]: unknown;
}

/** Input files in shard order (file name order): raw text of each, as written to disk. */
const SMALL: Array<[string, string]> = [
  [
    "a.jsonl",
    [
      '{ "id": 1,  "text": "a" }',
      '{"id":2,"text":"caf\\u00e9","score":1.0}   ',
      '{"id": 3, "text": "中文", "n": 1e2}\r',
      "",
      '{"text":"a","id":4}',
      '{ "id": 5, "text": "emoji 🎉", "nested": { "x" : [1, 2.50] } }',
      '{"id":6,"text":"café"}',
      '  {"id":7,"text":"\\ud83c\\udf89 party"}',
    ].join("\n") + "\n",
  ],
  [
    "b.jsonl.gz",
    [
      '{"id": 8, "text": "中文"}',
      '{ "id": 9, "text": "new" , "keep": true }  ',
      '{"id":10,"text":"emoji 🎉"}\r',
      '{"id": 11, "text": "b\\tc", "n": -0.0, "big": 12345678901234567890}',
      '{"id":12,"text":"🎉 party","e":"\\u00e9\\u4e2d"}',
    ].join("\n"), // no final newline
  ],
];

/** The non-blank lines of a file's text as loadJsonl reads them (a `\r` before `\n` dropped). */
function linesOf(text: string): string[] {
  return text
    .split("\n")
    .map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l))
    .filter((l) => l.trim().length > 0);
}

/** `\uXXXX` for every non-ASCII UTF-16 unit (emoji become surrogate-pair escapes). */
const escapeNonAscii = (s: string) => s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** A generated file of `n` lines in five JSON spellings, texts repeating across lines and files. */
function bigFile(seed: number, n: number): string {
  const out: string[] = [];
  for (let j = 0; j < n; j++) {
    const id = seed * 100_000 + j;
    const k = (j * 7919 + seed * 31) % 2600;
    const t = `doc ${k} ${"é中🎉 lorem ipsum ".repeat(1 + (k % 9))}`;
    switch (j % 5) {
      case 0:
        out.push(`{ "id": ${id},  "text": ${JSON.stringify(t)} }`);
        break;
      case 1:
        out.push(`{"text":"${escapeNonAscii(t)}","id":${id}.0}`);
        break;
      case 2:
        out.push(`{"id":${id},"text":${JSON.stringify(t)},"x":1e2}   `);
        break;
      case 3:
        out.push(`{"id": ${id}, "text": ${JSON.stringify(t)}}\r`);
        break;
      default:
        out.push(JSON.stringify({ id, text: t, r: [1.5, null, { k }] }));
    }
  }
  return out.join("\n") + "\n";
}

const BIG: Array<[string, string]> = [...SMALL, ["c1.jsonl.gz", bigFile(1, 4000)], ["c2.jsonl", bigFile(2, 4000)], ["c3.jsonl.gz", bigFile(3, 3000)]];

function writeCorpus(files: Array<[string, string]>): string {
  const dir = tempDir("sirocco-json-text-in-");
  for (const [name, text] of files) fs.writeFileSync(path.join(dir, name), name.endsWith(".gz") ? zlib.gzipSync(text) : text);
  return dir;
}

let smallDir: string;
let bigDir: string;
beforeAll(() => {
  smallDir = writeCorpus(SMALL);
  bigDir = writeCorpus(BIG);
});

type Run = Awaited<ReturnType<typeof runFixture>>;

async function runCase(kase: string, executor: TestExecutor, o: { inDir?: string; extra?: string; flags?: string[] } = {}): Promise<{ run: Run; tree: Map<string, string> }> {
  const outDir = tempDir(`sirocco-json-text-out-${executor}-`);
  const run = await runFixture(kase, { script: SCRIPT, inDir: o.inDir ?? smallDir, outDir, executor, ...(o.extra ? { extra: o.extra } : {}), ...(o.flags ? { flags: o.flags } : {}) });
  expect(run.code, `${kase} on ${executor} exited ${run.code}: ${run.stderr}`).toBe(0);
  return { run, tree: await readTree(outDir) };
}

/** Runs a case on every executor; asserts identical outputs (files and collected rows); returns the first run. */
async function onEveryExecutor(kase: string, o: { inDir?: string; extra?: string; flags?: string[] } = {}): Promise<{ run: Run; tree: Map<string, string> }> {
  const runs = [];
  for (const executor of EXECUTORS) runs.push(await runCase(kase, executor, o));
  for (const r of runs.slice(1)) {
    expect(r.tree, `${kase}: output files differ between executors`).toEqual(runs[0]!.tree);
    expect(r.run.result!.rows, `${kase}: collected rows differ between executors`).toEqual(runs[0]!.run.result!.rows);
  }
  return runs[0]!;
}

/** Each input file's lines, in shard order. */
const smallLines = () => SMALL.map(([, t]) => linesOf(t));

/** One output file per input shard, named as the fixture names them. */
function perShard(contents: string[]): Map<string, string> {
  const n = String(contents.length).padStart(5, "0");
  return new Map(contents.map((c, i) => [`part-${String(i).padStart(5, "0")}-of-${n}.jsonl`, c]));
}

const joinLines = (lines: string[]) => lines.map((l) => `${l}\n`).join("");

/** The first line (in input order) of each distinct key. */
function firstPerKey(lines: string[], key: (d: Doc) => unknown): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const l of lines) {
    const k = JSON.stringify(key(JSON.parse(l) as Doc));
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(l);
  }
  return out;
}

/** Every line of every output file (file order, then line order). */
const outputLines = (tree: Map<string, string>) => [...tree.values()].flatMap((t) => t.split("\n").filter((l) => l.length > 0));
const sorted = (xs: string[]) => [...xs].sort();
const viaJson = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe("rows that are still their input text are written byte for byte", () => {
  it("loadJsonl → filter → writeJsonl writes the kept lines as they were (CR dropped)", async () => {
    const want = smallLines().map((ls) => joinLines(ls.filter((l) => (JSON.parse(l) as Doc).id % 3 !== 0)));
    expect(want.join("")).toContain("1.0}   \n"); // the test input really is not in JSON.stringify form
    expect((await onEveryExecutor("filter")).tree).toEqual(perShard(want));
  });

  it("loadJsonl → take → writeJsonl writes each shard's first lines as they were", async () => {
    const want = smallLines().map((ls) => joinLines(ls.slice(0, 3)));
    expect((await onEveryExecutor("take")).tree).toEqual(perShard(want));
  });
});

describe("a step that may change rows drops the text: rows are written as JSON.stringify", () => {
  it("map(x => x) and a map that mutates and returns the same row", async () => {
    const parsed = () => smallLines().map((ls) => ls.map((l) => JSON.parse(l) as Doc));
    const identity = parsed().map((ds) => joinLines(ds.map((d) => JSON.stringify(d))));
    expect(identity.join("")).not.toEqual(joinLines(smallLines().flat()));
    expect((await onEveryExecutor("mapIdentity")).tree).toEqual(perShard(identity));
    const mutated = parsed().map((ds) => joinLines(ds.map((d) => JSON.stringify({ ...d, seen: true }))));
    expect((await onEveryExecutor("mapMutate")).tree).toEqual(perShard(mutated));
  });

  it("filter then a mutating map writes the mutated rows", async () => {
    const want = smallLines().map((ls) =>
      joinLines(
        ls
          .map((l) => JSON.parse(l) as Doc)
          .filter((d) => d.id % 2 === 0)
          .map((d) => JSON.stringify({ ...d, id: d.id * 10 })),
      ),
    );
    expect((await onEveryExecutor("filterThenMap")).tree).toEqual(perShard(want));
  });
});

describe("dedupe and reshard move the text through the shuffle", () => {
  it("dedupe(d => d.text) → writeJsonl writes the first line of each text verbatim, identically on every executor", async () => {
    const lines = smallLines().flat();
    const want = firstPerKey(lines, (d) => d.text);
    expect(want.length).toBeLessThan(lines.length); // "a", "café", "中文", "emoji 🎉" repeat
    const { tree, run } = await onEveryExecutor("dedupe");
    expect(run.result!.stats.stages.map((s) => s.label)).toEqual(["fromFiles → loadJsonl → shuffle(dedupe)", "dedupe → writeJsonl"]);
    expect(sorted(outputLines(tree))).toEqual(sorted(want));
    // Gzip output: the reducer's text bytes go through the compressing writer unchanged.
    const gz = (await onEveryExecutor("dedupe", { extra: "gz" })).tree;
    expect([...gz.keys()].every((k) => k.endsWith(".jsonl.gz"))).toBe(true);
    expect([...gz.values()]).toEqual([...tree.values()]);
    // The whole row as the key: every line is distinct, and "café" spelled two ways is two rows.
    expect(sorted(outputLines((await onEveryExecutor("dedupeRow")).tree))).toEqual(sorted(firstPerKey(lines, (d) => d)));
  });

  it("dedupe keeps the same first lines when map tasks spill and reducers merge sorted runs", async () => {
    const lines = BIG.flatMap(([, t]) => linesOf(t));
    const want = sorted(firstPerKey(lines, (d) => d.text));
    expect(want.length).toBeLessThan(lines.length * 0.4);
    const reference = await onEveryExecutor("dedupe", { inDir: bigDir });
    expect(sorted(outputLines(reference.tree))).toEqual(want);
    for (const executor of EXECUTORS) {
      const spilled = await runCase("dedupe", executor, { inDir: bigDir, flags: ["--memory", "600KB"] });
      const st = spilled.run.result!.stats.stages;
      expect(st[0]!.spillFiles, `${executor}: map tasks flushed more than once each`).toBeGreaterThan(BIG.length);
      expect(st[1]!.sortedRuns, `${executor}: reducers used the external merge`).toBeGreaterThan(0);
      expect(spilled.tree, `${executor}: spilled output differs`).toEqual(reference.tree);
    }
  });

  it("dedupe → filter → writeJsonl keeps the text; dedupe → map and dedupe → collect give the parsed rows", async () => {
    const lines = smallLines().flat();
    const firsts = firstPerKey(lines, (d) => d.text);
    const kept = (await onEveryExecutor("dedupeFilter")).tree;
    expect(sorted(outputLines(kept))).toEqual(sorted(firsts.filter((l) => (JSON.parse(l) as Doc).id % 2 === 1)));

    const byId = (a: Doc, b: Doc) => a.id - b.id;
    // Written by JSON.stringify of the parsed row, not as the input text.
    const mapped = outputLines((await onEveryExecutor("dedupeMap")).tree);
    expect(sorted(mapped)).toEqual(sorted(firsts.map((l) => JSON.stringify({ ...(JSON.parse(l) as Doc), mapped: 1 }))));

    // Collected rows reach the test as RESULT JSON (so -0 arrives as 0): compare through JSON too.
    const collected = (await onEveryExecutor("dedupeCollect")).run.result!.rows as Doc[];
    expect([...collected].sort(byId)).toEqual(viaJson(firsts.map((l) => JSON.parse(l) as Doc)).sort(byId));
  });

  it("reshard(3) → writeJsonl keeps every line verbatim, each shard in input order", async () => {
    const lines = smallLines();
    const { tree } = await onEveryExecutor("reshard");
    expect(tree.size).toBe(3);
    // Row i of input shard s goes to shard (s + i) mod 3; each output shard keeps input order.
    const want: string[][] = [[], [], []];
    lines.forEach((ls, s) => ls.forEach((l, i) => want[(s + i) % 3]!.push(l)));
    expect(tree).toEqual(perShard(want.map(joinLines)));
  });

  it("rows that are not JSON (a Date, a bigint) still round-trip exactly through dedupe → collect", async () => {
    const firsts = firstPerKey(smallLines().flat(), (d) => d.text).map((l) => JSON.parse(l) as Doc);
    const rows = (await onEveryExecutor("dedupeDates")).run.result!.rows as Doc[];
    const want = firsts.map((d) => ({ ...d, when: { date: d.id * 1000 }, big: { bigint: (BigInt(d.id) * 10n ** 20n).toString() } }));
    expect([...rows].sort((a, b) => a.id - b.id)).toEqual(viaJson(want).sort((a, b) => a.id - b.id));
  });
});
