import type { Table } from "apache-arrow";
import { InputError } from "../../core/errors.js";
import { arrowToRows } from "../../io/columnar/arrow-to-rows.js";
import { readArrowBatches } from "../../io/columnar/arrow-ipc-io.js";
import { readParquetRowGroups } from "../../io/columnar/parquet-io.js";
import { CHUNK_ROWS, type Chunk } from "./chunk.js";

export interface LoadColumnarOptions {
  format: "parquet" | "arrow";
  /** Only these columns (Parquet: pushed into the reader; Arrow: selected from each batch). */
  columns?: readonly string[];
  /** Bytes one decoded batch may take (from the task's memory budget). */
  batchBytes?: number;
}

/**
 * `loadParquet()` / `loadArrow()`: each input row is a FileRef; reads the file one row
 * group (Parquet) or record batch (Arrow) at a time and emits its rows as plain objects in
 * chunks of about a thousand. Each row's "line" is its 1-based row number in the file, so
 * errors in later steps name file and row. A FileRef carrying `rowGroups` (a Parquet file split
 * into several shards) reads only those row groups, numbering rows from `firstRow + 1`.
 */
export async function* loadColumnarStep(input: AsyncIterable<Chunk>, o: LoadColumnarOptions): AsyncGenerator<Chunk> {
  const step = o.format === "parquet" ? "loadParquet" : "loadArrow";
  for await (const c of input) {
    for (const ref of c.rows) {
      const path = (ref as { path?: unknown } | null)?.path;
      if (typeof path !== "string") {
        throw new InputError(`${step}() expects FileRef rows ({ path, size }) from Dataset.fromFiles, got ${JSON.stringify(ref)?.slice(0, 100)}`);
      }
      const rowGroups = (ref as { rowGroups?: { start: number; end: number; firstRow: number } }).rowGroups;
      let rowNumber = (rowGroups?.firstRow ?? 0) + 1;
      const tables: AsyncIterable<Table> = o.format === "parquet" ? parquetTables(path, o.columns, rowGroups, o.batchBytes) : arrowTables(path, o.columns);
      for await (const table of tables) {
        for (let start = 0; start < table.numRows; start += CHUNK_ROWS) {
          const rows = arrowToRows(table.slice(start, Math.min(table.numRows, start + CHUNK_ROWS)));
          const lines = new Array<number>(rows.length);
          for (let i = 0; i < rows.length; i++) lines[i] = rowNumber++;
          yield { rows, lines, file: path };
        }
      }
    }
  }
}

async function* parquetTables(path: string, columns: readonly string[] | undefined, rowGroups: { start: number; end: number } | undefined, batchBytes: number | undefined): AsyncGenerator<Table> {
  for await (const g of readParquetRowGroups(path, { columns, rowGroups, batchBytes })) yield g.table;
}

async function* arrowTables(path: string, columns: readonly string[] | undefined): AsyncGenerator<Table> {
  for await (const t of readArrowBatches(path)) {
    if (!columns) {
      yield t;
      continue;
    }
    const have = t.schema.fields.map((f) => f.name);
    const missing = columns.filter((c) => !have.includes(c));
    if (missing.length > 0) {
      throw new InputError(`loadArrow: ${path} has no column ${missing.map((m) => JSON.stringify(m)).join(", ")}; it has ${have.map((h) => JSON.stringify(h)).join(", ")}`, { file: path });
    }
    yield t.select(columns as string[]);
  }
}
