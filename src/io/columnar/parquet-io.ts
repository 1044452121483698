import { openAsBlob } from "node:fs";
import { DataType, tableFromIPC, tableToIPC, type Field, type Table } from "apache-arrow";
// The Node build of parquet-wasm loads its WASM module synchronously when first imported,
// so the module is initialised once per thread (the module cache), never per task.
import * as pw from "parquet-wasm";
import { InputError, SiroccoError } from "../../core/errors.js";
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

/** What `readParquetRowGroups` reads: a projection, a range of row groups, a memory budget. */
export interface ParquetReadOptions {
  /** Only these columns are decoded. */
  columns?: readonly string[] | undefined;
  /** Row groups `start`…`end - 1` (default: all). */
  rowGroups?: { start: number; end: number } | undefined;
  /** Bytes one decoded batch may take (default 64 MB): sets the rows per batch from the row group's size. */
  batchBytes?: number | undefined;
}

/** Rows and compressed bytes of each row group of a Parquet file (reads the footer only). */
export async function parquetRowGroups(path: string): Promise<Array<{ rows: number; bytes: number }>> {
  const file = await openParquet(path);
  try {
    return file.metadata().rowGroups().map((g) => {
      const r = { rows: g.numRows(), bytes: g.compressedSize() };
      g.free();
      return r;
    });
  } finally {
    file.free();
  }
}

async function openParquet(path: string): Promise<pw.ParquetFile> {
  try {
    return await pw.ParquetFile.fromFile(await blobOf(path));
  } catch (e) {
    throw new InputError(`could not open ${path} as Parquet (is it a Parquet file, whole and not truncated?): ${errorText(e)}`, { file: path }, { cause: e });
  }
}

/**
 * Reads a Parquet file one row group at a time, and each row group in batches of rows sized
 * from its uncompressed bytes, so memory holds one batch (plus the row group's compressed
 * column chunks), never the file. `columns` is pushed into the reader: other columns are
 * never decoded. A column the file does not have is an InputError naming the file and the
 * columns it has. Local files are read by range; `gs://` objects are downloaded whole first.
 *
 * @example for await (const t of readParquetRowGroups("in/a.parquet", { columns: ["id"] })) console.log(t.table.numRows)
 */
export async function* readParquetRowGroups(path: string, opts: ParquetReadOptions = {}): AsyncGenerator<{ table: Table; rowGroup: number }> {
  for await (const b of readParquetBatches(path, opts)) yield { table: tableFromIPC(b.batch.intoIPCStream()), rowGroup: b.rowGroup };
}

/**
 * What {@link readParquetRowGroups} reads, as parquet-wasm record batches (still in WASM
 * memory, never decoded into JS): for copying Parquet to Parquet without rows. The caller
 * owns each batch (hand it to a writer, or `free()` it).
 */
