/**
 * Every pipeline of test/fixtures/pipelines.ts on every executor (one loop), through the
 * real CLI. Each case checks results against an expectation computed here independently,
 * and that all executors produce identical outputs.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { compress as zstdCompress } from "@mongodb-js/zstd";
import { beforeAll, describe, expect, it } from "vitest";
import { makeCorpus, type CorpusDoc } from "../../scripts/make-corpus.js";
import { EXECUTORS } from "../support/executors.js";
import { jsonLines, readText, readTree, tempDir } from "../support/files.js";
import { runFixture } from "../support/fixture-runner.js";

type Doc = CorpusDoc;

let corpusDir: string;
let corpusFiles: string[];
let docsByFile: Doc[][];

beforeAll(async () => {
  corpusDir = tempDir("sirocco-corpus-");
  corpusFiles = await makeCorpus({ outDir: corpusDir, megabytes: 1.2, files: 4, seed: 7, gzipLevel: 1 });
  docsByFile = await Promise.all(corpusFiles.map(async (f) => jsonLines<Doc>(await readText(f))));
});

/** Runs a case on every executor; returns each executor's output tree, asserting they are identical. */
async function onEveryExecutor(
  kase: string,
  opts: { inDir?: string; extra?: string; expectCode?: number } = {},
): Promise<Array<{ executor: string; outDir: string; run: Awaited<ReturnType<typeof runFixture>>; tree: Map<string, string> }>> {
  const runs = [];
  for (const executor of EXECUTORS) {
    const outDir = tempDir(`sirocco-out-${executor}-`);
    const run = await runFixture(kase, { inDir: opts.inDir ?? corpusDir, outDir, extra: opts.extra, executor });
    expect(run.code, `${kase} on ${executor} exited ${run.code}: ${run.stderr}`).toBe(opts.expectCode ?? 0);
    runs.push({ executor, outDir, run, tree: await readTree(outDir) });
  }
  // A failed run stops scheduling; which other shards committed before it stopped depends
  // on the executor's concurrency, so only successful runs must match file for file.
  for (const r of (opts.expectCode ?? 0) === 0 ? runs.slice(1) : []) {
    expect([...r.tree.keys()], `${r.executor} wrote other files than ${runs[0]!.executor}`).toEqual([...runs[0]!.tree.keys()]);
    expect(r.tree, `${r.executor} output differs from ${runs[0]!.executor}`).toEqual(runs[0]!.tree);
    if (r.run.result?.rows || runs[0]!.run.result?.rows) expect(r.run.result?.rows).toEqual(runs[0]!.run.result?.rows);
  }
  return runs;
}

describe("clean job (fromFiles → loadJsonl → map → filter → writeJsonl)", () => {
  it("writes exactly the normalized long documents, identically on every executor", async () => {
    const runs = await onEveryExecutor("clean");
    const norm = (s: string) => s.replace(/\s+/g, " ").trim();
    let tooShort = 0;
    const expected = new Map<string, string>();
    docsByFile.forEach((docs, shard) => {
      const kept = docs.map((d) => ({ ...d, text: norm(d.text) })).filter((d) => d.text.length >= 200);
      tooShort += docs.length - kept.length;
      const name = `part-${String(shard).padStart(5, "0")}-of-00004.jsonl.gz`;
      expected.set(name, kept.map((d) => `${JSON.stringify(d)}\n`).join(""));
    });
    expect(tooShort).toBeGreaterThan(0);
    for (const { run, tree, outDir } of runs) {
      expect(tree).toEqual(expected);
      const res = run.result!;
      expect(res.counters).toEqual({ too_short: tooShort });
      expect(res.outputs).toEqual([...expected.keys()].map((n) => path.join(outDir, n)));
      const st = res.stats.stages[0]!;
      expect(st.label).toBe("fromFiles → loadJsonl → map → filter → writeJsonl");
      expect(st.rowsIn).toBe(docsByFile.flat().length);
      expect(st.rowsOut).toBe(docsByFile.flat().length - tooShort);
      expect(st.steps.map((s) => s.step)).toEqual(["fromFiles", "loadJsonl", "map", "filter"]);
    }
    expect(runs.map((r) => r.run.result!.stats.executor)).toEqual([...EXECUTORS]);
  });

  it("skips shards already written with --resume and reruns nothing", async () => {
    for (const executor of EXECUTORS) {
      const outDir = tempDir();
      const first = await runFixture("clean", { inDir: corpusDir, outDir, executor });
      expect(first.code, first.stderr).toBe(0);
      await fsp.rm(first.result!.outputs[2]!);
      const second = await runFixture("clean", { inDir: corpusDir, outDir, executor, flags: ["--resume"] });
      expect(second.code, second.stderr).toBe(0);
      expect(second.result!.stats.tasks).toBe(1);
      expect(second.result!.stats.stages[0]!.skippedShards).toBe(3);
      expect(second.result!.outputs).toEqual(first.result!.outputs);
      expect(await readTree(outDir)).toEqual(await readTree(path.dirname(first.result!.outputs[0]!)));
    }
  });
});

