import { Field, Float64, Int64, Schema, Struct, Utf8 } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../../src/core/errors.js";
import { arrowToRows } from "../../../../src/io/columnar/arrow-to-rows.js";
import { encodeArrowFile } from "../../../../src/io/columnar/arrow-ipc-io.js";
import { inferArrowSchema } from "../../../../src/io/columnar/infer-arrow-schema.js";
import { rowsToArrow } from "../../../../src/io/columnar/rows-to-arrow.js";
import { tableFromIPC } from "apache-arrow";

function types(rows: unknown[]): Record<string, string> {
  return Object.fromEntries(inferArrowSchema(rows).fields.map((f) => [f.name, String(f.type)]));
}

/** rows → Arrow → IPC bytes → Arrow → rows, with missing fields expected as null. */
function roundTrip(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return arrowToRows(tableFromIPC(encodeArrowFile(rowsToArrow(rows))));
}

function withNulls(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const names = inferArrowSchema(rows).fields.map((f) => f.name);
  return rows.map((r) => Object.fromEntries(names.map((n) => [n, r[n] ?? null])));
}

describe("inferArrowSchema", () => {
  it("maps JSON types to Arrow types; ints mixed with floats widen to Float64", () => {
    expect(types([{ b: true, i: 1, f: 1.5, s: "x", n: null, mix: 1 }, { mix: 2.5 }])).toEqual({
      b: "Bool",
      i: "Int64",
      f: "Float64",
      s: "Utf8",
      n: "Null",
      mix: "Float64",
    });
  });

  it("infers nested structs and lists, merging fields across rows and taking types from later rows when earlier ones are null", () => {
    expect(types([{ o: { a: 1 }, l: [] }, { o: { b: "x" }, l: [null, [1]] }, { o: null, l: [[2.5]] }])).toEqual({
      o: "Struct<{a:Int64, b:Utf8}>",
      l: "List<List<Float64>>",
    });
  });

  it("unsafe integers and -0 become Float64 (Int64 could not hold them exactly as numbers)", () => {
    expect(types([{ big: 2 ** 60, z: -0 }])).toEqual({ big: "Float64", z: "Float64" });
  });

  it("rejects rows that cannot share a schema, naming the field, both types and the row", () => {
    expect(() => inferArrowSchema([{ a: { x: "s" } }, { a: { x: { y: 1 } } }])).toThrow(InputError);
    expect(() => inferArrowSchema([{ a: { x: "s" } }, { a: { x: { y: 1 } } }])).toThrow(/field "a\.x" is string in earlier rows and object in row 1/);
    expect(() => inferArrowSchema([{ t: [1] }, { t: ["a"] }])).toThrow(/field "t\[\]" is number in earlier rows and string in row 1/);
    expect(() => inferArrowSchema([{ a: true }, { a: 1 }])).toThrow(/field "a" is boolean in earlier rows and number in row 1/);
  });

  it("rejects non-object rows and values with no JSON type", () => {
    expect(() => inferArrowSchema([1])).toThrow(/row 0 is number, not an object/);
    expect(() => inferArrowSchema([{ d: new Date(0) }])).toThrow(/field "d" in row 0 holds a Date/);
  });
});

describe("rowsToArrow / arrowToRows", () => {
  it("round-trips nulls, missing fields (read back as null), unicode and very long strings exactly", () => {
    const long = "é🌍x".repeat(300_000);
    const rows = [
      { id: 1, s: "héllo wörld 日本 🎉", f: 0.1, o: { a: [1, 2, 3], b: { c: null } }, l: [["a", null], [], null] },
      { id: 2, s: "", f: -1e308, extra: true },
      { id: null, s: long, f: 2, o: null, l: null },
      {},
    ];
    const back = roundTrip(rows);
    expect(back).toEqual(withNulls(rows).map((r) => ({ ...r, o: r.o === null ? null : { a: [1, 2, 3], b: { c: null } } })));
    expect((back[2]!.s as string).length).toBe(long.length);
    expect(back[0]!.id).toBe(1);
    expect(typeof back[0]!.id).toBe("number");
  });

  it("keeps nested struct fields missing in some rows as null", () => {
    expect(roundTrip([{ o: { a: 1 } }, { o: { b: "x" } }])).toEqual([{ o: { a: 1, b: null } }, { o: { a: null, b: "x" } }]);
  });

  it("round-trips an empty row set and an all-null column", () => {
    expect(roundTrip([])).toEqual([]);
    expect(roundTrip([{ n: null }, { n: null }])).toEqual([{ n: null }, { n: null }]);
  });

  it("round-trips integer extremes, bigint beyond 2^53 and -0", () => {
    const rows = [{ a: Number.MAX_SAFE_INTEGER, b: -0, c: 9007199254740993n }, { a: Number.MIN_SAFE_INTEGER, b: 1.5, c: 1n }];
    const back = roundTrip(rows);
    expect(back[0]!.a).toBe(Number.MAX_SAFE_INTEGER);
    expect(Object.is(back[0]!.b, -0)).toBe(true);
    expect(back[0]!.c).toBe(9007199254740993n);
    expect(back[1]).toEqual({ a: Number.MIN_SAFE_INTEGER, b: 1.5, c: 1 });
  });

  it("builds utf8 columns whose bytes match the strings (multi-byte offsets)", () => {
    const t = rowsToArrow([{ s: "a" }, { s: "日本" }, { s: null }, { s: "🎉x" }]);
    const col = t.getChild("s")!;
    expect(col.toArray()).toEqual(["a", "日本", null, "🎉x"]);
    expect(col.nullCount).toBe(1);
  });

  it("with an explicit schema: coerces to it and fails naming the field when a value does not fit or would be lost", () => {
    const schema = new Schema([new Field("id", new Int64(), true), new Field("x", new Float64(), true), new Field("o", new Struct([new Field("s", new Utf8(), true)]), true)]);
    const t = rowsToArrow([{ id: 1, x: 2, o: { s: "a" } }, { id: null }], { schema });
    expect(t.schema.fields.map(String)).toEqual(["id: Int64", "x: Float64", "o: Struct<{s:Utf8}>"]);
    expect(arrowToRows(t)).toEqual([{ id: 1, x: 2, o: { s: "a" } }, { id: null, x: null, o: null }]);
    expect(() => rowsToArrow([{ id: "1" }], { schema })).toThrow(/field "id" has type Int64 in the schema but holds string "1"/);
    expect(() => rowsToArrow([{ id: 1.5 }], { schema })).toThrow(/field "id" has type Int64 in the schema but holds number 1.5/);
    expect(() => rowsToArrow([{ o: { s: "a", t: 1 } }], { schema })).toThrow(/field "o\.t" is not in the schema/);
    expect(() => rowsToArrow([{ zz: 1 }], { schema })).toThrow(InputError);
  });

  it("slices of a table (how loadParquet cuts batches into chunks) give the rows of the slice, lists and structs included", () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, tags: i % 3 === 0 ? [] : [`t${i % 11}`, `u${i % 5}`], o: i % 4 === 0 ? null : { l: [i, i + 1] } }));
    const table = tableFromIPC(encodeArrowFile(rowsToArrow(rows)));
    for (const [a, b] of [[0, 1000], [1000, 2000], [1024, 1030], [2999, 3000]] as const) {
      expect(arrowToRows(table.slice(a, b))).toEqual(rows.slice(a, b));
    }
  });
});
