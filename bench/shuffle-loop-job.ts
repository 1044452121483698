/**
 * Exact dedupe on `text` and count-by-domain written by hand, the way a user would without
 * sirocco: one file after another, single-threaded, gunzip stream → Buffer line split →
 * JSON.parse; a Set of texts (first occurrence kept, its line written as is) or a Map of
 * counts.
 *
 * Usage: node --import tsx bench/shuffle-loop-job.ts <dedupe|countBy> <inDir> <outDir>
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { report, startMeasure, type Doc } from "./common.js";

const [job, inDir, outDir] = process.argv.slice(2) as [string, string, string];
const start = startMeasure();
const files = (await fsp.readdir(inDir)).filter((n) => n.endsWith(".jsonl.gz")).sort();
await fsp.mkdir(outDir, { recursive: true });
const seen = new Set<string>();
const counts = new Map<string, number>();
let rowsIn = 0;
let rowsOut = 0;
const out = job === "dedupe" ? fs.createWriteStream(path.join(outDir, "deduped.jsonl"), { highWaterMark: 1 << 20 }) : undefined;

for (const name of files) {
  const gunzip = fs.createReadStream(path.join(inDir, name), { highWaterMark: 1 << 20 }).pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }));
  let carry: Buffer | undefined;
  const handle = async (lines: string[]) => {
    let text = "";
    for (const line of lines) {
      if (line.length === 0) continue;
      rowsIn++;
      const d = JSON.parse(line) as Doc;
      if (job === "dedupe") {
        if (seen.has(d.text)) continue;
        seen.add(d.text);
        rowsOut++;
        text += line;
        text += "\n";
      } else counts.set(d.domain, (counts.get(d.domain) ?? 0) + 1);
    }
    if (out && text && !out.write(text)) await new Promise<void>((r) => out.once("drain", () => r()));
  };
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    const last = buf.lastIndexOf(10);
    if (last < 0) {
      carry = buf;
      continue;
    }
    carry = last + 1 < buf.length ? buf.subarray(last + 1) : undefined;
    await handle(buf.toString("utf8", 0, last).split("\n"));
  }
  if (carry) await handle([carry.toString("utf8")]);
}
if (out) await new Promise<void>((r) => out.end(r));
report(`loop-${job}`, start, { rowsIn, rowsOut: job === "dedupe" ? rowsOut : counts.size });
