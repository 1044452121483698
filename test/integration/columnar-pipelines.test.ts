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
import { collectRow } from "../fixtures/collect-row.js";

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

describe("Parquet files split into shards by row group", () => {
  let dir: string;
  let duckRows: Record<string, unknown>[][];
  /** Rows per row group of each file, as DuckDB's parquet_metadata reports them. */
  let groupRows: number[][];
  beforeAll(async () => {
    // Two files DuckDB writes with several row groups (nested, null-heavy, unicode), one with one.
    dir = tempDir("sirocco-pq-split-");
    const con = await (await DuckDBInstance.create(":memory:")).connect();
    try {
      const select = (from: number, n: number) =>
        `SELECT i::BIGINT AS id, CASE WHEN i % 3 = 0 THEN NULL ELSE 'ñ-' || i || '-🎉' END AS s, i / 8 AS f, ` +
        `CASE WHEN i % 4 = 0 THEN NULL ELSE {'k': i % 7, 'l': [i, NULL, i + 1]} END AS o FROM range(${from}, ${from + n}) t(i)`;
      await con.run(`COPY (${select(0, 5000)}) TO '${dir}/a.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1024, COMPRESSION zstd)`);
      await con.run(`COPY (${select(5000, 2500)}) TO '${dir}/b.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000, COMPRESSION snappy)`);
      await con.run(`COPY (${select(7500, 300)}) TO '${dir}/c.parquet' (FORMAT parquet)`);
      duckRows = [];
      groupRows = [];
      for (const f of ["a", "b", "c"]) {
        const meta = (await con.runAndReadAll(`SELECT DISTINCT row_group_id::INT AS g, row_group_num_rows::INT AS n FROM parquet_metadata('${dir}/${f}.parquet') ORDER BY 1`)).getRowObjectsJS();
        groupRows.push(meta.map((m) => Number(m.n)));
        const got = (await con.runAndReadAll(`SELECT to_json(t)::VARCHAR AS j FROM read_parquet('${dir}/${f}.parquet') t`)).getRowObjectsJS();
        duckRows.push(got.map((r) => JSON.parse(String(r.j)) as Record<string, unknown>));
      }
    } finally {
      con.closeSync();
    }
  });

  /** Rows of every output file, in shard order. */
  async function rowsInOrder(outDir: string): Promise<{ names: string[]; rows: Record<string, unknown>[] }> {
    const names = (await fsp.readdir(outDir)).sort();
    const rows: Record<string, unknown>[] = [];
    for (const n of names) rows.push(...jsonLines<Record<string, unknown>>(await readText(path.join(outDir, n))));
    return { names, rows };
  }

  it("gives the same rows, in the same order, split by row group as whole, on every executor; shards numbered by file then row group", async () => {
    const whole = await onEveryExecutor("parquet-split", { inDir: dir, extra: "whole" });
    const split = await onEveryExecutor("parquet-split", { inDir: dir, extra: "split" });
    const w = await rowsInOrder(whole[0]!.outDir);
    const s = await rowsInOrder(split[0]!.outDir);
    expect(w.names).toEqual([0, 1, 2].map((i) => `part-${String(i).padStart(5, "0")}-of-00003.jsonl`));
    // One shard per row group, numbered by file, then row group.
    const total = groupRows.flat().length;
    expect(groupRows[0]!.length).toBeGreaterThan(1);
    expect(groupRows[1]!.length).toBeGreaterThan(1);
    const pad = (n: number) => String(n).padStart(5, "0");
    expect(s.names).toEqual(Array.from({ length: total }, (_, i) => `part-${pad(i)}-of-${pad(total)}.jsonl`));
    let shard = 0;
    let first = 0;
    for (const groups of groupRows) {
      for (const n of groups) {
        const rows = jsonLines<{ id: number }>(await readText(path.join(split[0]!.outDir, `part-${pad(shard++)}-of-${pad(total)}.jsonl`)));
        expect(rows.map((r) => r.id)).toEqual(Array.from({ length: n }, (_, i) => first + i));
        first += n;
      }
    }
    expect(s.rows).toEqual(w.rows);
    expect(w.rows).toEqual(duckRows.flat());
  });

  it("pushes a projection into each row-group shard", async () => {
    const runs = await onEveryExecutor("parquet-split", { inDir: dir, extra: "split:o,id" });
    const got = await rowsInOrder(runs[0]!.outDir);
    expect(got.rows).toEqual(duckRows.flat().map((r) => ({ id: r.id, o: r.o })));
  });

  it("Parquet → Parquet with nothing in between keeps the input's values and types exactly, split or not, identical on every executor", async () => {
    const con = await (await DuckDBInstance.create(":memory:")).connect();
    try {
      const q = async (sql: string) => (await con.runAndReadAll(sql)).getRowObjectsJson();
      const input = `read_parquet(['${dir}/a.parquet', '${dir}/b.parquet', '${dir}/c.parquet'])`;
      for (const extra of ["whole", "split", "split:o,id"]) {
        const runs = await onEveryExecutor("parquet-copy", { inDir: dir, extra });
        const out = `read_parquet('${runs[0]!.outDir}/*.parquet')`;
        const cols = extra.endsWith("o,id") ? "id, o" : "*";
        expect(await q(`SELECT ${cols} FROM ${out} ORDER BY id`), extra).toEqual(await q(`SELECT ${cols} FROM ${input} ORDER BY id`));
        expect(await q(`DESCRIBE SELECT ${cols} FROM ${out}`), extra).toEqual(await q(`DESCRIBE SELECT ${cols} FROM ${input}`));
        expect(runs[0]!.files.size, extra).toBe(extra === "whole" ? 3 : groupRows.flat().length);
        // rowGroupRows: 700 holds in the copy too
        const groups = await q(`SELECT max(row_group_num_rows)::INT AS m FROM parquet_metadata('${runs[0]!.outDir}/*.parquet')`);
        expect(groups[0]!.m).toBeLessThanOrEqual(700);
      }
    } finally {
      con.closeSync();
    }
  });

  it("an error in a row-group shard names the file and the row's number in the whole file", async () => {
    for (const executor of EXECUTORS) {
      const run = await runFixture("parquet-split", { inDir: dir, outDir: tempDir(`sirocco-out-${executor}-`), extra: "split-fail:3100", executor });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain("row 3100 is bad");
      expect(run.stderr).toMatch(/a\.parquet.*line 3101|a\.parquet:3101/);
    }
  });
});

describe("rows returned to the driver", () => {
  it("are the same, key order and missing fields included, on every executor (threads: Arrow IPC in shared memory, cloned where Arrow is not exact)", async () => {
    const want = JSON.stringify(Array.from({ length: 4000 }, (_, i) => collectRow(i)));
    for (const executor of EXECUTORS) {
      const run = await runFixture("collect-rows", { inDir: corpusDir, outDir: tempDir(`sirocco-out-${executor}-`), executor });
      expect(run.code, run.stderr).toBe(0);
      const got = JSON.stringify(run.result!.rows);
      // Compared as JSON text: key order and missing fields count; on failure show only the first difference.
      let at = 0;
      while (at < got.length && got.charCodeAt(at) === want.charCodeAt(at)) at++;
      if (at === got.length && got.length === want.length) at = -1;
      expect(at === -1 && got.length === want.length, `${executor}: first difference at ${at}: ${got.slice(Math.max(0, at - 80), at + 80)}`).toBe(true);
    }
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
