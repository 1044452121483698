/**
 * writeParquet / writeArrow on shards larger than one batch of the task's memory budget:
 * written batch by batch (Parquet row group by row group), values exact, read back by
 * DuckDB; a later batch that needs a wider schema makes the shard go through two passes.
 */
import fs from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { Field, Int64, Schema, Utf8, tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { context, Dataset, run, TaskError, type RunOptions } from "../../../src/index.js";
import { arrowToRows } from "../../../src/io/columnar/arrow-to-rows.js";
import { parquetRowGroups } from "../../../src/io/columnar/parquet-io.js";
import { useTempDir } from "../../support/use-temp-dir.js";

/** 16 MB budget → 1 MiB batches: ~100-byte rows give several batches per 40k-row shard. */
const SMALL: RunOptions = { executor: "inline", progress: "none", memory: "16MB" };
const LARGE: RunOptions = { executor: "inline", progress: "none" };

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(":memory:");
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

const N = 40_000;
function row(i: number) {
  return {
    id: i,
    text: `row ${i} ñ 🎉 ${"x".repeat(i % 50)}`,
    score: i % 7 === 0 ? null : i / 4,
    tags: i % 3 === 0 ? [] : [`t${i % 11}`, `u${i % 5}`],
    meta: i % 5 === 0 ? null : { n: i % 13, s: i % 2 === 0 ? "even" : null },
  };
}

describe("streaming columnar writes", () => {
  const tmp = useTempDir();

  it("a shard many batches large is written row group by row group with the same rows as when written whole", async () => {
    const rows = Array.from({ length: N }, (_, i) => row(i));
    const small = path.join(tmp.path, "small.parquet");
    const large = path.join(tmp.path, "large.parquet");
    await run(Dataset.fromList(rows, { shards: 1 }).writeParquet(small, { rowGroupRows: 7_000 }), SMALL);
    await run(Dataset.fromList(rows, { shards: 1 }).writeParquet(large, { rowGroupRows: 7_000 }), LARGE);
    // rowGroupRows holds whatever the batches: 40,000 rows → 5 × 7,000 + 5,000.
    expect((await parquetRowGroups(small)).map((g) => g.rows)).toEqual([7000, 7000, 7000, 7000, 7000, 5000]);
    const q = (f: string) => duck(`SELECT id, text, score, tags, meta FROM read_parquet('${f}') ORDER BY id`);
    const [a, b] = await Promise.all([q(small), q(large)]);
    expect(a).toEqual(b);
    expect(a.length).toBe(N);
    expect(a[21]).toEqual({ id: "21", text: row(21).text, score: null, tags: [], meta: { n: "8", s: null } }); // DuckDB's JSON gives BIGINT as text
    const back = await run(Dataset.fromFiles(tmp.path, "small.parquet").loadParquet(), LARGE);
    expect(back.rows).toEqual(rows);
  });

  it("a later batch needing a wider schema (null → string, int → float, a new field) goes through two passes, exactly", async () => {
    const rows = Array.from({ length: N }, (_, i) => (i < N - 10 ? { id: i, late: null, num: i } : { id: i, late: `s${i}`, num: i + 0.5, extra: true }));
    const out = path.join(tmp.path, "widen.parquet");
    const res = await run(
      Dataset.fromList(rows, { shards: 1 })
        .map((r) => {
          context().counters.inc("seen");
          return r;
        })
        .writeParquet(out),
      SMALL,
    );
    // The second pass counts afresh: every row once.
    expect(res.counters.seen).toBe(N);
    expect(res.stats.stages[0]!.rowsOut).toBe(N);
    const types = await duck(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${out}'))`);
    expect(types).toEqual([
      { column_name: "id", column_type: "BIGINT" },
      { column_name: "late", column_type: "VARCHAR" },
      { column_name: "num", column_type: "DOUBLE" },
      { column_name: "extra", column_type: "BOOLEAN" },
    ]);
    const back = await run(Dataset.fromFiles(tmp.path, "widen.parquet").loadParquet(), LARGE);
    expect(back.rows).toEqual(rows.map((r) => ({ id: r.id, late: r.late, num: r.num, extra: "extra" in r ? r.extra : null })));
  });

  it("with an explicit schema, a later batch that does not fit fails naming the field and leaves no file", async () => {
    const schema = new Schema([new Field("id", new Int64(), true), new Field("s", new Utf8(), true)]);
    const rows = Array.from({ length: N }, (_, i) => ({ id: i, s: i === N - 1 ? 5 : `v${i}` }));
    const out = path.join(tmp.path, "bad.parquet");
    const err = await run(Dataset.fromList(rows, { shards: 1 }).writeParquet(out, { schema }), SMALL).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskError);
    expect(String((err as Error).message)).toContain('field "s" has type Utf8 in the schema but holds number 5');
    expect(fs.readdirSync(tmp.path).filter((f) => f.includes("bad"))).toEqual([]);
  });

  it("writeArrow streams batches too: one IPC file, same rows", async () => {
    const rows = Array.from({ length: N }, (_, i) => row(i));
    const out = path.join(tmp.path, "a.arrow");
    await run(Dataset.fromList(rows, { shards: 1 }).writeArrow(out), SMALL);
    const table = tableFromIPC(fs.readFileSync(out));
    expect(table.batches.length).toBeGreaterThan(2);
    expect(arrowToRows(table)).toEqual(rows);
  });

  it("a truncated or corrupt Parquet file fails its task naming the file (split or not), and nothing is written", async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => row(i));
    const good = path.join(tmp.path, "in", "good.parquet");
    fs.mkdirSync(path.dirname(good));
    await run(Dataset.fromList(rows, { shards: 1 }).writeParquet(good, { rowGroupRows: 5000 }), LARGE);
    const bytes = fs.readFileSync(good);
    const truncated = path.join(tmp.path, "in", "truncated.parquet");
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    const corrupt = path.join(tmp.path, "in", "corrupt.parquet");
    const flipped = Buffer.from(bytes);
    // Its footer (the file metadata) overwritten. (A corrupt data page makes parquet-wasm panic outside any promise: see README "Formats".)
    for (let i = bytes.length - 60; i < bytes.length - 8; i++) flipped[i] = 0xff;
    fs.writeFileSync(corrupt, flipped);
    fs.rmSync(good);
    for (const [file, message] of [
      [truncated, `could not open ${truncated} as Parquet`],
      [corrupt, `could not open ${corrupt} as Parquet`],
    ] as const) {
      for (const shardBytes of [undefined, 1]) {
        const out = path.join(tmp.path, `out-${path.basename(file)}-${shardBytes ?? "whole"}`);
        const err = await run(
          Dataset.fromFiles(path.dirname(file), path.basename(file))
            .loadParquet(shardBytes ? { shardBytes } : {})
            .writeJsonl(`${out}/part-{shard}.jsonl`),
          LARGE,
        ).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, `${file} ${shardBytes}`).toBeInstanceOf(TaskError);
        expect(String((err as Error).message)).toContain(message);
        expect(fs.existsSync(out) ? fs.readdirSync(out).filter((f) => !f.startsWith(".")) : []).toEqual([]);
      }
    }
  });
});
