import pLimit from "p-limit";
import type { Stage } from "../plan/stage.js";
import type { TaskInput } from "./task-spec.js";

/** Default compressed bytes of row groups per shard when `loadParquet` splits a file. */
export const DEFAULT_PARQUET_SHARD_BYTES = 128 * 1e6;

/**
 * When a stage starts with `loadParquet`, splits each local Parquet file whose row groups
 * hold more than `shardBytes` compressed bytes into several shards of consecutive row
 * groups (at least one row group each; a shard closes once it reaches `shardBytes`). Reads
 * only file footers. Shards keep the order of files, then of row groups, so numbering is
 * deterministic and the rows, in shard order, are the same whatever the split. `gs://`
 * files stay one shard each (their footer would cost a download of the whole object).
 *
 * @example await splitParquetByRowGroup(stage, inputs) // [{ kind: "files", files: [a], rowGroups: { start: 0, end: 3, firstRow: 0 } }, …]
 */
export async function splitParquetByRowGroup(stage: Stage, inputs: TaskInput[]): Promise<TaskInput[]> {
  const first = stage.ops[0];
  if (stage.source.kind !== "fromFiles" || first?.kind !== "load" || first.format !== "parquet") return inputs;
  const shardBytes = first.shardBytes ?? DEFAULT_PARQUET_SHARD_BYTES;
  // Loaded here, not at start-up: parquet-wasm compiles its WASM module when imported.
  const { parquetRowGroups } = await import("../io/columnar/parquet-io.js");
  const limit = pLimit(16);
  const split = await Promise.all(
    inputs.map((input) =>
      limit(async (): Promise<TaskInput[]> => {
        if (input.kind !== "files" || input.files.length !== 1) return [input];
        const f = input.files[0]!;
        if (f.path.includes("://") || f.size <= shardBytes) return [input];
        // A file that is not Parquet stays one shard: the task reports it, naming the file.
        const groups = await parquetRowGroups(f.path).catch(() => undefined);
        if (!groups || groups.length < 2) return [input];
        const out: TaskInput[] = [];
        let start = 0;
        let bytes = 0;
        let row = 0;
        let firstRow = 0;
        groups.forEach((g, i) => {
          bytes += g.bytes;
          row += g.rows;
          if (bytes >= shardBytes || i === groups.length - 1) {
            out.push({ ...input, rowGroups: { start, end: i + 1, firstRow } });
            start = i + 1;
            firstRow = row;
            bytes = 0;
          }
        });
        return out.length > 1 ? out : [input];
      }),
    ),
  );
  return split.flat();
}
