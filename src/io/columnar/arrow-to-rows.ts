import { DataType, Precision, Type, makeVector, util, type Decimal, type Table, type Vector } from "apache-arrow";

/**
 * Turns an Arrow table back into JSON rows: one plain object per row with every schema
 * field present (null where the value is null). Int64 values become numbers when they are
 * safe integers and stay bigints otherwise; structs become objects, lists arrays,
 * dictionary-encoded columns their values. A decimal becomes the number its decimal text
 * parses to while its unscaled value is a safe integer, else that exact text as a string.
 *
 * @example arrowToRows(rowsToArrow([{ a: 1 }, {}])) // [{ a: 1 }, { a: null }]
 */
export function arrowToRows(table: Table): Record<string, unknown>[] {
  const names = table.schema.fields.map((f) => f.name);
  const rows: Record<string, unknown>[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) rows[i] = {};
  names.forEach((name, j) => {
    const col = table.getChildAt(j);
    if (!col) return;
    const values = vectorValues(col);
    for (let i = 0; i < rows.length; i++) rows[i]![name] = values[i];
  });
  return rows;
}

function scalar(v: unknown): unknown {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  return v === undefined ? null : v;
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** An exact decimal string for decimals wider than a float64 holds exactly. */
function decimalString(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const text = scale > 0 ? `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}` : digits;
  return neg ? `-${text}` : text;
}

/** The values of one column as JSON values (recursive for nested types). */
export function vectorValues(vec: Vector): unknown[] {
  const n = vec.length;
  const out = new Array<unknown>(n);
  const type: DataType = vec.type;
  if (DataType.isStruct(type)) {
    const fields = type.children;
    const cols = fields.map((_, j) => vectorValues(vec.getChildAt(j)!));
    for (let i = 0; i < n; i++) {
      if (!vec.isValid(i)) {
        out[i] = null;
        continue;
      }
      const o: Record<string, unknown> = {};
      fields.forEach((f, j) => (o[f.name] = cols[j]![i]));
      out[i] = o;
    }
    return out;
  }
  if (DataType.isList(type)) {
    // Per chunk: decode the whole child column once, then slice it by the offsets.
    let i = 0;
    for (const d of vec.data) {
      const offsets = d.valueOffsets as Int32Array;
      // A sliced Data (Table.slice) has its offsets buffer sliced too: index it from 0 then.
      const at = offsets.length === d.length + 1 ? 0 : d.offset;
      const base = offsets[at]!;
      const end = offsets[at + d.length]!;
      const items = vectorValues(makeVector(d.children[0]!).slice(base, end));
      for (let j = 0; j < d.length; j++, i++) {
        out[i] = d.getValid(j) ? items.slice(offsets[at + j]! - base, offsets[at + j + 1]! - base) : null;
      }
    }
    return out;
  }
  if (DataType.isFixedSizeList(type) || type.typeId === Type.LargeList) {
    for (let i = 0; i < n; i++) {
      const sub = vec.get(i) as Vector | null;
      out[i] = sub === null || sub === undefined ? null : vectorValues(sub);
    }
    return out;
  }
  if (DataType.isNull(type)) return out.fill(null);
  if (DataType.isDecimal(type)) {
    const { scale } = type as Decimal;
    for (let i = 0; i < n; i++) {
      const v = vec.get(i) as Parameters<typeof util.bigNumToBigInt>[0] | null;
      if (v === null || v === undefined) {
        out[i] = null;
        continue;
      }
      const unscaled = util.bigNumToBigInt(v);
      const text = decimalString(unscaled, scale);
      out[i] = unscaled <= MAX_EXACT && unscaled >= -MAX_EXACT ? Number(text) : text;
    }
    return out;
  }
  if ((DataType.isFloat(type) && type.precision !== Precision.HALF) || (DataType.isInt(type) && type.bitWidth <= 32)) {
    const values = vec.toArray() as ArrayLike<number>;
    const nulls = vec.nullCount > 0;
    for (let i = 0; i < n; i++) out[i] = nulls && !vec.isValid(i) ? null : values[i];
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = scalar(vec.get(i));
  return out;
}