describe("formats", () => {
  let mixedDir: string;
  let docs: Doc[];
  beforeAll(async () => {
    mixedDir = tempDir("sirocco-mixed-");
    docs = docsByFile[0]!.slice(0, 90);
    const text = (part: Doc[]) => part.map((d) => `${JSON.stringify(d)}\n`).join("");
    await fsp.writeFile(path.join(mixedDir, "a.jsonl"), text(docs.slice(0, 30)).replace(/\n/g, "\r\n"));
    await fsp.writeFile(path.join(mixedDir, "b.jsonl.gz"), zlib.gzipSync(text(docs.slice(30, 60))));
    await fsp.writeFile(path.join(mixedDir, "c.jsonl.zst"), await zstdCompress(Buffer.from(text(docs.slice(60, 90))), 3));
  });

  for (const ext of ["jsonl", "jsonl.gz", "jsonl.zst"]) {
    it(`reads plain/gzip/zstd (CRLF too) and writes .${ext}, with an async map`, async () => {
      const runs = await onEveryExecutor("formats", { inDir: mixedDir, extra: ext });
      const stop = new Set(["the", "a", "of", "and", "to", "in"]);
      const expectRows = (part: Doc[]) =>
        part.map((d) => `${JSON.stringify({ id: d.id, words: d.text.split(/\s+/).filter((w) => w && !stop.has(w.toLowerCase())).length })}\n`).join("");
      const expected = new Map([
        [`a.${ext}`, expectRows(docs.slice(0, 30))],
        [`b.${ext}`, expectRows(docs.slice(30, 60))],
        [`c.${ext}`, expectRows(docs.slice(60, 90))],
      ]);
      for (const r of runs) expect(r.tree).toEqual(expected);
      // The compressed bytes really are in that format.
      const raw = await fsp.readFile(path.join(runs[0]!.outDir, `b.${ext}`));
      if (ext.endsWith(".gz")) expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
      if (ext.endsWith(".zst")) expect(raw.readUInt32LE(0)).toBe(0xfd2fb528);
    });
  }
});

