/**
 * Wide steps (groupBy, dedupe, countBy, join, reduce, reshard) on every executor through the
 * real CLI, checked against DuckDB computing the same query on the same JSONL files; outputs
 * identical across executors, worker counts and memory budgets (spilled or not).
 */
import fs from "node:fs";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCorpus, type CorpusDoc } from "../../scripts/make-corpus.js";
import { EXECUTORS, type TestExecutor } from "../support/executors.js";
import { jsonLines, readText, readTree, tempDir } from "../support/files.js";
import { ROOT, runFixture } from "../support/fixture-runner.js";

const SCRIPT = path.join(ROOT, "test/fixtures/shuffle-pipelines.ts");

let corpusDir: string;
let docs: CorpusDoc[];
let con: DuckDBConnection;

beforeAll(async () => {
  corpusDir = tempDir("sirocco-shuffle-corpus-");
  const files = await makeCorpus({ outDir: corpusDir, megabytes: 1.5, files: 4, seed: 11, gzipLevel: 1, duplicateFraction: 0.25 });
  docs = (await Promise.all(files.map(async (f) => jsonLines<CorpusDoc>(await readText(f))))).flat();
  con = await (await DuckDBInstance.create(":memory:")).connect();
  await con.run(
    `CREATE TABLE docs AS SELECT * FROM read_json('${corpusDir}/*.jsonl.gz', format = 'newline_delimited', columns = {id: 'BIGINT', url: 'VARCHAR', domain: 'VARCHAR', category: 'VARCHAR', text: 'VARCHAR'})`,
  );
});

afterAll(() => con?.closeSync());

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await con.runAndReadAll(sql)).getRowObjectsJS().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
}

type Run = Awaited<ReturnType<typeof runFixture>>;

async function runCase(kase: string, executor: TestExecutor, o: { extra?: string; flags?: string[]; workers?: number; expectCode?: number } = {}): Promise<{ run: Run; tree: Map<string, string>; outDir: string }> {
  const outDir = tempDir(`sirocco-shuffle-out-${executor}-`);
  const run = await runFixture(kase, { script: SCRIPT, inDir: corpusDir, outDir, executor, ...o });
  expect(run.code, `${kase} on ${executor} exited ${run.code}: ${run.stderr}`).toBe(o.expectCode ?? 0);
  return { run, tree: await readTree(outDir), outDir };
}

/** Runs a case on every executor; asserts identical output files; returns the first run's rows (files in shard order). */
async function onEveryExecutor(kase: string, o: { extra?: string; flags?: string[] } = {}): Promise<{ rows: Record<string, unknown>[]; runs: Array<{ run: Run; tree: Map<string, string> }> }> {
  const runs = [];
  for (const executor of EXECUTORS) runs.push(await runCase(kase, executor, o));
  for (const r of runs.slice(1)) expect(r.tree, `${kase}: outputs differ between executors`).toEqual(runs[0]!.tree);
  const rows = [...runs[0]!.tree.values()].flatMap((t) => jsonLines(t));
  return { rows, runs };
}

const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);

describe("dedupe", () => {
  it("keeps exactly the first document of each text (as DuckDB finds it), identically for 1, 2, 4 workers and when spilled", async () => {
    const { rows, runs } = await onEveryExecutor("dedupe");
    const firsts = await query("SELECT min(id)::BIGINT AS id FROM docs GROUP BY text");
    expect(firsts.length).toBeLessThan(docs.length * 0.85); // the corpus has duplicates
    const byId = new Map(docs.map((d) => [d.id, d]));
    expect(rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b))).toEqual(firsts.map((r) => r.id).sort((a, b) => Number(a) - Number(b)));
    for (const r of rows) expect(r).toEqual(byId.get(r.id as number));
    const st = runs[0]!.run.result!.stats.stages;
    expect(st.map((s) => s.label)).toEqual(["fromFiles → loadJsonl → shuffle(dedupe)", "dedupe → writeJsonl"]);
    expect(st[1]!.shards).toBe(4);
    expect(st[1]!.sortedRuns).toBe(0);
    // With the default budget nothing spills: on one machine (inline, threads) the map tasks'
    // blocks go to the reducers in shared memory (no file at all); on redis each map task
    // writes one spill file to the scratch store the workers share.
    EXECUTORS.forEach((executor, i) => expect(runs[i]!.run.result!.stats.stages[0]!.spillFiles, executor).toBe(executor === "redis" ? 4 : 0));

    const reference = runs[0]!.tree;
    for (const workers of [1, 4]) expect((await runCase("dedupe", "threads", { workers })).tree, `threads × ${workers}`).toEqual(reference);
    for (const executor of EXECUTORS) {
      const spilled = await runCase("dedupe", executor, { flags: ["--memory", "600KB"] });
      const s = spilled.run.result!.stats.stages;
      // The last flush of a map task stays in shared memory (on one machine): a file each means more than one flush each.
      expect(s[0]!.spillFiles, "map tasks flushed more than once each").toBeGreaterThanOrEqual(4);
      expect(s[1]!.sortedRuns, "reducers used the external merge").toBeGreaterThan(0);
      expect(spilled.tree).toEqual(reference);
    }
  });
});

