import fs from "node:fs";
import path from "node:path";
import { Field, Int32, Schema, Utf8 } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { Dataset, run, TaskError, type RunOptions } from "../../../src/index.js";
import { arrowToRows } from "../../../src/io/columnar/arrow-to-rows.js";
import { readParquetRowGroups } from "../../../src/io/columnar/parquet-io.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const INLINE: RunOptions = { executor: "inline", progress: "none" };

async function readParquet(file: string): Promise<{ rows: Record<string, unknown>[]; types: string[] }> {
  const rows: Record<string, unknown>[] = [];
  let types: string[] = [];
  for await (const g of readParquetRowGroups(file)) {
    types = g.table.schema.fields.map(String);
    rows.push(...arrowToRows(g.table));
  }
  return { rows, types };
}

describe("writeParquet / loadParquet through run()", () => {
  const tmp = useTempDir();

  it("writes with an explicit schema, and skipExisting re-runs only missing shards", async () => {
    const schema = new Schema([new Field("id", new Int32(), true), new Field("name", new Utf8(), true)]);
    const rows = Array.from({ length: 30 }, (_, i) => ({ id: i, name: i % 4 === 0 ? null : `n${i}` }));
    const sink = Dataset.fromList(rows, { shards: 3 }).writeParquet(path.join(tmp.path, "p-{shard}.parquet"), { schema, skipExisting: true, rowGroupRows: 4 });
    const first = await run(sink, INLINE);
    expect(first.outputs).toEqual([0, 1, 2].map((s) => path.join(tmp.path, `p-${s}.parquet`)));
    const got = await readParquet(first.outputs[0]!);
    expect(got.types).toEqual(["id: Int32", "name: Utf8"]);
    expect(got.rows).toEqual(rows.slice(0, 10));

    fs.rmSync(first.outputs[1]!);
    const second = await run(sink, INLINE);
    expect(second.stats.stages[0]!.skippedShards).toBe(2);
    expect((await readParquet(first.outputs[1]!)).rows).toEqual(rows.slice(10, 20));

    const back = await run(Dataset.fromFiles(tmp.path, "*.parquet").loadParquet<{ id: number }>({ columns: ["id"] }), INLINE);
    expect(back.rows).toEqual(rows.map((r) => ({ id: r.id })));
  });

  it("a value that does not fit the explicit schema fails the task naming the field", async () => {
    const schema = new Schema([new Field("id", new Int32(), true)]);
    const sink = Dataset.fromList([{ id: 1 }, { id: "two" }], { shards: 1 }).writeParquet(path.join(tmp.path, "bad.parquet"), { schema });
    const err = await run(sink, INLINE).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskError);
    expect(String((err as Error).message)).toContain('field "id" has type Int32 in the schema but holds string "two"');
    expect(fs.existsSync(path.join(tmp.path, "bad.parquet"))).toBe(false);
  });
});
