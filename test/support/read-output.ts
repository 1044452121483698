/**
 * Read what a pipeline wrote, independently of sirocco's own readers: decompression by
 * extension (`.gz` with zlib, `.zst`/`.zstd` with fzstd, anything else as is), JSON Lines,
 * and directory listings that include the hidden files a half-finished write would leave.
 *
 * @example
 * const docs = readJsonl<{ text: string }>(listFiles(outDir)[0]!);
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { Decompress } from "fzstd";

/** The bytes of `file`, decompressed according to its extension. */
export function readDecompressed(file: string): Buffer {
  const raw = fs.readFileSync(file);
  if (file.endsWith(".gz")) return zlib.gunzipSync(raw);
  if (file.endsWith(".zst") || file.endsWith(".zstd")) {
    const parts: Uint8Array[] = [];
    const d = new Decompress((chunk) => parts.push(chunk)); // streaming: handles multi-frame files
    d.push(raw, true);
    return Buffer.concat(parts);
  }
  return raw;
}

/** The decompressed text of `file` (UTF-8). */
export function readText(file: string): string {
  return readDecompressed(file).toString("utf8");
}

/** The non-empty lines of `file`, decompressed. */
export function readLines(file: string): string[] {
  return readText(file)
    .split("\n")
    .filter((l) => l.length > 0);
}

/** The rows of a JSON Lines file (decompressed), in order. */
export function readJsonl<T = Record<string, unknown>>(file: string): T[] {
  return readLines(file).map((l) => JSON.parse(l) as T);
}

/** The rows of several JSON Lines files, concatenated in the given order. */
export function readJsonlFiles<T = Record<string, unknown>>(files: readonly string[]): T[] {
  return files.flatMap((f) => readJsonl<T>(f));
}

/**
 * Every file under `dir`, recursively, hidden files included, as sorted paths joined to
 * `dir`; `[]` when `dir` does not exist.
 */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const rel = fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  return rel.sort().map((r) => path.join(dir, r));
}
