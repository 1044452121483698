import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { decompress as zstdDecompress } from "@mongodb-js/zstd";

/** A fresh temp dir under the OS temp folder. */
export function tempDir(prefix = "sirocco-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Decompressed text of a file (gzip / zstd by extension). */
export async function readText(file: string): Promise<string> {
  const buf = await fsp.readFile(file);
  if (file.endsWith(".gz")) return zlib.gunzipSync(buf).toString("utf8");
  if (file.endsWith(".zst")) return (await zstdDecompress(buf)).toString("utf8");
  return buf.toString("utf8");
}

/** Every file under `dir` (relative path → decompressed text), hidden files included. */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, full), await readText(full));
  }
  return new Map([...out.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}

/** Parsed JSON lines of a text. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}
