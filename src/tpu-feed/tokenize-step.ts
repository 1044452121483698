import type { ShardInfo } from "../core/types.js";
import type { Chunk } from "../exec/operators/chunk.js";
import { mapStep } from "../exec/operators/map.js";
import type { NarrowNode } from "../plan/nodes.js";
import { fingerprintOf, loadTokenizer, type LoadedTokenizer } from "./tokenizer.js";

/**
 * `.tokenize()`: one `Uint32Array` of token ids per row, with the end-of-text id appended
 * when `appendEos`. Runs as a fused narrow step (a `map` whose function is the tokenizer),
 * so a row that cannot be tokenized names its file and line.
 */
export function tokenizeStep(input: AsyncIterable<Chunk>, node: NarrowNode, _shard: ShardInfo): AsyncIterable<Chunk> {
  if (node.kind !== "tokenize") throw new Error(`tokenizeStep got ${node.kind}`);
  const { encoding, textField, appendEos } = node;
  let tok: LoadedTokenizer | undefined;
  let eos = -1;
  const encodeRow = (row: unknown): Uint32Array => {
    const text = typeof row === "string" ? row : row !== null && typeof row === "object" ? (row as Record<string, unknown>)[textField] : undefined;
    if (typeof text !== "string") {
      throw new TypeError(`tokenize needs a string or an object whose ${JSON.stringify(textField)} field is a string; got ${describe(row, textField)}`);
    }
    const ids = tok!.encode(text);
    const n = ids.length;
    const out = new Uint32Array(appendEos ? n + 1 : n);
    for (let i = 0; i < n; i++) out[i] = ids[i]!;
    if (appendEos) out[n] = eos;
    return out;
  };
  const setup = async (): Promise<void> => {
    const f = await fingerprintOf(encoding, appendEos); // fails early when there is no EOS to append
    const t = await loadTokenizer(encoding); // checks the shipped encodings' EOS ids too
    eos = f.eosId ?? -1;
    tok = t;
  };
  return mapStep(input, (row) => (tok ? encodeRow(row) : setup().then(() => encodeRow(row))), "tokenize");
}

function describe(row: unknown, field: string): string {
  if (row === null || typeof row !== "object") return typeof row;
  const v = (row as Record<string, unknown>)[field];
  return `${field}: ${v === undefined ? "missing" : typeof v}`;
}
