/**
 * The benchmark corpus: generated once with scripts/make-corpus.ts into bench/.data/<name>/
 * (gitignored) and reused while its parameters — and the generator's source — are unchanged.
 * A small params.json in the folder records the key and what was measured about the files.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { makeCorpus, type CorpusOptions } from "../scripts/make-corpus.js";

export interface CorpusParams {
  megabytes: number;
  files: number;
  seed: number;
  gzipLevel: number;
  duplicateFraction: number;
}

export interface CorpusInfo {
  dir: string;
  params: CorpusParams;
  files: Array<{ name: string; gzBytes: number; rawBytes: number; lines: number }>;
  gzBytes: number;
  rawBytes: number;
  records: number;
  /** True when the folder was reused as it was. */
  reused: boolean;
  generateMs?: number;
}

interface ParamsFile {
  key: string;
  params: CorpusParams;
  files: CorpusInfo["files"];
}

const GENERATOR = fileURLToPath(new URL("../scripts/make-corpus.ts", import.meta.url));

function keyOf(params: CorpusParams): string {
  const src = fs.readFileSync(GENERATOR);
  return createHash("sha256").update(JSON.stringify(params)).update(src).digest("hex").slice(0, 16);
}

async function measure(file: string): Promise<{ rawBytes: number; lines: number }> {
  let rawBytes = 0;
  let lines = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }))) {
    const b = chunk as Buffer;
    rawBytes += b.length;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
  }
  return { rawBytes, lines };
}

async function existingMatches(dir: string, key: string): Promise<ParamsFile | undefined> {
  let pf: ParamsFile;
  try {
    pf = JSON.parse(await fsp.readFile(path.join(dir, "params.json"), "utf8")) as ParamsFile;
  } catch {
    return undefined;
  }
  if (pf.key !== key) return undefined;
  const present = (await fsp.readdir(dir)).filter((n) => n.endsWith(".jsonl.gz")).sort();
  if (present.join("\n") !== pf.files.map((f) => f.name).join("\n")) return undefined;
  for (const f of pf.files) {
    if ((await fsp.stat(path.join(dir, f.name))).size !== f.gzBytes) return undefined;
  }
  return pf;
}

/** Reuses `dir` if it holds the corpus for `params`, else (re)generates it. */
export async function ensureCorpus(dir: string, params: CorpusParams, log: (s: string) => void): Promise<CorpusInfo> {
  const key = keyOf(params);
  let pf = await existingMatches(dir, key);
  let reused = true;
  let generateMs: number | undefined;
  if (!pf) {
    reused = false;
    log(`generating corpus in ${dir} (${params.megabytes} MB uncompressed, ${params.files} files) — once; later runs reuse it`);
    const t0 = performance.now();
    await fsp.rm(dir, { recursive: true, force: true });
    const opts: CorpusOptions = { outDir: dir, ...params };
    const paths = await makeCorpus(opts);
    const files: CorpusInfo["files"] = [];
    for (const p of paths) files.push({ name: path.basename(p), gzBytes: (await fsp.stat(p)).size, ...(await measure(p)) });
    generateMs = performance.now() - t0;
    pf = { key, params, files };
    await fsp.writeFile(path.join(dir, "params.json"), `${JSON.stringify(pf, null, 1)}\n`);
  }
  const sum = (k: "gzBytes" | "rawBytes" | "lines") => pf!.files.reduce((a, f) => a + f[k], 0);
  return { dir, params, files: pf.files, gzBytes: sum("gzBytes"), rawBytes: sum("rawBytes"), records: sum("lines"), reused, generateMs };
}

/** Reads every file once so the first measured variant does not pay for a cold page cache. */
export async function warmPageCache(info: CorpusInfo): Promise<void> {
  for (const f of info.files) await fsp.readFile(path.join(info.dir, f.name));
}
