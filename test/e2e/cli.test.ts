/**
 * The `sirocco` command as a user meets it: explain, run-time plan checks, and the errors
 * for mistakes one makes at the command line.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listFiles, readText } from "../support/read-output.js";
import { describeRun, REPO_ROOT, runSirocco } from "../support/spawn.js";
import { makeTempCorpus, type TempCorpus } from "../support/temp-corpus.js";

let corpus: TempCorpus;
beforeAll(async () => {
  corpus = await makeTempCorpus({ megabytes: 0.3, files: 2 });
});
afterAll(() => corpus?.remove());

describe("sirocco explain", () => {
  it("prints the logical plan, the optimized plan and one fused stage, without running anything", async () => {
    const outDir = path.join(corpus.root, "explain-out");
    const r = await runSirocco(["explain", "examples/clean-directory.ts", corpus.inDir, outDir]);
    expect(r.code, describeRun(r)).toBe(0);
    const out = r.stdout;

    const logical = out.indexOf("== logical plan ==");
    const optimized = out.indexOf("== optimized plan (rule: fuse-narrow-steps) ==");
    const stages = out.indexOf("== stages ==");
    expect(logical).toBeGreaterThanOrEqual(0);
    expect(optimized).toBeGreaterThan(logical);
    expect(stages).toBeGreaterThan(optimized);

    // The logical plan: every step, with the user's functions shown by their source.
    const logicalText = out.slice(logical, optimized);
    for (const step of ["fromFiles(", "loadJsonl(", "map(", "filter(", "writeJsonl("]) expect(logicalText).toContain(step);
    expect(logicalText).toContain("minChars");
    expect(logicalText).toContain(JSON.stringify(corpus.inDir));

    // The narrow steps fuse into exactly one stage that ends at the sink.
    expect(out.slice(optimized, stages)).toContain("stage 0 [3 narrow steps fused into one pass per shard]");
    const stageLines = out.split("\n").filter((l) => /^stage \d+:/.test(l));
    expect(stageLines).toEqual(["stage 0: fromFiles → loadJsonl → map → filter → writeJsonl"]);
    expect(out).not.toMatch(/^stage 1\b/m);
    expect(out).toMatch(/^fingerprint: [0-9a-f]{16}$/m);

    expect(fs.existsSync(outDir)).toBe(false);
  });
});

describe("sirocco run", () => {
  it("refuses, with threads, a script whose plan is not the same in every process", async () => {
    const script = "test/fixtures/nondeterministic-plan.ts";
    const r = await runSirocco(["run", script, "--workers", "2", "--progress", "none"]);
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toContain("not deterministic");
    expect(r.stderr).toContain("differs");
    expect(r.stderr).toContain(path.join(REPO_ROOT, script));
    expect(r.stderr).toMatch(/driver: fromList\(items#\w+/);
    expect(r.stderr).toMatch(/worker: fromList\(items#\w+/);
    expect(r.stdout).not.toContain("collected");

    // Inline, nothing is rebuilt, so the same script runs.
    const inline = await runSirocco(["run", script, "--executor", "inline", "--progress", "none"]);
    expect(inline.code, describeRun(inline)).toBe(0);
    expect(inline.stdout).toContain("collected 1 rows");
  });

  it("fails a run whose user code throws, naming the input file and line and keeping the user's error", async () => {
    // Where document 42 is, found independently.
    const where = corpus.files
      .map((file) => ({ file, line: readText(file).split("\n").findIndex((l) => l.startsWith('{"id":42,')) + 1 }))
      .find((w) => w.line > 0);
    expect(where).toBeDefined();

    const r = await runSirocco(["run", "test/fixtures/throwing-map.ts", corpus.inDir, "--workers", "2", "--progress", "none"]);
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toContain(`input ${where!.file}:${where!.line},`);
    expect(r.stderr).toContain("RangeError: document 42 is cursed");
    expect(r.stdout).not.toContain("finished");
    // The failed shard left no file at its final path.
    const failedShard = corpus.files.indexOf(where!.file);
    expect(listFiles(path.join(corpus.root, "throwing-out")).map((f) => path.basename(f))).not.toContain(`part-${failedShard}.jsonl`);
  });

  it("says clearly that a script does not exist", async () => {
    const r = await runSirocco(["run", "examples/no-such-script.ts"]);
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toContain(path.join(REPO_ROOT, "examples/no-such-script.ts"));
    expect(r.stderr).toMatch(/cannot find|not found|does not exist/i);
  });

  for (const bad of [
    { flags: ["--workers", "0"], message: /--workers.*'0'.*must be a positive integer/ },
    { flags: ["--workers", "two"], message: /--workers.*'two'.*must be a positive integer/ },
    { flags: ["--executor", "gpu"], message: /--executor.*'gpu'.*inline, threads, redis/ },
  ]) {
    it(`rejects ${bad.flags.join(" ")} before running the script`, async () => {
      const outDir = path.join(corpus.root, `bad-flags-${bad.flags.join("-")}`);
      const r = await runSirocco(["run", "examples/clean-directory.ts", corpus.inDir, outDir, ...bad.flags]);
      expect(r.code, describeRun(r)).toBe(1);
      expect(r.stderr).toMatch(bad.message);
      expect(r.stdout).toBe("");
      expect(fs.existsSync(outDir)).toBe(false);
    });
  }
});
