import fs from "node:fs/promises";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../../../src/core/errors.js";
import { arrowToRows } from "../../../../src/io/columnar/arrow-to-rows.js";
import { encodeParquet, readParquetRowGroups, type ParquetCompression } from "../../../../src/io/columnar/parquet-io.js";
import { rowsToArrow } from "../../../../src/io/columnar/rows-to-arrow.js";
import { useTempDir } from "../../../support/use-temp-dir.js";

/** DuckDB's JS values with BIGINT/HUGEINT as numbers when safe, for comparison with sirocco's rows. */
function normalize(v: unknown): unknown {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

async function readAll(file: string, columns?: string[]): Promise<{ rows: Record<string, unknown>[]; groups: number }> {
  const rows: Record<string, unknown>[] = [];
  const groups = new Set<number>();
  for await (const g of readParquetRowGroups(file, { columns })) {
    groups.add(g.rowGroup);
    rows.push(...arrowToRows(g.table));
  }
  return { rows, groups: groups.size };
}

let con: DuckDBConnection;
beforeAll(async () => {
  con = await (await DuckDBInstance.create(":memory:")).connect();
});
afterAll(() => con?.closeSync());

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjectsJS().map((row) => normalize(row) as Record<string, unknown>);
}

const sqlPath = (p: string) => `'${p.replace(/'/g, "''")}'`;