describe("narrow steps on in-memory lists", () => {
  it("flatMap(generator) → type-guard filter → mapShard → window → async map returns the same rows everywhere", async () => {
    const runs = await onEveryExecutor("steps", { inDir: "-", extra: undefined });
    // The same logic computed here, shard by shard (7 contiguous shards of 100 items).
    const items = Array.from({ length: 100 }, (_, i) => ({ n: i, tag: i % 3 === 0 ? "fizz" : null }));
    const expected: Array<{ shard: number; sum: number; items: string[] }> = [];
    for (let s = 0; s < 7; s++) {
      const part = items.slice(Math.floor((s * 100) / 7), Math.floor(((s + 1) * 100) / 7));
      const rows = part
        .flatMap((x) => (x.n % 10 === 0 ? [x, { n: x.n + 0.5, tag: "half" }] : [x]))
        .filter((x) => x.tag !== null)
        .map((x) => ({ ...x, shard: s }));
      for (let i = 0; i < rows.length; i += 3) {
        const w = rows.slice(i, i + 3);
        expected.push({ shard: s, sum: w.reduce((a, r) => a + r.n, 0), items: w.map((r) => r.tag!) });
      }
    }
    for (const r of runs) expect(r.run.result!.rows).toEqual(expected);
  });

  it("take(n) per shard stops reading early", async () => {
    const dir = tempDir();
    for (const name of ["x", "y", "z"]) {
      await fsp.writeFile(path.join(dir, `${name}.txt`), Array.from({ length: 5000 }, (_, i) => `${name}-${i}`).join("\n"));
    }
    const runs = await onEveryExecutor("take", { inDir: dir });
    for (const r of runs) {
      expect(r.run.result!.rows).toEqual(["x-0", "x-1", "x-2", "y-0", "y-1", "y-2", "z-0", "z-1", "z-2"]);
      // The loader produced far fewer rows than the files hold.
      expect(r.run.result!.stats.stages[0]!.steps[1]!.rowsOut).toBeLessThan(15000);
    }
  });
});

describe("failures", () => {
  it("a throwing function fails the run naming stage, shard, file and line, keeps the user's error, and commits nothing for that shard", async () => {
    const target = docsByFile[2]![10]!;
    const runs = await onEveryExecutor("fail-row", { extra: String(target.id), expectCode: 1 });
    for (const { run, outDir, tree } of runs) {
      expect(run.stderr).toContain("TaskError");
      expect(run.stderr).toContain(`shard 3/4`);
      expect(run.stderr).toContain(`${corpusFiles[2]}:11`);
      expect(run.stderr).toContain("attempt 4");
      expect(run.stderr).toContain(`RangeError: doc ${target.id} is cursed`);
      expect(run.stderr).toMatch(/at .*test\/fixtures\/pipelines\.ts/);
      expect(fs.existsSync(path.join(outDir, "part-0002.jsonl"))).toBe(false);
      expect([...tree.keys()].filter((k) => k.includes(".sirocco-tmp-"))).toEqual([]);
      // Whatever did commit is whole.
      for (const [name, text] of tree) {
        const shard = Number(name.slice(5, 9));
        expect(jsonLines<Doc>(text)).toEqual(docsByFile[shard]);
      }
    }
  });

  it("a failing run stops the tasks still in flight instead of waiting for them", async () => {
    // Shard 1 sleeps ten minutes; the test's own timeout (two) would catch a run that waited.
    const runs = await onEveryExecutor("fail-fast", { inDir: "-", expectCode: 1 });
    for (const { run, tree } of runs) {
      expect(run.stderr).toContain("shard 1/2");
      expect(run.stderr).toContain("shard 0 always fails");
      expect(tree.size).toBe(0);
    }
  });

  it("retries a task whose function failed once, and the outputs are complete", async () => {
    const runs = await onEveryExecutor("flaky");
    for (const { run, tree } of runs) {
      expect(run.result!.stats.retries).toBe(1);
      expect(run.result!.counters.attempt_2).toBe(docsByFile[1]!.length);
      expect(tree.size).toBe(4);
      docsByFile.forEach((docs, i) => expect(jsonLines<Doc>(tree.get(`part-${String(i).padStart(4, "0")}.jsonl`)!)).toEqual(docs));
    }
  });

  it("a worker thread that dies mid-task is an infrastructure failure: retried, outputs complete (threads only)", async () => {
    const outDir = tempDir();
    const run = await runFixture("crash-thread", { inDir: corpusDir, outDir, executor: "threads" });
    expect(run.code, run.stderr).toBe(0);
    expect(run.result!.stats.retries).toBe(1);
    const tree = await readTree(outDir);
    expect([...tree.keys()]).toEqual(["part-0000.jsonl", "part-0001.jsonl", "part-0002.jsonl", "part-0003.jsonl"]);
    docsByFile.forEach((docs, i) => expect(jsonLines<Doc>(tree.get(`part-${String(i).padStart(4, "0")}.jsonl`)!)).toEqual(docs));
  });

  describe("malformed JSONL", () => {
    let dir: string;
    beforeAll(async () => {
      dir = tempDir();
      await fsp.writeFile(path.join(dir, "good.jsonl"), '{"a":1}\n{"a":2}\n');
      await fsp.writeFile(path.join(dir, "bad.jsonl"), '{"a":1}\n\n{"a": 2,,}\n{"a":3}\n{"a":4');
    });

    it("fails on the first attempt with file and line by default", async () => {
      const runs = await onEveryExecutor("bad-json", { inDir: dir, expectCode: 1 });
      for (const { run, tree } of runs) {
        expect(run.stderr).toContain(`malformed JSON in ${path.join(dir, "bad.jsonl")} line 3`);
        expect(run.stderr).toContain(`${path.join(dir, "bad.jsonl")}:3`);
        expect(run.stderr).toContain("attempt 1");
        expect(run.stderr).toContain('onBadLine: "skip"');
        expect(tree.has("bad.jsonl")).toBe(false);
      }
    });

    it("skips and counts malformed lines with onBadLine: skip", async () => {
      const runs = await onEveryExecutor("bad-json", { inDir: dir, extra: "skip" });
      for (const { run, tree } of runs) {
        expect(run.result!.stats.stages[0]!.malformedLines).toBe(2);
        expect(tree.get("bad.jsonl")).toBe('{"a":1}\n{"a":3}\n');
        expect(tree.get("good.jsonl")).toBe('{"a":1}\n{"a":2}\n');
      }
    });
  });
});

