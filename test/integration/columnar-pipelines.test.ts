/**
 * Parquet and Arrow files through the real CLI on every executor (one loop): JSONL →
 * Parquet/Arrow → JSONL with identical bytes on every executor, values checked against an
 * expectation computed here from the corpus, and the Parquet files cross-checked by DuckDB.
 */
import fsp from "node:fs/promises";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { makeCorpus, type CorpusDoc } from "../../scripts/make-corpus.js";
import { EXECUTORS } from "../support/executors.js";
import { jsonLines, readText, tempDir } from "../support/files.js";
import { runFixture } from "../support/fixture-runner.js";

type Doc = CorpusDoc;

let corpusDir: string;
let expected: Map<string, Record<string, unknown>[]>;

/** What the to-columnar case writes, computed independently of sirocco (missing → null). */
function expectedRow(d: Doc): Record<string, unknown> {
  return {
    id: d.id,
    domain: d.domain,
    ratio: d.id % 4 === 0 ? d.text.length / 3 : d.text.length,
    meta: d.id % 5 === 0 ? null : { category: d.category, url: d.url, tags: d.text.split(/\s+/).slice(0, d.id % 4) },
    note: d.id % 3 === 0 ? `ñ-${d.id}-🎉` : null,
  };
}

beforeAll(async () => {
  corpusDir = tempDir("sirocco-corpus-columnar-");
  const files = await makeCorpus({ outDir: corpusDir, megabytes: 0.6, files: 3, seed: 11, gzipLevel: 1 });
  expected = new Map();
  for (const f of files) {
    const base = path.basename(f).replace(/\.jsonl(\.gz|\.zst)?$/, "");
    expected.set(base, jsonLines<Doc>(await readText(f)).map(expectedRow));
  }
});

/** Every file under `dir` as bytes, by relative path. */
async function readBytes(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of (await fsp.readdir(dir)).sort()) out.set(name, await fsp.readFile(path.join(dir, name)));
  return out;
}

/** Runs a case on every executor; asserts exit code and that the output bytes are identical. */
async function onEveryExecutor(kase: string, opts: { inDir: string; extra?: string; expectCode?: number }) {
  const runs = [];
  for (const executor of EXECUTORS) {
    const outDir = tempDir(`sirocco-out-${executor}-`);
    const run = await runFixture(kase, { inDir: opts.inDir, outDir, extra: opts.extra, executor });
    expect(run.code, `${kase} on ${executor} exited ${run.code}: ${run.stderr}`).toBe(opts.expectCode ?? 0);
    runs.push({ executor, outDir, run, files: await readBytes(outDir) });
  }
  for (const r of runs.slice(1)) expect(r.files, `${r.executor} output differs from ${runs[0]!.executor}`).toEqual(runs[0]!.files);
  return runs;
}

async function jsonlTree(dir: string): Promise<Map<string, Record<string, unknown>[]>> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const name of (await fsp.readdir(dir)).sort()) out.set(name.replace(/\.jsonl$/, ""), jsonLines(await readText(path.join(dir, name))));
  return out;
}

describe("Parquet files through the CLI (JSONL → Parquet → JSONL)", () => {
  it("writes identical Parquet on every executor that DuckDB reads back with the expected values and types, and loadParquet (with projection) reads it back exactly", async () => {
    const written = await onEveryExecutor("to-columnar", { inDir: corpusDir, extra: "parquet" });
    const dir = written[0]!.outDir;
    expect([...written[0]!.files.keys()]).toEqual([...expected.keys()].map((b) => `${b}.parquet`).sort());

    const con = await (await DuckDBInstance.create(":memory:")).connect();
    try {
      for (const [base, rows] of expected) {
        const file = path.join(dir, `${base}.parquet`);
        const types = (await con.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`)).getRowObjectsJS();
        expect(types.map((t) => `${String(t.column_name)} ${String(t.column_type)}`)).toEqual([
          "id BIGINT",
          "domain VARCHAR",
          "ratio DOUBLE",
          'meta STRUCT(category VARCHAR, url VARCHAR, tags VARCHAR[])',
          "note VARCHAR",
        ]);
        const got = (await con.runAndReadAll(`SELECT to_json(t)::VARCHAR AS j FROM read_parquet('${file}') t`)).getRowObjectsJS().map((r) => JSON.parse(String(r.j)) as unknown);
        expect(got).toEqual(rows);
        const groups = (await con.runAndReadAll(`SELECT count(DISTINCT row_group_id)::INT AS n FROM parquet_metadata('${file}')`)).getRowObjectsJS();
        expect(groups[0]!.n).toBe(Math.ceil(rows.length / 200));
      }
    } finally {
      con.closeSync();
    }

    const back = await onEveryExecutor("from-columnar", { inDir: dir, extra: "parquet" });
    expect(await jsonlTree(back[0]!.outDir)).toEqual(expected);

    const projected = await onEveryExecutor("from-columnar", { inDir: dir, extra: "parquet:note,id" });
    const want = new Map([...expected].map(([b, rows]) => [b, rows.map((r) => ({ note: r.note, id: r.id }))]));
    const got = await jsonlTree(projected[0]!.outDir);
    expect(got).toEqual(want);
    for (const rows of got.values()) expect(Object.keys(rows[0]!)).toEqual(["id", "note"]);
  });

  it("rows that cannot share a schema fail the run naming the field and both types, writing nothing", async () => {
    const runs = await onEveryExecutor("columnar-conflict", { inDir: corpusDir, expectCode: 1 });
    for (const { run, files } of runs) {
      expect(run.stderr).toContain('field "a" is string in earlier rows and object in row 1');
      expect(files.size).toBe(0);
    }
  });

  it("a projection naming a missing column fails naming the file and its columns", async () => {
    const dir = tempDir("sirocco-pq-");
    const first = await runFixture("to-columnar", { inDir: corpusDir, outDir: dir, extra: "parquet", executor: "inline" });
    expect(first.code).toBe(0);
    const runs = await onEveryExecutor("from-columnar", { inDir: dir, extra: "parquet:id,nope", expectCode: 1 });
    for (const { run } of runs) expect(run.stderr).toMatch(/\.parquet has no column "nope"; it has "id", "domain", "ratio", "meta", "note"/);
  });
});

describe("Arrow IPC files through the CLI (JSONL → Arrow → JSONL)", () => {
  it("writes identical Arrow files on every executor and reads them back exactly", async () => {
    const written = await onEveryExecutor("to-columnar", { inDir: corpusDir, extra: "arrow" });
    expect([...written[0]!.files.keys()]).toEqual([...expected.keys()].map((b) => `${b}.arrow`).sort());
    // Arrow IPC file magic at both ends
    for (const bytes of written[0]!.files.values()) {
      expect(bytes.subarray(0, 6).toString()).toBe("ARROW1");
      expect(bytes.subarray(bytes.length - 6).toString()).toBe("ARROW1");
    }
    const back = await onEveryExecutor("from-columnar", { inDir: written[0]!.outDir, extra: "arrow" });
    expect(await jsonlTree(back[0]!.outDir)).toEqual(expected);
  });
});
