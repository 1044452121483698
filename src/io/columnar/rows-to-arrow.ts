import { Data, DataType, RecordBatch, Schema, Struct, Table, Type, makeData, type Field } from "apache-arrow";
import { InputError } from "../../core/errors.js";
import { inferArrowSchema } from "./infer-arrow-schema.js";

export interface RowsToArrowOptions {
  /** Use this schema instead of inferring one; values that do not fit fail naming the field. */
  schema?: Schema;
}

const MAX_UTF8_BYTES = 2 ** 31 - 1;

/**
 * Builds one Arrow table (a single record batch) from JSON rows: the schema is inferred
 * (see {@link inferArrowSchema}) unless `schema` is given. Columns are built directly into
 * typed buffers (strings: one UTF-8 buffer plus int32 offsets), about 6× faster than
 * `vectorFromArray` for strings.
 *
 * @example const table = rowsToArrow([{ id: 1, name: "a" }, { id: 2, name: null }]);
 */
export function rowsToArrow(rows: readonly unknown[], opts: RowsToArrowOptions = {}): Table {
  const schema = opts.schema ?? inferArrowSchema(rows);
  const type = new Struct(schema.fields);
  const data = buildData(type, rows, "", true);
  return new Table(schema, [new RecordBatch(schema, data as Data<Struct>)]);
}

function validity(values: readonly unknown[]): { bitmap: Uint8Array; nullCount: number } {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { bitmap, nullCount };
}

function mismatch(path: string, type: DataType, v: unknown): InputError {
  const shown = typeof v === "string" ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v === "bigint" ? `${v}n` : JSON.stringify(v)?.slice(0, 60) ?? String(v);
  return new InputError(`field ${JSON.stringify(path)} has type ${String(type)} in the schema but holds ${Array.isArray(v) ? "array" : typeof v} ${shown}`);
}

function child(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function buildData(type: DataType, values: readonly unknown[], path: string, top = false): Data {
  const length = values.length;
  const { bitmap, nullCount } = top ? { bitmap: new Uint8Array(0), nullCount: 0 } : validity(values);
  const nullBitmap = nullCount > 0 ? bitmap : undefined;
  switch (type.typeId) {
    case Type.Null:
      for (const v of values) if (v !== null && v !== undefined) throw mismatch(path, type, v);
      return makeData({ type, length, nullCount: length });
    case Type.Bool: {
      const bits = new Uint8Array((length + 7) >> 3);
      for (let i = 0; i < length; i++) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        if (typeof v !== "boolean") throw mismatch(path, type, v);
        if (v) bits[i >> 3]! |= 1 << (i & 7);
      }
      return makeData({ type, length, nullCount, nullBitmap, data: bits } as never);
    }
    case Type.Int:
    case Type.Float: {
      const Ctor = (type as DataType & { ArrayType: new (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint } }).ArrayType;
      const out = new Ctor(length);
      const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
      for (let i = 0; i < length; i++) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        if (big) {
          if (typeof v === "bigint") out[i] = v;
          else if (typeof v === "number" && Number.isSafeInteger(v)) out[i] = BigInt(v);
          else throw mismatch(path, type, v);
        } else if (typeof v === "number") {
          if (type.typeId === Type.Int && !Number.isInteger(v)) throw mismatch(path, type, v);
          out[i] = v;
        } else throw mismatch(path, type, v);
      }
      return makeData({ type, length, nullCount, nullBitmap, data: out } as never);
    }
    case Type.Utf8: {
      const offsets = new Int32Array(length + 1);
      let bytes = 0;
      for (let i = 0; i < length; i++) {
        const v = values[i];
        if (v !== null && v !== undefined) {
          if (typeof v !== "string") throw mismatch(path, type, v);
          bytes += Buffer.byteLength(v, "utf8");
          if (bytes > MAX_UTF8_BYTES) throw new InputError(`field ${JSON.stringify(path)} holds more than 2 GiB of text in one batch; write smaller shards or row groups`);
        }
        offsets[i + 1] = bytes;
      }
      const buf = Buffer.allocUnsafe(bytes);
      for (let i = 0; i < length; i++) {
        const v = values[i];
        if (typeof v === "string") buf.write(v, offsets[i]!, "utf8");
      }
      const data = new Uint8Array(buf.buffer, buf.byteOffset, bytes);
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, data } as never);
    }
    case Type.List: {
      const offsets = new Int32Array(length + 1);
      const items: unknown[] = [];
      for (let i = 0; i < length; i++) {
        const v = values[i];
        if (v !== null && v !== undefined) {
          if (!Array.isArray(v)) throw mismatch(path, type, v);
          for (const x of v) items.push(x);
        }
        offsets[i + 1] = items.length;
      }
      const itemField = (type.children as Field[])[0]!;
      const childData = buildData(itemField.type, items, `${path}[]`);
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, child: childData } as never);
    }
    case Type.Struct: {
      const names = new Set((type.children as Field[]).map((f) => f.name));
      for (const v of values) {
        if (v === null || v === undefined) continue;
        if (typeof v !== "object" || Array.isArray(v)) throw mismatch(path || "(row)", type, v);
        for (const key in v) {
          if (!names.has(key) && (v as Record<string, unknown>)[key] !== undefined) {
            throw new InputError(`field ${JSON.stringify(child(path, key))} is not in the schema (${path === "" ? "top level" : JSON.stringify(path)} has ${[...names].map((n) => JSON.stringify(n)).join(", ")}); it would be lost — add it to the schema or drop it in a map step`);
          }
        }
      }
      const children = (type.children as Field[]).map((f) =>
        buildData(
          f.type,
          values.map((v) => (v === null || v === undefined ? null : (v as Record<string, unknown>)[f.name])),
          child(path, f.name),
        ),
      );
      return makeData({ type, length, nullCount, nullBitmap, children } as never);
    }
    default:
      throw new InputError(`field ${JSON.stringify(path)}: building Arrow type ${String(type)} from rows is not supported (use Null, Bool, Int*, Float*, Utf8, List or Struct)`);
  }
}
