/** Memory budget of a task when none is given (matches `run()`'s default `memory`). */
export const DEFAULT_TASK_MEMORY = 1e9;

/**
 * Bytes one batch may hold in a task with `memoryBytes` of budget: a sixteenth, at least
 * 1 MiB and at most 256 MiB. The rest of the budget covers the batch's other forms (JS
 * objects ≈ 3–5× their JSON size, the Arrow copy, the encoder's row group) and the runtime.
 *
 * @example batchBytesFor(32e6) // 2_000_000
 */
export function batchBytesFor(memoryBytes: number | undefined): number {
  return Math.min(256 * 2 ** 20, Math.max(2 ** 20, Math.floor((memoryBytes ?? DEFAULT_TASK_MEMORY) / 16)));
}

/**
 * About how many bytes `rows` take as JSON text, from a deterministic sample (every 16th
 * row): cheap enough to call per chunk, close enough to size batches.
 *
 * @example approxRowsBytes([{ a: "xyz" }]) // ≈ 12
 */
export function approxRowsBytes(rows: readonly unknown[]): number {
  if (rows.length === 0) return 0;
  const step = rows.length > 64 ? 16 : 1;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < rows.length; i += step, n++) sum += approxBytes(rows[i], 0);
  return Math.ceil((sum / n) * rows.length);
}

function approxBytes(v: unknown, depth: number): number {
  switch (typeof v) {
    case "string":
      return v.length + 2;
    case "number":
    case "bigint":
      return 8;
    case "boolean":
      return 5;
    case "object": {
      if (v === null) return 4;
      if (depth > 32) return 64;
      let sum = 2;
      if (Array.isArray(v)) for (const x of v) sum += approxBytes(x, depth + 1) + 1;
      else for (const k in v) sum += k.length + 4 + approxBytes((v as Record<string, unknown>)[k], depth + 1);
      return sum;
    }
    default:
      return 8;
  }
}