describe("countBy and groupBy", () => {
  it("countBy(domain) gives DuckDB's counts in 3 shards", async () => {
    const { rows, runs } = await onEveryExecutor("countBy");
    expect(runs[0]!.tree.size).toBe(3);
    const want = await query("SELECT domain AS key, count(*)::BIGINT AS count FROM docs GROUP BY domain");
    expect([...rows].sort(byKey)).toEqual([...want].sort(byKey));
  });

  it("groupBy an object key hands reducers every row of the group in input order; results match DuckDB, also when spilled", async () => {
    const { rows, runs } = await onEveryExecutor("groupBy");
    const want = await query(
      "SELECT domain, category, count(*)::BIGINT AS n, min(id)::BIGINT AS firstId, sum(length(text))::BIGINT AS chars FROM docs GROUP BY domain, category",
    );
    const got = rows.map((r) => {
      const k = r.key as { domain: string; category: string };
      expect(r.inInputOrder).toBe(true);
      return { domain: k.domain, category: k.category, n: r.n, firstId: r.firstId, chars: r.chars };
    });
    expect(got.sort(byKey)).toEqual(want.sort(byKey));
    for (const executor of EXECUTORS) {
      const spilled = await runCase("groupBy", executor, { flags: ["--memory", "600KB"] });
      expect(spilled.run.result!.stats.stages[1]!.sortedRuns).toBeGreaterThan(0);
      expect(spilled.tree).toEqual(runs[0]!.tree);
    }
  });

  it("a map task retried after spilling part of its rows counts each row once", async () => {
    const want = await query("SELECT domain AS key, count(*)::BIGINT AS count FROM docs GROUP BY domain");
    for (const executor of EXECUTORS) {
      const r = await runCase("flakyCount", executor, { flags: ["--memory", "600KB"] });
      expect(r.run.result!.stats.retries).toBe(1);
      const rows = [...r.tree.values()].flatMap((t) => jsonLines(t));
      expect(rows.sort(byKey)).toEqual([...want].sort(byKey));
    }
  });

  it("groupBy with a combiner gives DuckDB's aggregates", async () => {
    const { rows } = await onEveryExecutor("groupByCombiner");
    const want = await query("SELECT domain, count(*)::BIGINT AS n, sum(length(text))::BIGINT AS chars, min(id)::BIGINT AS minId FROM docs GROUP BY domain");
    expect(rows.map((r) => ({ domain: r.domain, n: r.n, chars: r.chars, minId: r.minId })).sort(byKey)).toEqual(want.sort(byKey));
  });
});

describe("join, reduce, reshard", () => {
  it("inner and left joins give DuckDB's pairs as { left, right } rows", async () => {
    await con.run("CREATE OR REPLACE TABLE info AS SELECT * FROM (VALUES ('news.example.org', 1), ('news.example.org', 2), ('blog.example.net', 3), ('no-such-domain.test', 9)) t(domain, tier)");
    const inner = (await onEveryExecutor("join")).rows;
    const wantInner = await query("SELECT d.id::BIGINT AS id, d.domain, i.tier::BIGINT AS tier FROM docs d JOIN info i ON d.domain = i.domain");
    const flat = (r: Record<string, unknown>) => {
      const l = r.left as { id: number; domain: string };
      const rt = r.right as { tier: number; domain: string } | null;
      if (rt) expect(rt.domain).toBe(l.domain);
      return { id: l.id, domain: l.domain, tier: rt ? rt.tier : null };
    };
    expect(inner.map(flat).sort(byKey)).toEqual(wantInner.sort(byKey));
    const left = (await onEveryExecutor("join", { extra: "left" })).rows;
    const wantLeft = await query("SELECT d.id::BIGINT AS id, d.domain, i.tier::BIGINT AS tier FROM docs d LEFT JOIN info i ON d.domain = i.domain");
    expect(left.map(flat).sort(byKey)).toEqual(wantLeft.sort(byKey));
    expect(left.some((r) => r.right === null)).toBe(true);
  });

  it("reduce gives one row equal to DuckDB's totals", async () => {
    const { rows, runs } = await onEveryExecutor("reduce");
    expect(runs[0]!.tree.size).toBe(1);
    expect(rows).toEqual(await query("SELECT count(*)::BIGINT AS docs, sum(length(text))::BIGINT AS chars FROM docs"));
  });

  it("reshard(3) spreads every row over 3 shards, each in input order", async () => {
    const { runs } = await onEveryExecutor("reshard");
    const shards = [...runs[0]!.tree.values()].map((t) => jsonLines<{ id: number }>(t).map((r) => r.id));
    expect(shards).toHaveLength(3);
    for (const ids of shards) {
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
      expect(Math.abs(ids.length - docs.length / 3)).toBeLessThanOrEqual(4);
    }
    expect(shards.flat().sort((a, b) => a - b)).toEqual(docs.map((d) => d.id).sort((a, b) => a - b));
  });
});

