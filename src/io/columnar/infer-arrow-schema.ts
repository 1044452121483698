import { Bool, Field, Float64, Int64, List, Null, Schema, Struct, Utf8, type DataType } from "apache-arrow";
import { InputError } from "../../core/errors.js";

/**
 * The type of a JSON value as schema inference sees it, before it becomes an Arrow type.
 * `null` is the type of a field that was only ever null or missing.
 */
export type JsonType =
  | { readonly k: "null" }
  | { readonly k: "bool" }
  | { readonly k: "int" }
  | { readonly k: "float" }
  | { readonly k: "string" }
  | { readonly k: "struct"; readonly fields: Map<string, JsonType> }
  | { readonly k: "list"; readonly item: JsonType };

const NULL: JsonType = { k: "null" };
const BOOL: JsonType = { k: "bool" };
const INT: JsonType = { k: "int" };
const FLOAT: JsonType = { k: "float" };
const STRING: JsonType = { k: "string" };

function typeName(t: JsonType): string {
  return t.k === "struct" ? "object" : t.k === "list" ? "array" : t.k === "int" || t.k === "float" ? "number" : t.k === "bool" ? "boolean" : t.k;
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** The JSON type of one value; `path` names the field in errors. */
export function typeOfValue(v: unknown, path: string, row: number): JsonType {
  if (v === null || v === undefined) return NULL;
  switch (typeof v) {
    case "boolean":
      return BOOL;
    case "number":
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? INT : FLOAT;
    case "bigint":
      return INT;
    case "string":
      return STRING;
    case "object": {
      if (Array.isArray(v)) {
        let item: JsonType = NULL;
        for (let i = 0; i < v.length; i++) item = mergeTypes(item, typeOfValue(v[i], `${path}[]`, row), `${path}[]`, row);
        return { k: "list", item };
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new InputError(`field ${JSON.stringify(path)} in row ${row} holds a ${(v as object).constructor?.name ?? "non-plain object"}, which has no Arrow type; convert it to plain JSON (string, number, boolean, array, object) first`);
      }
      const fields = new Map<string, JsonType>();
      for (const [key, child] of Object.entries(v)) fields.set(key, typeOfValue(child, path === "" ? key : `${path}.${key}`, row));
      return { k: "struct", fields };
    }
    default:
      throw new InputError(`field ${JSON.stringify(path)} in row ${row} holds a ${describeValue(v)}, which has no Arrow type`);
  }
}

/**
 * Widens two JSON types to one: null merges with anything, int with float gives float,
 * objects merge field by field, arrays by item type. Anything else cannot share a column:
 * an InputError naming the field and both types (never a silent conversion).
 */
export function mergeTypes(a: JsonType, b: JsonType, path: string, row: number): JsonType {
  if (a.k === "null") return b;
  if (b.k === "null") return a;
  if (a.k === b.k) {
    if (a.k === "struct" && b.k === "struct") {
      const fields = new Map(a.fields);
      for (const [key, t] of b.fields) {
        const prev = fields.get(key);
        fields.set(key, prev ? mergeTypes(prev, t, path === "" ? key : `${path}.${key}`, row) : t);
      }
      return { k: "struct", fields };
    }
    if (a.k === "list" && b.k === "list") return { k: "list", item: mergeTypes(a.item, b.item, `${path}[]`, row) };
    return a;
  }
  if ((a.k === "int" && b.k === "float") || (a.k === "float" && b.k === "int")) return FLOAT;
  throw new InputError(
    `rows cannot share one Arrow schema: field ${JSON.stringify(path)} is ${typeName(a)} in earlier rows and ${typeName(b)} in row ${row}; make the rows consistent in a map step, or pass an explicit schema`,
    { line: row },
  );
}

/** The Arrow type of an inferred JSON type. */
export function arrowTypeOf(t: JsonType): DataType {
  switch (t.k) {
    case "null":
      return new Null();
    case "bool":
      return new Bool();
    case "int":
      return new Int64();
    case "float":
      return new Float64();
    case "string":
      return new Utf8();
    case "list":
      // Items only ever null: Utf8 (all null), because List<Null> does not survive Parquet.
      return new List(new Field("item", t.item.k === "null" ? new Utf8() : arrowTypeOf(t.item), true));
    case "struct":
      return new Struct([...t.fields].map(([name, ft]) => new Field(name, arrowTypeOf(ft), true)));
  }
}

/** A column's type while rows are observed: widened in place, so no per-row allocation. */
class TypeAccumulator {
  k: JsonType["k"] = "null";
  fields?: Map<string, TypeAccumulator>;
  item?: TypeAccumulator;
  constructor(readonly path: string) {}

  observe(v: unknown, row: number): void {
    if (v === null || v === undefined) return;
    const t = kindOf(v, this.path, row);
    if (this.k !== t) {
      if (this.k === "null") {
        this.k = t;
        if (t === "struct") this.fields = new Map();
        else if (t === "list") this.item = new TypeAccumulator(`${this.path}[]`);
      } else if ((this.k === "int" && t === "float") || (this.k === "float" && t === "int")) {
        this.k = "float";
      } else {
        mergeTypes({ k: this.k } as JsonType, { k: t } as JsonType, this.path, row); // throws the conflict error
      }
    }
    if (t === "struct") {
      const fields = this.fields!;
      for (const key in v as object) {
        let acc = fields.get(key);
        if (!acc) fields.set(key, (acc = new TypeAccumulator(this.path === "" ? key : `${this.path}.${key}`)));
        acc.observe((v as Record<string, unknown>)[key], row);
      }
    } else if (t === "list") {
      const item = this.item!;
      for (const x of v as unknown[]) item.observe(x, row);
    }
  }

  toType(): JsonType {
    if (this.k === "struct") return { k: "struct", fields: new Map([...this.fields!].map(([key, acc]) => [key, acc.toType()])) };
    if (this.k === "list") return { k: "list", item: this.item!.toType() };
    return { k: this.k } as JsonType;
  }
}

function kindOf(v: unknown, path: string, row: number): JsonType["k"] {
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "number":
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? "int" : "float";
    case "bigint":
      return "int";
    case "string":
      return "string";
    case "object":
      if (Array.isArray(v)) return "list";
      typeOfValue(Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null ? {} : v, path, row); // throws for non-plain objects
      return "struct";
    default:
      return typeOfValue(v, path, row).k; // throws: no Arrow type
  }
}

