// The worker thread of bench/shuffle-parallel-job.ts: for each of its files (in order), the
// map of counts by domain, or the lines whose text is new within the file (with the texts).
import fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import zlib from "node:zlib";

async function processFile(job, file, index) {
  const gunzip = fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }));
  const counts = new Map();
  const seen = new Set();
  const texts = [];
  const lines = [];
  let rows = 0;
  let carry;
  const handle = (ls) => {
    for (const line of ls) {
      if (line.length === 0) continue;
      rows++;
      const d = JSON.parse(line);
      if (job === "countBy") counts.set(d.domain, (counts.get(d.domain) ?? 0) + 1);
      else if (!seen.has(d.text)) {
        seen.add(d.text);
        texts.push(d.text);
        lines.push(line);
      }
    }
  };
  for await (const chunk of gunzip) {
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    const last = buf.lastIndexOf(10);
    if (last < 0) {
      carry = buf;
      continue;
    }
    carry = last + 1 < buf.length ? buf.subarray(last + 1) : undefined;
    handle(buf.toString("utf8", 0, last).split("\n"));
  }
  if (carry) handle([carry.toString("utf8")]);
  return job === "countBy" ? { file: index, rows, counts } : { file: index, rows, texts, lines };
}

const { job, files } = workerData;
const out = [];
for (const [f, i] of files) out.push(await processFile(job, f, i));
parentPort.postMessage(out);