describe("skipping existing outputs", () => {
  it("writeJsonl({ skipExisting }) reruns only missing shards", async () => {
    for (const executor of EXECUTORS) {
      const outDir = tempDir();
      const first = await runFixture("skip-existing", { inDir: corpusDir, outDir, executor });
      expect(first.code, first.stderr).toBe(0);
      expect(first.result!.counters.processed).toBe(docsByFile.flat().length);
      const before = await readTree(outDir);
      await fsp.rm(path.join(outDir, "part-0001.jsonl.gz"));
      const second = await runFixture("skip-existing", { inDir: corpusDir, outDir, executor });
      expect(second.code, second.stderr).toBe(0);
      expect(second.result!.counters.processed).toBe(docsByFile[1]!.length);
      expect(second.result!.stats.stages[0]!.skippedShards).toBe(3);
      expect(second.result!.outputs).toEqual(first.result!.outputs);
      expect(await readTree(outDir)).toEqual(before);
    }
  });

  it("mapFiles rebases each input onto outputDir and skips outputs that exist", async () => {
    const inDir = tempDir();
    const files = ["a.txt", "sub/b.txt", "sub/deeper/c.txt"];
    for (const f of files) {
      await fsp.mkdir(path.dirname(path.join(inDir, f)), { recursive: true });
      await fsp.writeFile(path.join(inDir, f), `hello from ${f}\n`);
    }
    const runs = await onEveryExecutor("map-files", { inDir });
    for (const { run, tree, outDir } of runs) {
      expect(tree).toEqual(new Map(files.map((f) => [f, `HELLO FROM ${f.toUpperCase()}\n`])));
      expect(run.result!.counters.converted).toBe(3);
      expect(run.result!.outputs).toEqual(files.map((f) => path.join(outDir, f)));
      await fsp.rm(path.join(outDir, "sub/b.txt"));
    }
    for (const { executor, outDir } of runs) {
      const again = await runFixture("map-files", { inDir, outDir, executor: executor as (typeof EXECUTORS)[number] });
      expect(again.code, again.stderr).toBe(0);
      expect(again.result!.counters.converted).toBe(1);
      expect(again.result!.stats.stages[0]!.skippedShards).toBe(2);
      expect((await readTree(outDir)).get("sub/b.txt")).toBe("HELLO FROM SUB/B.TXT\n");
    }
  });
});
