/**
 * Small deterministic documents and a tiny Hugging Face tokenizer.json for the feed tests
 * (nothing is downloaded: the tokenizer is written by the test itself).
 */
import fs from "node:fs";
import path from "node:path";

export const WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "from", "home", "today", "quickly", "."];

/** `n` documents `{ id, text }` of 5–60 words from WORDS, the same for the same seed. */
export function makeDocs(n: number, seed = 1): Array<{ id: number; text: string }> {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, (_, id) => {
    const len = 5 + Math.floor(rnd() * 56);
    const words = Array.from({ length: len }, () => WORDS[Math.floor(rnd() * WORDS.length)]!);
    return { id, text: words.join(" ") };
  });
}

/** Writes JSONL files `part-NNNN.jsonl` of `perFile` documents each; returns the documents in order. */
export function writeDocFiles(dir: string, files: number, perFile: number, seed = 1): Array<{ id: number; text: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const docs = makeDocs(files * perFile, seed);
  for (let f = 0; f < files; f++) {
    const slice = docs.slice(f * perFile, (f + 1) * perFile);
    fs.writeFileSync(path.join(dir, `part-${String(f).padStart(4, "0")}.jsonl`), slice.map((d) => JSON.stringify(d)).join("\n") + "\n");
  }
  return docs;
}

/** A WordLevel tokenizer.json (whitespace pre-tokenizer) over WORDS, with `</s>` = 1 as EOS. */
export function writeTokenizerJson(file: string): { vocab: Record<string, number> } {
  const vocab: Record<string, number> = { "[UNK]": 0, "</s>": 1 };
  WORDS.forEach((w, i) => (vocab[w] = i + 2));
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "[UNK]"), special(1, "</s>")],
    normalizer: null,
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab, unk_token: "[UNK]" },
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(json));
  return { vocab };
}

/** Every file of a cache folder (relative path → base64 of its bytes): binary-exact, unlike files.ts readTree (decompressed text). */
export function readBinaryTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = fs.readFileSync(p).toString("base64");
    }
  };
  walk(dir, "");
  return out;
}
