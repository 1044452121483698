/**
 * The "clean" job written by hand, the way a user would without sirocco: one file after
 * another, single-threaded JavaScript, `stream.pipeline` of
 *   fs.createReadStream → zlib.createGunzip → async-generator transform → zlib.createGzip(6) → fs.createWriteStream.
 * Lines are split on Buffers (find the last `\n` of each chunk, decode once, `split("\n")`),
 * which is about twice as fast as `readline`. Read and zlib chunk sizes are raised from
 * Node's defaults (64 KB / 16 KB) to 1 MB / 256 KB — what a performance-minded user would do,
 * and the same sizes sirocco uses — so the baseline is not deliberately slow.
 * (zlib work runs on libuv's thread pool, as in any Node program, so even this "single-
 * threaded" script overlaps (de)compression with its JavaScript.)
 *
 * Usage: node --import tsx bench/handwritten-job.ts <inDir> <outDir>
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { cleanDoc, keepDoc, report, startMeasure, type Doc } from "./common.js";

const [inDir, outDir] = process.argv.slice(2);
if (!inDir || !outDir) {
  console.error("usage: handwritten-job.ts <inDir> <outDir>");
  process.exit(2);
}

const start = startMeasure();
const files = (await fsp.readdir(inDir)).filter((n) => n.endsWith(".jsonl.gz")).sort();
await fsp.mkdir(outDir, { recursive: true });
let rowsIn = 0;
let rowsOut = 0;

for (const name of files) {
  await pipeline(
    fs.createReadStream(path.join(inDir, name), { highWaterMark: 1 << 20 }),
    zlib.createGunzip({ chunkSize: 256 * 1024 }),
    async function* (source: AsyncIterable<Buffer>) {
      let carry: Buffer | undefined;
      const handle = (lines: string[]): string => {
        let out = "";
        for (const line of lines) {
          if (line.length === 0) continue;
          rowsIn++;
          const doc = cleanDoc(JSON.parse(line) as Doc);
          if (!keepDoc(doc)) continue;
          rowsOut++;
          out += JSON.stringify(doc);
          out += "\n";
        }
        return out;
      };
      for await (const chunk of source) {
        const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
        const last = buf.lastIndexOf(10);
        if (last < 0) {
          carry = buf;
          continue;
        }
        carry = last + 1 < buf.length ? buf.subarray(last + 1) : undefined;
        const out = handle(buf.toString("utf8", 0, last).split("\n"));
        if (out) yield out;
      }
      if (carry) {
        const out = handle([carry.toString("utf8")]);
        if (out) yield out;
      }
    },
    zlib.createGzip({ level: 6, chunkSize: 256 * 1024 }),
    fs.createWriteStream(path.join(outDir, name), { highWaterMark: 1 << 20 }),
  );
}

report("handwritten", start, { rowsIn, rowsOut, files: files.length });
