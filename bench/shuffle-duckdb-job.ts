/**
 * Exact dedupe on `text` (first row by id, written as JSON lines) and count-by-domain with
 * DuckDB on 2 threads, reading the same JSONL.gz files.
 *
 * Usage: node --import tsx bench/shuffle-duckdb-job.ts <dedupe|countBy> <inDir> <outDir>
 */
import fsp from "node:fs/promises";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { report, startMeasure } from "./common.js";

const [job, inDir, outDir] = process.argv.slice(2) as [string, string, string];
await fsp.mkdir(outDir, { recursive: true });
const start = startMeasure();
const con = await (await DuckDBInstance.create(":memory:")).connect();
await con.run("SET threads = 2");
await con.run("SET preserve_insertion_order = false");
const src = `read_json('${inDir}/*.jsonl.gz', format = 'newline_delimited', columns = {id: 'BIGINT', url: 'VARCHAR', domain: 'VARCHAR', category: 'VARCHAR', text: 'VARCHAR'})`;
let rowsOut = 0;
let wall: number;
if (job === "dedupe") {
  const out = path.join(outDir, "deduped.jsonl");
  await con.run(`COPY (SELECT * FROM ${src} QUALIFY row_number() OVER (PARTITION BY text ORDER BY id) = 1) TO '${out}' (FORMAT json)`);
  wall = performance.now() - start.t0;
  rowsOut = Number((await con.runAndReadAll(`SELECT count(*) AS n FROM read_json('${out}', format = 'newline_delimited')`)).getRowObjectsJS()[0]!.n);
} else {
  rowsOut = (await con.runAndReadAll(`SELECT domain, count(*) AS n FROM ${src} GROUP BY domain`)).getRowObjectsJS().length;
  wall = performance.now() - start.t0;
}
con.closeSync();
report(`duckdb-${job}`, { ...start, t0: performance.now() - wall }, { rowsOut });