describe("Parquet cross-checked with DuckDB", () => {
  const tmp = useTempDir();

  const rows = Array.from({ length: 2500 }, (_, i) => ({
    id: i,
    score: i % 7 === 0 ? null : i / 8,
    name: i % 5 === 0 ? null : `név-${i}-${"🌍".repeat(i % 3)}`,
    ok: i % 2 === 0,
    tags: i % 4 === 0 ? null : Array.from({ length: i % 3 }, (_, k) => `t${k}`),
    meta: i % 6 === 0 ? null : { depth: i % 10, label: i % 9 === 0 ? null : `l${i}` },
  }));

  it.each<ParquetCompression>(["zstd", "snappy"])("files sirocco writes (%s) are read by DuckDB with the same values and types", async (compression) => {
    const file = path.join(tmp.path, `s-${compression}.parquet`);
    await fs.writeFile(file, encodeParquet(rowsToArrow(rows), { compression, rowGroupRows: 1000 }));
    const types = await duck(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${sqlPath(file)}))`);
    expect(types).toEqual([
      { column_name: "id", column_type: "BIGINT" },
      { column_name: "score", column_type: "DOUBLE" },
      { column_name: "name", column_type: "VARCHAR" },
      { column_name: "ok", column_type: "BOOLEAN" },
      { column_name: "tags", column_type: "VARCHAR[]" },
      { column_name: "meta", column_type: "STRUCT(depth BIGINT, \"label\" VARCHAR)" },
    ]);
    expect(await duck(`SELECT * FROM read_parquet(${sqlPath(file)}) ORDER BY id`)).toEqual(rows);
    const groups = await duck(`SELECT count(DISTINCT row_group_id)::INT AS n FROM parquet_metadata(${sqlPath(file)})`);
    expect(groups).toEqual([{ n: 3 }]);
    const codecs = await duck(`SELECT DISTINCT compression FROM parquet_metadata(${sqlPath(file)})`);
    expect(codecs).toEqual([{ compression: compression.toUpperCase() }]);
    // and back through sirocco
    expect((await readAll(file)).rows).toEqual(rows);
  });

  it.each(["zstd", "snappy"])("files DuckDB writes (%s; nested, null-heavy, several row groups) are read by sirocco identically", async (codec) => {
    const file = path.join(tmp.path, `d-${codec}.parquet`);
    await con.run(`COPY (
      SELECT i::BIGINT AS id,
             CASE WHEN i % 3 = 0 THEN NULL ELSE i * 0.25 END AS x,
             CASE WHEN i % 2 = 0 THEN NULL ELSE 'ü-' || i::VARCHAR END AS s,
             CASE WHEN i % 5 = 0 THEN NULL ELSE [i, NULL, i + 1] END AS l,
             CASE WHEN i % 4 = 0 THEN NULL ELSE {'a': i % 3 = 0, 'b': [{'c': 'x' || i::VARCHAR}]} END AS st,
             NULL::VARCHAR AS always_null,
             i::INTEGER AS i32,
             (i::DECIMAL(38, 2) * 1000000000000000001::DECIMAL(38, 0))::DECIMAL(38, 2) AS wide
      FROM range(3000) t(i)
    ) TO ${sqlPath(file)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 1024)`);
    const expected = await duck(`SELECT * FROM read_parquet(${sqlPath(file)}) ORDER BY id`);
    const { rows: got, groups } = await readAll(file);
    expect(groups).toBeGreaterThan(1);
    // DuckDB gives wide decimals as numbers (inexact); sirocco keeps them exact as strings.
    expect(got.map(({ wide: _w, ...r }) => r)).toEqual(expected.map(({ wide: _w, ...r }) => r));
    expect(got[3]!.wide).toBe("3000000000000000003.00");
    expect(got[1]).toEqual({ id: 1, x: 0.25, s: "ü-1", l: [1, null, 2], st: { a: false, b: [{ c: "x1" }] }, always_null: null, i32: 1, wide: "1000000000000000001.00" });
  });

  it("pushes a column projection into the reader and names missing columns", async () => {
    const file = path.join(tmp.path, "p.parquet");
    await fs.writeFile(file, encodeParquet(rowsToArrow(rows), { compression: "zstd", rowGroupRows: 1000 }));
    const { rows: got, groups } = await readAll(file, ["name", "id"]);
    expect(groups).toBe(3);
    expect(Object.keys(got[0]!).sort()).toEqual(["id", "name"]);
    expect(got.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(got.map((r) => r.name)).toEqual(rows.map((r) => r.name));
    const err = await readAll(file, ["id", "nope"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(`${file} has no column "nope"`);
  });

  it("a file that is not Parquet is an InputError naming it", async () => {
    const file = path.join(tmp.path, "bad.parquet");
    await fs.writeFile(file, "not parquet at all");
    const err = await readAll(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(`could not open ${file} as Parquet`);
  });

  it("rows with no fields at all are an error, not a file that silently holds zero rows; zero rows are fine", async () => {
    expect(() => encodeParquet(rowsToArrow([{}, {}]), { compression: "zstd", rowGroupRows: 10 })).toThrow(InputError);
    expect(() => encodeParquet(rowsToArrow([{}, {}]), { compression: "zstd", rowGroupRows: 10 })).toThrow(/cannot write 2 rows with no fields/);
    const file = path.join(tmp.path, "empty.parquet");
    await fs.writeFile(file, encodeParquet(rowsToArrow([]), { compression: "zstd", rowGroupRows: 10 }));
    expect((await readAll(file)).rows).toEqual([]);
  });

  it("arrays of only nulls survive (as List<Utf8>); objects that are always empty are an error naming the field", async () => {
    const file = path.join(tmp.path, "ln.parquet");
    await fs.writeFile(file, encodeParquet(rowsToArrow([{ l: [null, null] }, { l: [] }, { l: null }]), { compression: "zstd", rowGroupRows: 10 }));
    expect((await readAll(file)).rows).toEqual([{ l: [null, null] }, { l: [] }, { l: null }]);
    expect(() => encodeParquet(rowsToArrow([{ a: 1, o: {} }]), { compression: "zstd", rowGroupRows: 10 })).toThrow(/could not encode Parquet: .*empty struct.*field "o" holds only empty objects/);
  });

  it("an all-null column (Arrow Null) survives a Parquet round trip", async () => {
    const file = path.join(tmp.path, "n.parquet");
    await fs.writeFile(file, encodeParquet(rowsToArrow([{ a: 1, n: null }, { a: 2 }]), { compression: "zstd", rowGroupRows: 10 }));
    expect((await readAll(file)).rows).toEqual([{ a: 1, n: null }, { a: 2, n: null }]);
  });
});