describe("determinism across worker counts", () => {
  it("countBy, groupBy, a left join and reshard write the same bytes on 1 and 4 threads as on inline", async () => {
    for (const [kase, extra] of [["countBy"], ["groupBy"], ["join", "left"], ["reshard"]] as Array<[string, string?]>) {
      const reference = (await runCase(kase, "inline", extra ? { extra } : {})).tree;
      expect(reference.size, kase).toBeGreaterThan(0);
      for (const workers of [1, 4]) expect((await runCase(kase, "threads", { workers, ...(extra ? { extra } : {}) })).tree, `${kase} on threads × ${workers}`).toEqual(reference);
    }
  });
});

describe("--resume on a multi-stage plan", () => {
  it("rewrites only the missing final shards (re-running the map stage), and runs nothing when all exist", async () => {
    for (const executor of EXECUTORS) {
      const first = await runCase("dedupe", executor);
      const missing = "part-00002-of-00004.jsonl";
      fs.rmSync(path.join(first.outDir, missing));
      const again = await runFixture("dedupe", { script: SCRIPT, inDir: corpusDir, outDir: first.outDir, executor, flags: ["--resume"] });
      expect(again.code, again.stderr).toBe(0);
      const st = again.result!.stats.stages;
      expect(st.map((s) => [s.shards, s.skippedShards])).toEqual([[4, 0], [4, 3]]);
      expect(await readTree(first.outDir)).toEqual(first.tree);
      const noop = await runFixture("dedupe", { script: SCRIPT, inDir: corpusDir, outDir: first.outDir, executor, flags: ["--resume"] });
      expect(noop.code, noop.stderr).toBe(0);
      expect(noop.result!.stats.stages.map((s) => [s.label, s.shards, s.skippedShards])).toEqual([["dedupe → writeJsonl", 4, 4]]);
      expect(noop.result!.stats.tasks).toBe(0);
      expect(noop.result!.outputs).toEqual(first.run.result!.outputs);
    }
  });
});

describe("skew, failures and scratch space", () => {
  it("a key holding half the rows: with a combiner it completes in a small budget; without one it fails with a ResourceError naming key and partition, that partition writing nothing", async () => {
    const evens = docs.filter((d) => d.id % 2 === 0).length;
    for (const executor of EXECUTORS) {
      const ok = await runCase("skewCombiner", executor, { flags: ["--memory", "600KB"] });
      const hot = [...ok.tree.values()].flatMap((t) => jsonLines<{ key: string; n: number }>(t)).find((r) => r.key === "hot");
      expect(hot?.n).toBe(evens);

      const bad = await runCase("skew", executor, { flags: ["--memory", "600KB"], expectCode: 1 });
      const m = /ResourceError: groupBy: the rows of key "hot" \(partition (\d+) of 4\) need more than/.exec(bad.run.stderr);
      expect(m, bad.run.stderr).not.toBeNull();
      expect(bad.run.stderr).toContain("Give groupBy a combiner");
      // Shards commit one by one (as for narrow stages); the failing partition never does.
      expect([...bad.tree.keys()]).not.toContain(`part-${m![1]!.padStart(5, "0")}-of-00004.jsonl`);
    }
  });

  it("the scratch folder is empty after a successful run and after a run whose map step throws", async () => {
    for (const executor of EXECUTORS) {
      const scratch = tempDir("sirocco-scratch-test-");
      await runCase("dedupe", executor, { flags: ["--scratch", scratch, "--memory", "600KB"] });
      expect(fs.readdirSync(scratch)).toEqual([]);
      const failed = await runCase("failMap", executor, { extra: String(docs[docs.length - 5]!.id), flags: ["--scratch", scratch], expectCode: 1 });
      expect(failed.run.stderr).toContain(`doc ${docs[docs.length - 5]!.id} is cursed`);
      expect(failed.tree.size).toBe(0);
      expect(fs.readdirSync(scratch)).toEqual([]);
      fs.rmdirSync(scratch);
    }
  });
});
