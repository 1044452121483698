import { InputError, InternalError } from "../../core/errors.js";
import { encodeParquet, ParquetStreamWriter, readParquetBatches, type ParquetCompression } from "../../io/columnar/parquet-io.js";
import { rowsToArrow } from "../../io/columnar/rows-to-arrow.js";
import type { LoadNode, WriteParquetNode } from "../../plan/nodes.js";
import type { Stage } from "../../plan/stage.js";
import type { TaskSpec } from "../task-spec.js";
import { batchBytesFor } from "../memory-budget.js";
import { writeCommitted } from "./write-committed.js";


/**
 * Runs a Parquet-copy task without rows: record batches go from parquet-wasm's reader (with
 * the projection and the shard's row groups) straight into its streaming writer, never
 * decoded into JS. The output keeps the input's Arrow types exactly (an Int32 column stays
 * Int32; timestamps and decimals stay as they are), which the row path cannot promise. Row
 * groups hold at most `rowGroupRows` rows and about a quarter of the memory budget.
 * Committed atomically like every sink. Returns rows copied and bytes written.
 */
export async function copyParquetTask(stage: Stage, spec: TaskSpec, onRows?: (n: number) => void): Promise<{ rows: number; bytes: number }> {
  const load = stage.ops[0] as LoadNode;
  const sink = stage.sink as WriteParquetNode;
  if (spec.input.kind !== "files" || !spec.outputPath) throw new InternalError("a Parquet copy task needs files and an output path");
  const file = spec.input.files[0];
  if (!file) throw new InternalError("a Parquet copy task has no file");
  const memoryBytes = spec.memoryBytes ?? 1e9;
  const ifGeneration = spec.outputGenerations?.[spec.outputPath];
  let rows = 0;
  const bytes = await writeCommitted(spec.outputPath, spec.runId, ifGeneration, async (writer) => {
    let enc: ParquetStreamWriter | undefined;
    try {
      for await (const { batch } of readParquetBatches(file.path, { columns: load.columns, rowGroups: spec.input.kind === "files" ? spec.input.rowGroups : undefined, batchBytes: batchBytesFor(memoryBytes) })) {
        const n = batch.numRows;
        if (batch.numColumns === 0) {
          batch.free();
          throw new InputError(`cannot copy ${n} rows with no columns to Parquet (${file.path})`, { file: file.path });
        }
        if (!enc) {
          const rowBytes = Math.max(1, batch.getArrayMemorySize() / Math.max(1, n));
          const groupRows = Math.min(sink.rowGroupRows, Math.max(1024, Math.floor(memoryBytes / 4 / rowBytes)));
          enc = new ParquetStreamWriter({ compression: sink.compression as ParquetCompression, rowGroupRows: groupRows, rowGroupBytes: Math.floor(memoryBytes / 4) }, (b) => writer.write(Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
        }
        await enc.writeBatch(batch);
        rows += n;
        onRows?.(n);
      }
      if (enc) await enc.end();
      else {
        // No rows: the same empty file the row path writes.
        const empty = encodeParquet(rowsToArrow([]), { compression: sink.compression as ParquetCompression, rowGroupRows: sink.rowGroupRows });
        await writer.write(Buffer.from(empty.buffer, empty.byteOffset, empty.byteLength));
      }
    } catch (e) {
      await enc?.abort();
      throw e;
    }
  });
  return { rows, bytes };
}
