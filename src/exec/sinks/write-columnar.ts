import { RecordBatchFileWriter, type Schema, type Table } from "apache-arrow";
import { InputError, InternalError } from "../../core/errors.js";
import { encodeArrowFile } from "../../io/columnar/arrow-ipc-io.js";
import { SchemaAccumulator, inferArrowSchema } from "../../io/columnar/infer-arrow-schema.js";
import { encodeParquet, ParquetStreamWriter, type ParquetCompression } from "../../io/columnar/parquet-io.js";
import { rowsToArrow } from "../../io/columnar/rows-to-arrow.js";
import type { FileWriter } from "../../io/file-writer.js";
import { approxRowsBytes, batchBytesFor } from "../memory-budget.js";
import type { Chunk } from "../operators/chunk.js";
import { writeCommitted } from "./write-committed.js";

export type ColumnarSinkFormat = ({ format: "parquet"; compression: ParquetCompression; rowGroupRows: number } | { format: "arrow" }) & { schema?: Schema | undefined };

export interface ColumnarTarget {
  outputPath: string | undefined;
  /** Tag of the temporary file (the run id). */
  tempTag: string;
  /** The output's generation when the driver planned the task ("0" = absent). */
  ifGeneration?: string | undefined;
  /** The task's memory budget: batches are a sixteenth of it (see batchBytesFor). */
  memoryBytes: number;
}

/** A later batch holds a value the schema inferred from the first batch does not fit. */
class SchemaOutgrown extends Error {}

/**
 * Writes a shard as one Parquet or Arrow IPC file within the task's memory budget. Rows are
 * gathered into batches of about `batchBytesFor(memoryBytes)` bytes (and at most
 * `rowGroupRows` rows for Parquet). A shard that fits in one batch is written as before:
 * one schema inferred over all its rows. A larger shard streams: the schema is inferred from
 * the first batch (or given), and each batch is encoded and written as it fills (Parquet row
 * groups via parquet-wasm's streaming writer), so memory holds about one batch. If a later
 * batch needs a wider schema (a column null so far now holds text, ints now hold a float,
 * a new field), the partial file is dropped and the shard is written in two passes over
 * its steps (`reopen`): one inferring the schema over every row, one writing — exact, never
 * a silent conversion. The file is committed atomically (temporary name + rename locally, a
 * generation precondition on `gs://`): the final path holds a whole file or nothing. Returns
 * the bytes written.
 */
export async function writeColumnarSink(chunks: AsyncIterable<Chunk>, reopen: () => AsyncIterable<Chunk>, f: ColumnarSinkFormat, t: ColumnarTarget): Promise<number> {
  if (!t.outputPath) throw new InternalError(`write${f.format === "parquet" ? "Parquet" : "Arrow"} task has no output path`);
  const outputPath = t.outputPath;
  const batchBytes = batchBytesFor(t.memoryBytes);
  const maxRows = f.format === "parquet" ? f.rowGroupRows : Number.MAX_SAFE_INTEGER;

  const batches = rowBatches(chunks, batchBytes, maxRows);
  const first = await batches.next();
  const firstRows = first.done ? [] : first.value;
  const second = first.done ? first : await batches.next();
  if (second.done) {
    // The whole shard is one batch: one schema over all rows, encoded in one go.
    const table = rowsToArrow(firstRows, f.schema ? { schema: f.schema } : {});
    const bytes = f.format === "parquet" ? encodeParquet(table, { compression: f.compression, rowGroupRows: f.rowGroupRows }) : encodeArrowFile(table);
    return writeCommitted(outputPath, t.tempTag, t.ifGeneration, (writer) => writer.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  }

  const schema = f.schema ?? inferArrowSchema(firstRows);
  // The encoder holds one row group until it is flushed: keep it within a quarter of the budget.
  const rowBytes = Math.max(1, approxRowsBytes(firstRows) / Math.max(1, firstRows.length));
  const groupRows = Math.min(maxRows, Math.max(1024, Math.floor(t.memoryBytes / 4 / rowBytes)));
  async function* all(): AsyncGenerator<unknown[]> {
    yield firstRows;
    yield second.value as unknown[];
    yield* batches;
  }
  try {
    return await writeStreaming(all(), schema, f, t, outputPath, groupRows, !f.schema);
  } catch (e) {
    if (!(e instanceof SchemaOutgrown)) throw e;
  }
  await batches.return(undefined);
  // Pass 1: the schema of every row of the shard; pass 2: write with it.
  const acc = new SchemaAccumulator();
  for await (const rows of rowBatches(reopen(), batchBytes, maxRows)) acc.observe(rows);
  return writeStreaming(rowBatches(reopen(), batchBytes, maxRows), acc.schema(), f, t, outputPath, groupRows, false);
}

async function writeStreaming(batches: AsyncIterable<unknown[]>, schema: Schema, f: ColumnarSinkFormat, t: ColumnarTarget, outputPath: string, groupRows: number, mayOutgrow: boolean): Promise<number> {
  return writeCommitted(outputPath, t.tempTag, t.ifGeneration, async (writer) => {
    const enc = f.format === "parquet" ? new ParquetStreamWriter({ compression: f.compression, rowGroupRows: groupRows, rowGroupBytes: Math.floor(t.memoryBytes / 4) }, (b) => writer.write(asBuffer(b))) : new ArrowFileStreamWriter(writer);
    try {
      for await (const rows of batches) {
        let table: Table;
        try {
          table = rowsToArrow(rows, { schema });
        } catch (e) {
          if (mayOutgrow && e instanceof InputError) throw new SchemaOutgrown();
          throw e;
        }
        await enc.write(table);
      }
      await enc.end();
    } catch (e) {
      await enc.abort();
      throw e;
    }
  });
}

/** Rows of `chunks` regrouped into batches of about `maxBytes` (estimated) and at most `maxRows` rows. */
async function* rowBatches(chunks: AsyncIterable<Chunk>, maxBytes: number, maxRows: number): AsyncGenerator<unknown[]> {
  let rows: unknown[] = [];
  let bytes = 0;
  for await (const c of chunks) {
    let from = 0;
    while (from < c.rows.length) {
      const take = Math.min(c.rows.length - from, maxRows - rows.length);
      const part = from === 0 && take === c.rows.length ? c.rows : c.rows.slice(from, from + take);
      for (const r of part) rows.push(r);
      bytes += approxRowsBytes(part);
      from += take;
      if (rows.length >= maxRows || bytes >= maxBytes) {
        yield rows;
        rows = [];
        bytes = 0;
      }
    }
  }
  if (rows.length > 0) yield rows;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * An Arrow IPC file written batch by batch (apache-arrow's RecordBatchFileWriter): each
 * table's bytes go to the file before the next batch is built.
 */
class ArrowFileStreamWriter {
  private readonly w = new RecordBatchFileWriter();
  private readonly pump: Promise<void>;

  constructor(out: FileWriter) {
    this.pump = (async () => {
      for await (const c of this.w) await out.write(asBuffer(c));
    })();
    this.pump.catch(() => {});
  }

  async write(table: Table): Promise<void> {
    // Batch by batch: writing a Table would also write the footer (writeAll finishes the file).
    for (const b of table.batches) this.w.write(b);
    // Let the pump hand the batch's bytes to the file before the next batch is built.
    await new Promise((r) => setImmediate(r));
  }

  async end(): Promise<void> {
    this.w.finish();
    await this.pump;
  }

  async abort(): Promise<void> {
    try {
      this.w.abort();
    } catch {
      // already closed
    }
    await this.pump.catch(() => {});
  }
}
