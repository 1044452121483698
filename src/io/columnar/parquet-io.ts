import { openAsBlob } from "node:fs";
import { DataType, tableFromIPC, tableToIPC, type Field, type Table } from "apache-arrow";
// The Node build of parquet-wasm loads its WASM module synchronously when first imported,
// so the module is initialised once per thread (the module cache), never per task.
import * as pw from "parquet-wasm";
import { InputError } from "../../core/errors.js";
import { storeFor } from "../store-for.js";

/** Parquet compression codecs `writeParquet` accepts. */
export type ParquetCompression = "zstd" | "snappy" | "gzip" | "brotli" | "lz4_raw" | "uncompressed";


const CODECS: Record<ParquetCompression, pw.Compression> = {
  zstd: pw.Compression.ZSTD,
  snappy: pw.Compression.SNAPPY,
  gzip: pw.Compression.GZIP,
  brotli: pw.Compression.BROTLI,
  lz4_raw: pw.Compression.LZ4_RAW,
  uncompressed: pw.Compression.UNCOMPRESSED,
};

/** The whole object as a Blob: a lazy file-backed Blob locally, downloaded bytes from a remote store. */
export async function blobOf(path: string): Promise<Blob> {
  if (!path.includes("://")) return openAsBlob(path);
  const parts: Buffer[] = [];
  for await (const c of storeFor(path).openRead(path)) parts.push(c as Buffer);
  return new Blob(parts);
}

/**
 * Reads a Parquet file one row group at a time (so memory holds one row group, not the
 * file), yielding each as an Arrow table. `columns` is pushed into the reader: other
 * columns are never decoded. A column the file does not have is an InputError naming the
 * file and the columns it has.
 *
 * @example for await (const t of readParquetRowGroups("in/a.parquet", ["id"])) console.log(t.numRows)
 */
export async function* readParquetRowGroups(path: string, columns?: readonly string[]): AsyncGenerator<{ table: Table; rowGroup: number }> {
  let file: pw.ParquetFile;
  try {
    file = await pw.ParquetFile.fromFile(await blobOf(path));
  } catch (e) {
    throw new InputError(`could not open ${path} as Parquet: ${errorText(e)}`, { file: path }, { cause: e });
  }
  try {
    const meta = file.metadata();
    const groups = meta.numRowGroups();
    if (columns) {
      const have = new Set(tableFromIPC(file.schema().intoIPCStream()).schema.fields.map((f) => f.name));
      const missing = columns.filter((c) => !have.has(c));
      if (missing.length > 0) {
        throw new InputError(`loadParquet: ${path} has no column ${missing.map((m) => JSON.stringify(m)).join(", ")}; it has ${[...have].map((h) => JSON.stringify(h)).join(", ")}`, { file: path });
      }
    }
    for (let g = 0; g < groups; g++) {
      let table: Table;
      try {
        const wt = await file.read({ rowGroups: [g], ...(columns ? { columns: [...columns] } : {}) });
        table = tableFromIPC(wt.intoIPCStream());
      } catch (e) {
        throw new InputError(`could not read row group ${g} of ${path}: ${errorText(e)}`, { file: path }, { cause: e });
      }
      yield { table, rowGroup: g };
    }
  } finally {
    file.free();
  }
}

/**
 * Encodes an Arrow table as a Parquet file (in memory) with `compression` and at most
 * `rowGroupRows` rows per row group.
 *
 * @example const bytes = encodeParquet(rowsToArrow(rows), { compression: "zstd", rowGroupRows: 100_000 })
 */
export function encodeParquet(table: Table, opts: { compression: ParquetCompression; rowGroupRows: number }): Uint8Array {
  if (table.numCols === 0 && table.numRows > 0) {
    // A Parquet file without columns cannot record how many rows it has: they would be lost.
    throw new InputError(`cannot write ${table.numRows} rows with no fields (empty objects) to Parquet: a file without columns records no rows; add a field in a map step`);
  }
  const wt = pw.Table.fromIPCStream(tableToIPC(table, "stream"));
  const props = new pw.WriterPropertiesBuilder().setCompression(CODECS[opts.compression]).setMaxRowGroupSize(opts.rowGroupRows).setCreatedBy("sirocco").build();
  try {
    return pw.writeParquet(wt, props);
  } catch (e) {
    const empty = table.schema.fields.filter((f) => hasEmptyStruct(f.type)).map((f) => JSON.stringify(f.name));
    const hint = empty.length > 0 ? ` (field ${empty.join(", ")} holds only empty objects: drop it or give it a field in a map step)` : "";
    throw new InputError(`could not encode Parquet: ${errorText(e)}${hint}`, {}, { cause: e });
  }
}

function hasEmptyStruct(t: DataType): boolean {
  if (DataType.isStruct(t)) return t.children.length === 0 || t.children.some((c) => hasEmptyStruct(c.type));
  return (t.children ?? []).some((c: Field) => hasEmptyStruct(c.type));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
