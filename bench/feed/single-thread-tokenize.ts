/**
 * Baseline of the feed benchmark: what a user writes by hand — one thread reads every
 * .jsonl.gz file, parses each line and tokenizes its text with the same tokenizer
 * (gpt-tokenizer cl100k_base, EOS appended), counting tokens. Prints one JSON line.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { encode } from "gpt-tokenizer/encoding/cl100k_base";

const inDir = process.argv[2]!;
const noSpecial = { disallowedSpecial: new Set<string>() };
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let tokens = 0;
let docs = 0;
for (const f of fs.readdirSync(inDir).filter((n) => n.endsWith(".jsonl.gz")).sort()) {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(inDir, f))).toString("utf8");
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    const d = JSON.parse(line) as { text: string };
    tokens += encode(d.text, noSpecial).length + 1;
    docs++;
  }
}
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, tokens, docs }));
