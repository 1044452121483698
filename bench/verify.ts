/**
 * Checks that the variants wrote the same rows: per output file, the number of lines and a
 * SHA-256 of the decompressed bytes (row order within a file is deterministic for every
 * variant: one input file → one output file, in input order), plus an order-independent
 * digest over all lines (sum of per-line hashes) in case a future engine reorders rows.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";

export interface OutputDigest {
  files: Record<string, { lines: number; sha256: string; gzBytes: number }>;
  lines: number;
  gzBytes: number;
  rawBytes: number;
  /** Order-independent: sum (mod 2^64) over lines of the first 8 bytes of each line's SHA-1. */
  multisetDigest: string;
}

export async function digestOutputs(dir: string): Promise<OutputDigest> {
  const names = (await fsp.readdir(dir)).filter((n) => n.endsWith(".jsonl.gz")).sort();
  const out: OutputDigest = { files: {}, lines: 0, gzBytes: 0, rawBytes: 0, multisetDigest: "" };
  let multiset = 0n;
  const mask = (1n << 64n) - 1n;
  for (const name of names) {
    const p = path.join(dir, name);
    const h = createHash("sha256");
    let lines = 0;
    let carry: Buffer | undefined;
    const eachLine = (line: Buffer) => {
      if (line.length === 0) return;
      lines++;
      multiset = (multiset + createHash("sha1").update(line).digest().readBigUInt64BE(0)) & mask;
    };
    for await (const chunk of fs.createReadStream(p, { highWaterMark: 1 << 20 }).pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }))) {
      const b = chunk as Buffer;
      h.update(b);
      out.rawBytes += b.length;
      const buf = carry ? Buffer.concat([carry, b]) : b;
      let start = 0;
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, start)) {
        eachLine(buf.subarray(start, i));
        start = i + 1;
      }
      carry = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined;
    }
    if (carry) eachLine(carry);
    const gzBytes = (await fsp.stat(p)).size;
    out.files[name] = { lines, sha256: h.digest("hex"), gzBytes };
    out.lines += lines;
    out.gzBytes += gzBytes;
  }
  out.multisetDigest = multiset.toString(16).padStart(16, "0");
  return out;
}

/** Same rows? `exact` also requires byte-identical files (same order within each file). */
export function compareDigests(a: OutputDigest, b: OutputDigest): { sameRows: boolean; exact: boolean } {
  const sameRows = a.lines === b.lines && a.multisetDigest === b.multisetDigest;
  const na = Object.keys(a.files);
  const nb = Object.keys(b.files);
  const exact =
    sameRows && na.length === nb.length && na.every((n) => b.files[n] !== undefined && b.files[n]!.sha256 === a.files[n]!.sha256 && b.files[n]!.lines === a.files[n]!.lines);
  return { sameRows, exact };
}
