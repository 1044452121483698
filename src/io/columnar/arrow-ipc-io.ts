import { Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { InputError } from "../../core/errors.js";
import { blobOf } from "./parquet-io.js";

/**
 * Reads an Arrow IPC file (or stream), yielding each record batch as a table. The file's
 * bytes are read whole (batches alias them, no copy); decoding to rows is per batch.
 *
 * @example for await (const t of readArrowBatches("in/a.arrow")) console.log(t.numRows)
 */
export async function* readArrowBatches(path: string): AsyncGenerator<Table> {
  let table: Table;
  try {
    table = tableFromIPC(new Uint8Array(await (await blobOf(path)).arrayBuffer()));
  } catch (e) {
    throw new InputError(`could not read ${path} as an Arrow IPC file: ${e instanceof Error ? e.message : String(e)}`, { file: path }, { cause: e });
  }
  for (const b of table.batches) yield new Table(b);
}

/**
 * Encodes an Arrow table as an Arrow IPC file (the random-access "file" format, `.arrow`).
 *
 * @example const bytes = encodeArrowFile(rowsToArrow(rows))
 */
export function encodeArrowFile(table: Table): Uint8Array {
  return tableToIPC(table, "file");
}
