import { cacheRoot, fingerprintString, readLedger } from "./cache-format.js";

/**
 * A human summary of a token cache: what `sirocco feed inspect <uri>` prints.
 *
 * @example console.log(await inspectTokenCache("cache/"));
 */
export async function inspectTokenCache(uri: string, opts: { parts?: boolean } = {}): Promise<string> {
  const root = cacheRoot(uri);
  const l = await readLedger(root);
  if (!l) return `${root}: no ledger.json (not a token cache, or its job has not started)\n`;
  const lines = [
    `token cache ${root}`,
    `finished:     ${l.finished ? "yes" : "no"}`,
    `shards:       ${l.publishedShards} of ${l.inputShards} input shards published (${l.parts.length} parts)`,
    `rows:         ${l.rows}`,
    `tokens:       ${l.tokens}`,
    `fingerprint:  ${fingerprintString(l.fingerprint)}`,
  ];
  if (opts.parts) {
    lines.push("parts:");
    for (const p of l.parts) lines.push(`  ${p.name}  shard ${p.shard}  rows ${p.rows}  tokens ${p.tokens}`);
  }
  return `${lines.join("\n")}\n`;
}
