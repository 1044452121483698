/**
 * The memory budget bounds a task whose one input file is many times the budget: a
 * ~265 MB (uncompressed) JSONL.gz file → Parquet with `--memory 32MB`, through the real CLI
 * on every executor. Peak RSS (`process.resourceUsage().maxRSS` of the whole process, all
 * threads, printed by the fixture) must stay below the RSS of the same pipeline on a tiny
 * file plus a stated constant: 96 MB + 4 × the budget. Holding the shard whole, as
 * writeParquet did before it streamed, needs well over 1 GB for this file.
 */
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prng } from "../../scripts/make-corpus.js";
import { EXECUTORS } from "../support/executors.js";
import { tempDir } from "../support/files.js";
import { runFixture, type FixtureRun } from "../support/fixture-runner.js";

const BUDGET = 32 * 1e6;
const ROWS = 700_000;

let root: string;

/** `rows` JSONL rows of ~320 bytes (ids, hex text from a seeded PRNG, a nested object), gzip level 1. */
async function writeJsonlGz(file: string, rows: number): Promise<number> {
  const rand = prng(5);
  const pool = Array.from({ length: 4096 }, () => Array.from({ length: 8 }, () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, "0")).join(""));
  let bytes = 0;
  function* lines(): Generator<string> {
    for (let start = 0; start < rows; start += 2000) {
      const out: string[] = [];
      for (let i = start; i < Math.min(rows, start + 2000); i++) {
        const text = `doc ${i} ${pool[i % 4096]} ${pool[(i * 7) % 4096]} ${pool[(i * 13) % 4096]} ${pool[(i * 31) % 4096]}`;
        out.push(JSON.stringify({ id: i, text, meta: { a: i % 10, b: pool[(i * 3) % 4096] } }));
      }
      const chunk = `${out.join("\n")}\n`;
      bytes += chunk.length;
      yield chunk;
    }
  }
  await pipeline(Readable.from(lines()), zlib.createGzip({ level: 1 }), fs.createWriteStream(file));
  return bytes;
}

function maxRss(run: FixtureRun): number {
  const line = run.stdout.split("\n").find((l) => l.startsWith("MAXRSS "));
  expect(line, `no MAXRSS line in ${run.stdout.slice(-300)} / ${run.stderr}`).toBeDefined();
  return Number(line!.slice(7));
}

let jsonlBytes = 0;
beforeAll(async () => {
  root = tempDir("sirocco-memory-");
  fs.mkdirSync(path.join(root, "big"));
  fs.mkdirSync(path.join(root, "tiny"));
  jsonlBytes = await writeJsonlGz(path.join(root, "big", "big.jsonl.gz"), ROWS);
  await writeJsonlGz(path.join(root, "tiny", "tiny.jsonl.gz"), 2000);
}, 120_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("memory budget", () => {
  for (const executor of EXECUTORS) {
    it(`${executor}: a JSONL.gz file ~8× the budget becomes Parquet with peak RSS below tiny-file RSS + 96 MB + 4 × budget`, async () => {
      expect(jsonlBytes).toBeGreaterThan(200e6);
      const flags = ["--memory", String(BUDGET)];
      const tinyOut = path.join(root, `tiny-out-${executor}`);
      const tiny = await runFixture("to-parquet-bounded", { inDir: path.join(root, "tiny"), outDir: tinyOut, extra: "jsonl", executor, flags });
      expect(tiny.code, tiny.stderr).toBe(0);
      const bigOut = path.join(root, `big-out-${executor}`);
      const big = await runFixture("to-parquet-bounded", { inDir: path.join(root, "big"), outDir: bigOut, extra: "jsonl", executor, flags, timeoutMs: 300_000 });
      expect(big.code, big.stderr).toBe(0);

      const bound = maxRss(tiny) + 96e6 + 4 * BUDGET;
      console.log(`memory budget (${executor}): input ${(jsonlBytes / 1e6).toFixed(0)} MB, peak RSS ${(maxRss(big) / 1e6).toFixed(0)} MB, tiny-file run ${(maxRss(tiny) / 1e6).toFixed(0)} MB, bound ${(bound / 1e6).toFixed(0)} MB`);
      expect(maxRss(big), `peak RSS ${(maxRss(big) / 1e6).toFixed(0)} MB; tiny-file run ${(maxRss(tiny) / 1e6).toFixed(0)} MB`).toBeLessThan(bound);

      // Every row arrived, in order, exactly (DuckDB reads the file).
      const con = await (await DuckDBInstance.create(":memory:")).connect();
      try {
        const file = path.join(bigOut, "part-00000.parquet");
        const [row] = (await con.runAndReadAll(`SELECT count(*)::INT AS n, sum(id)::DOUBLE AS s, bool_and(chars = length(text)) AS ok FROM read_parquet('${file}')`)).getRowObjectsJS();
        expect(row).toEqual({ n: ROWS, s: (ROWS * (ROWS - 1)) / 2, ok: true });
        const groups = (await con.runAndReadAll(`SELECT count(DISTINCT row_group_id)::INT AS g FROM parquet_metadata('${file}')`)).getRowObjectsJS();
        expect(groups[0]!.g).toBeGreaterThan(1);
      } finally {
        con.closeSync();
      }
    }, 400_000);
  }
});
