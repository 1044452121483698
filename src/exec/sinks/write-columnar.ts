import type { Schema } from "apache-arrow";
import { InternalError } from "../../core/errors.js";
import { encodeArrowFile } from "../../io/columnar/arrow-ipc-io.js";
import { encodeParquet, type ParquetCompression } from "../../io/columnar/parquet-io.js";
import { rowsToArrow } from "../../io/columnar/rows-to-arrow.js";
import type { Chunk } from "../operators/chunk.js";
import { writeCommitted } from "./write-committed.js";

export type ColumnarSinkFormat = ({ format: "parquet"; compression: ParquetCompression; rowGroupRows: number } | { format: "arrow" }) & { schema?: Schema };

/**
 * Writes a shard as one Parquet or Arrow IPC file. The shard's rows are gathered first,
 * because one schema is inferred over all of them (a field null in the first thousand rows
 * and a string later is still a string column); the encoded file is then committed through
 * the store's atomic streaming write (temporary name + rename locally, a generation
 * precondition on `gs://`), so the final path holds a whole file or nothing. `ifGeneration`
 * is the output's generation when the driver planned the task ("0" = absent). Returns the
 * bytes written.
 */
export async function writeColumnarSink(chunks: AsyncIterable<Chunk>, f: ColumnarSinkFormat, outputPath: string | undefined, tempTag: string, ifGeneration?: string): Promise<number> {
  if (!outputPath) throw new InternalError(`write${f.format === "parquet" ? "Parquet" : "Arrow"} task has no output path`);
  const rows: unknown[] = [];
  for await (const c of chunks) for (const r of c.rows) rows.push(r);
  const table = rowsToArrow(rows, f.schema ? { schema: f.schema } : {});
  const bytes = f.format === "parquet" ? encodeParquet(table, { compression: f.compression, rowGroupRows: f.rowGroupRows }) : encodeArrowFile(table);
  return writeCommitted(outputPath, tempTag, ifGeneration, (writer) => writer.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
}
