import { PlanError } from "../core/errors.js";

/** Values substituted into an output pattern. */
export interface PatternValues {
  shard: number;
  total: number;
  /** Input file name without directory and known extensions; only for file inputs. */
  basename?: string;
}

const TOKEN = /\{(shard|total|basename)(?::(0?)(\d+)d)?\}/g;
const ANY_BRACE = /\{[^}]*\}/g;

/** The placeholders a pattern uses; unknown `{…}` placeholders are a PlanError. */
export function patternTokens(pattern: string): Set<string> {
  const used = new Set<string>();
  for (const m of pattern.matchAll(ANY_BRACE)) {
    const t = /^\{(shard|total|basename)(?::0?\d+d)?\}$/.exec(m[0]);
    if (!t) {
      throw new PlanError(
        `output pattern ${JSON.stringify(pattern)} has an unknown placeholder ${m[0]}; use {shard}, {total} or {basename}, optionally padded like {shard:05d}`,
      );
    }
    used.add(t[1]!);
  }
  return used;
}

/**
 * Fills `{shard}`, `{total}` and `{basename}` (optionally zero-padded: `{shard:05d}`).
 *
 * @example formatPattern("part-{shard:05d}-of-{total:05d}.jsonl", { shard: 3, total: 8 }) // "part-00003-of-00008.jsonl"
 */
export function formatPattern(pattern: string, v: PatternValues): string {
  return pattern.replace(TOKEN, (_m, name: string, _zero: string, width: string | undefined) => {
    if (name === "basename") {
      if (v.basename === undefined) throw new PlanError(`output pattern ${JSON.stringify(pattern)} uses {basename}, which needs a file input (Dataset.fromFiles)`);
      return v.basename;
    }
    const n = name === "shard" ? v.shard : v.total;
    return width ? String(n).padStart(Number(width), "0") : String(n);
  });
}

const KNOWN_EXT = /(\.(gz|zst|zstd))?$/;
const FORMAT_EXT = /\.(jsonl|ndjson|json|txt|text|csv|tsv|parquet|arrow|ipc|feather)$/;

/** `dir/part-7.jsonl.gz` → `part-7`: the file name without compression and format extensions. */
export function inputBasename(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.replace(KNOWN_EXT, "").replace(FORMAT_EXT, "");
}