/**
 * Infers one Arrow schema for a set of JSON rows (plain objects). Every field is nullable;
 * a field missing from some rows is null there. Mapping: boolean → Bool, integers (safe
 * integers and bigints) → Int64, other numbers (or ints mixed with them) → Float64,
 * string → Utf8, object → Struct, array → List (of Utf8 when its items are only ever null),
 * only null/missing → Null. Fields keep the
 * order in which they were first seen. Rows that cannot share a type fail naming the field,
 * both types and the row.
 *
 * @example inferArrowSchema([{ id: 1, tags: ["a"] }, { id: 2.5 }]) // id: Float64, tags: List<Utf8>
 */
export function inferArrowSchema(rows: readonly unknown[]): Schema {
  const acc = new SchemaAccumulator();
  acc.observe(rows);
  return acc.schema();
}

/**
 * Schema inference over rows that arrive in batches (a shard too large to hold at once):
 * `observe` each batch, then `schema()` is what {@link inferArrowSchema} gives for all of
 * them together. Rows are numbered across batches in errors.
 *
 * @example const acc = new SchemaAccumulator(); acc.observe([{ a: 1 }]); acc.observe([{ a: 1.5 }]); acc.schema() // a: Float64
 */
export class SchemaAccumulator {
  private readonly top = new TypeAccumulator("");
  private seen = 0;

  constructor() {
    this.top.k = "struct";
    this.top.fields = new Map();
  }

  observe(rows: readonly unknown[]): void {
    for (let j = 0; j < rows.length; j++) {
      const r = rows[j];
      const i = this.seen + j;
      if (r === null || typeof r !== "object" || Array.isArray(r)) {
        throw new InputError(`row ${i} is ${describeValue(r)}, not an object; columnar formats need rows that are objects (e.g. map((x) => ({ value: x })))`, { line: i });
      }
      this.top.observe(r, i);
    }
    this.seen += rows.length;
  }

  schema(): Schema {
    return new Schema([...this.top.fields!].map(([name, acc]) => new Field(name, arrowTypeOf(acc.toType()), true)));
  }
}
