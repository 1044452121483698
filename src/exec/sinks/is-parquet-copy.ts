import type { Stage } from "../../plan/stage.js";

/**
 * True for a stage that only copies Parquet to Parquet: `fromFiles → loadParquet([columns])
 * → writeParquet` with no other step and no explicit schema. Such a stage never needs rows as
 * JS objects.
 */
export function isParquetCopy(stage: Stage): boolean {
  const [load, ...rest] = stage.ops;
  return stage.source.kind === "fromFiles" && rest.length === 0 && load?.kind === "load" && load.format === "parquet" && stage.sink?.kind === "writeParquet" && !stage.sink.schema;
}