export async function* readParquetBatches(path: string, opts: ParquetReadOptions = {}): AsyncGenerator<{ batch: pw.RecordBatch; rowGroup: number }> {
  const { columns } = opts;
  const file = await openParquet(path);
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
    const start = opts.rowGroups?.start ?? 0;
    const end = Math.min(groups, opts.rowGroups?.end ?? groups);
    for (let g = start; g < end; g++) {
      const gm = meta.rowGroup(g);
      const rows = gm.numRows();
      const rowBytes = gm.totalByteSize() / Math.max(1, rows);
      gm.free();
      if (rows === 0) continue;
      const batchSize = Math.max(256, Math.min(rows, Math.floor((opts.batchBytes ?? 64 * 2 ** 20) / Math.max(1, rowBytes))));
      try {
        const stream = await file.stream({ rowGroups: [g], batchSize, ...(columns ? { columns: [...columns] } : {}) });
        for await (const batch of stream as unknown as AsyncIterable<pw.RecordBatch>) yield { batch, rowGroup: g };
      } catch (e) {
        if (e instanceof InputError) throw e;
        throw new InputError(`could not read row group ${g} of ${path} (corrupt or truncated Parquet?): ${errorText(e)}`, { file: path }, { cause: e });
      }
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

/**
 * Writes Parquet as a stream: Arrow tables in (all with one schema), file bytes out, one
 * row group at a time (parquet-wasm's `transformParquetStream`), so memory holds the batch
 * being encoded and one encoded row group, not the file. `write` resolves once the encoder
 * has taken the batch; `end` resolves after the footer has been handed to `sink`.
 *
 * @example const w = new ParquetStreamWriter({ compression: "zstd", rowGroupRows: 100_000 }, (b) => out.write(b)); await w.write(t); await w.end();
 */
export class ParquetStreamWriter {
  private waiting: ((b: pw.RecordBatch | null) => void) | undefined;
  private queued: Array<pw.RecordBatch | null> = [];
  private taken: (() => void) | undefined;
  private readonly done: Promise<void>;
  private failed: unknown;

  constructor(opts: { compression: ParquetCompression; rowGroupRows: number; rowGroupBytes?: number }, sink: (bytes: Uint8Array) => Promise<void>) {
    let builder = new pw.WriterPropertiesBuilder().setCompression(CODECS[opts.compression]).setMaxRowGroupSize(opts.rowGroupRows).setCreatedBy("sirocco");
    if (opts.rowGroupBytes !== undefined) builder = builder.setMaxRowGroupBytes(opts.rowGroupBytes);
    const props = builder.build();
    const batches = new ReadableStream<pw.RecordBatch>(
      {
        pull: async (ctrl) => {
          const b = await this.next();
          if (b === null) ctrl.close();
          else ctrl.enqueue(b);
        },
      },
      { highWaterMark: 0 },
    );
    this.done = (async () => {
      const bytes = await pw.transformParquetStream(batches, props);
      for await (const c of bytes as unknown as AsyncIterable<Uint8Array>) await sink(c);
    })().catch((e: unknown) => {
      this.failed = e;
      this.taken?.();
      // The sink's own errors (a store failing) keep their class, so retries see them as they are.
      throw e instanceof SiroccoError ? e : new InputError(`could not encode Parquet: ${errorText(e)}`, {}, { cause: e });
    });
    this.done.catch(() => {});
  }

  private next(): Promise<pw.RecordBatch | null> {
    this.taken?.();
    this.taken = undefined;
    const q = this.queued.shift();
    if (q !== undefined) return Promise.resolve(q);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private offer(b: pw.RecordBatch | null): Promise<void> {
    const taken = new Promise<void>((resolve) => (this.taken = resolve));
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(b);
    } else this.queued.push(b);
    return taken;
  }

  /** Hands one parquet-wasm record batch to the encoder (which takes ownership); resolves when it has been taken. */
  async writeBatch(batch: pw.RecordBatch): Promise<void> {
    if (this.failed) await this.done;
    await Promise.race([this.offer(batch), this.done]);
    if (this.failed) await this.done;
  }

  /** Hands one table to the encoder; resolves when it has been taken (backpressure). */
  async write(table: Table): Promise<void> {
    if (this.failed) await this.done;
    if (table.numRows === 0) return;
    if (table.numCols === 0) throw new InputError(`cannot write ${table.numRows} rows with no fields (empty objects) to Parquet: a file without columns records no rows; add a field in a map step`);
    const wt = pw.Table.fromIPCStream(tableToIPC(table, "stream"));
    const batches = wt.recordBatches();
    wt.free();
    for (const b of batches) await Promise.race([this.offer(b), this.done]);
    if (this.failed) await this.done;
  }

  /** Stops encoding (the output is being discarded); never throws. */
  async abort(): Promise<void> {
    if (!this.failed) void this.offer(null);
    await this.done.catch(() => {});
  }

  /** Writes the footer; resolves when every byte has gone to the sink. */
  async end(): Promise<void> {
    if (!this.failed) void this.offer(null);
    await this.done;
  }
}

function hasEmptyStruct(t: DataType): boolean {
  if (DataType.isStruct(t)) return t.children.length === 0 || t.children.some((c) => hasEmptyStruct(c.type));
  return (t.children ?? []).some((c: Field) => hasEmptyStruct(c.type));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
