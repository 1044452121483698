/**
 * Tokenizers for `.tokenize()`, created lazily once per thread (worker threads re-import the
 * script, so nothing is created while the plan is built) and cached by encoding.
 */
import fsp from "node:fs/promises";
import { PlanError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import type { TokenizerEncoding } from "../plan/nodes.js";
import type { CacheFingerprint } from "./cache-format.js";

export interface LoadedTokenizer {
  /** Token ids of `text` (special-token text is encoded as plain text). */
  encode(text: string): ArrayLike<number>;
  /** `cl100k_base`, or `tokenizer.json:sha256:<16 hex>`. */
  readonly id: string;
  /** The end-of-text id, or null when the tokenizer has none. */
  readonly eosId: number | null;
}

/** Tokens Hugging Face tokenizers commonly use to end a document, tried in this order. */
const EOS_CANDIDATES = ["<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "<|eot_id|>"];

const cache = new Map<string, Promise<LoadedTokenizer>>();

function cacheKey(e: TokenizerEncoding): string {
  return typeof e === "string" ? e : `json:${e.tokenizerJson}:${e.eosToken ?? ""}`;
}

/** The tokenizer for `encoding`, loaded once per thread. */
export function loadTokenizer(encoding: TokenizerEncoding): Promise<LoadedTokenizer> {
  const key = cacheKey(encoding);
  let p = cache.get(key);
  if (!p) {
    p = create(encoding);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function create(encoding: TokenizerEncoding): Promise<LoadedTokenizer> {
  if (encoding === "cl100k_base" || encoding === "o200k_base") {
    // One encoding module at a time (gpt-tokenizer ships each as its own entry point).
    const mod = (encoding === "cl100k_base"
      ? await import("gpt-tokenizer/encoding/cl100k_base")
      : await import("gpt-tokenizer/encoding/o200k_base")) as unknown as GptEncodingModule;
    const noSpecial = { disallowedSpecial: new Set<string>() };
    const eos = mod.encode("<|endoftext|>", { allowedSpecial: new Set(["<|endoftext|>"]) });
    if (eos.length !== 1 || eos[0] !== KNOWN_EOS_IDS[encoding]) {
      throw new PlanError(`gpt-tokenizer's ${encoding} encodes <|endoftext|> as ${JSON.stringify(eos)}, not ${KNOWN_EOS_IDS[encoding]}: an incompatible gpt-tokenizer version`);
    }
    return { id: encoding, eosId: eos[0]!, encode: (t) => mod.encode(t, noSpecial) };
  }
  const file = encoding.tokenizerJson;
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    throw new PlanError(`tokenize: cannot read tokenizer.json ${file}: ${(e as Error).message}`, { cause: e });
  }
  const { Tokenizer } = await import("@huggingface/tokenizers");
  const json = JSON.parse(bytes.toString("utf8")) as object;
  const tok = new Tokenizer(json, {});
  const names = encoding.eosToken ? [encoding.eosToken] : EOS_CANDIDATES;
  let eosId: number | null = null;
  for (const n of names) {
    const id = tok.token_to_id(n);
    if (typeof id === "number") {
      eosId = id;
      break;
    }
  }
  if (encoding.eosToken && eosId === null) throw new PlanError(`tokenize: eosToken ${JSON.stringify(encoding.eosToken)} is not in ${file}`);
  return {
    id: `tokenizer.json:sha256:${sha256(bytes).slice(0, 16)}`,
    eosId,
    encode(text) {
      const ids = tok.encode(text, { add_special_tokens: false }).ids;
      for (let i = 0; i < ids.length; i++) {
        if (typeof ids[i] !== "number") throw new Error(`tokenizer ${file} produced no id for a piece of the text (no unknown token in its vocabulary?)`);
      }
      return ids;
    },
  };
}

interface GptEncodingModule {
  encode(text: string, opts?: { allowedSpecial?: Set<string>; disallowedSpecial?: Set<string> }): number[];
}

/**
 * End-of-text ids of the shipped encodings, so the driver can fingerprint a cache without
 * loading an encoding (~150 ms and 40 MB); the tokenize step checks them against the loaded one.
 */
export const KNOWN_EOS_IDS: Readonly<Record<"cl100k_base" | "o200k_base", number>> = { cl100k_base: 100257, o200k_base: 199999 };

/** The fingerprint of a cache made with this tokenizer. */
export async function fingerprintOf(encoding: TokenizerEncoding, appendEos: boolean): Promise<CacheFingerprint> {
  if (typeof encoding === "string") return { tokenizer: encoding, eosId: appendEos ? KNOWN_EOS_IDS[encoding] : null, appendEos, dtype: "uint32" };
  const t = await loadTokenizer(encoding);
  if (appendEos && t.eosId === null) {
    throw new PlanError(`tokenize: the tokenizer has no end-of-text token (tried ${EOS_CANDIDATES.join(", ")}); pass { tokenizerJson, eosToken } or appendEos: false`);
  }
  return { tokenizer: t.id, eosId: appendEos ? t.eosId : null, appendEos, dtype: "uint32" };
}
