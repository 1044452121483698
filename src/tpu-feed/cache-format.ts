/**
 * The token cache on disk (or in a bucket). Everything lives under one prefix `<uri>`:
 *
 *   <uri>/ledger.json                      what is published (only the driver writes it)
 *   <uri>/shards/<S>.json                  manifest of input shard S (5 digits): its commit marker
 *   <uri>/shards/<S>-<P>.tokens            part P (4 digits) of shard S: uint32 little-endian token ids
 *   <uri>/shards/<S>-<P>.offsets           uint64 little-endian, rows + 1 cumulative token offsets (first 0)
 *
 * Every file is committed atomically (temporary name, then rename / upload). A shard's parts
 * are committed before its manifest, and a manifest before the ledger names it, so anything a
 * reader finds through the ledger is whole. See README "Training feed" for the field list.
 */
import { IoError, PlanError } from "../core/errors.js";
import { storeFor } from "../io/store-for.js";

export const CACHE_FORMAT = "sirocco-token-cache";
export const CACHE_VERSION = 1;

/** What the tokens mean; a reader asking for a different one fails. */
export interface CacheFingerprint {
  /** `"cl100k_base"`, `"o200k_base"` or `"tokenizer.json:sha256:<first 16 hex of the file's sha256>"`. */
  readonly tokenizer: string;
  /** The id appended after every document, or null when `appendEos` is false. */
  readonly eosId: number | null;
  readonly appendEos: boolean;
  readonly dtype: "uint32";
}

export interface CachePart {
  /** Base name of the part's files: `<S>-<P>` (`.tokens`, `.offsets`). */
  readonly name: string;
  readonly rows: number;
  readonly tokens: number;
}

/** `<uri>/shards/<S>.json`: written by the task once all its parts are committed. */
export interface ShardManifest {
  readonly format: typeof CACHE_FORMAT;
  readonly version: number;
  readonly shard: number;
  readonly fingerprint: CacheFingerprint;
  readonly parts: readonly CachePart[];
}

export interface LedgerShard extends CachePart {
  /** The input shard the part came from. */
  readonly shard: number;
}

/** `<uri>/ledger.json`. */
export interface Ledger {
  readonly format: typeof CACHE_FORMAT;
  readonly version: number;
  readonly fingerprint: CacheFingerprint;
  /** Input shards of the producing job (known when it starts). */
  readonly inputShards: number;
  /** Input shards 0…publishedShards-1 are complete and their parts listed in `parts`. */
  readonly publishedShards: number;
  /** Every part of the published shards, in stream order (shard, then part). */
  readonly parts: readonly LedgerShard[];
  readonly rows: number;
  readonly tokens: number;
  /** True once every input shard is published: the cache will not grow any more. */
  readonly finished: boolean;
}

export function ledgerPath(uri: string): string {
  return `${uri}/ledger.json`;
}

export function manifestPath(uri: string, shard: number): string {
  return `${uri}/shards/${String(shard).padStart(5, "0")}.json`;
}

export function partName(shard: number, part: number): string {
  return `${String(shard).padStart(5, "0")}-${String(part).padStart(4, "0")}`;
}

export function tokensPath(uri: string, name: string): string {
  return `${uri}/shards/${name}.tokens`;
}

export function offsetsPath(uri: string, name: string): string {
  return `${uri}/shards/${name}.offsets`;
}

/** Normalizes a cache location: no trailing slash. */
export function cacheRoot(uri: string): string {
  return uri.replace(/\/+$/, "");
}

export async function readBytes(path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const b of storeFor(path).openRead(path)) parts.push(b as Buffer);
  } catch (e) {
    throw new IoError(`could not read ${path}`, { uri: path, op: "read", retryable: true }, { cause: e });
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Reads a JSON file of the cache, or undefined when it does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  if (!(await storeFor(path).exists(path))) return undefined;
  let buf: Buffer;
  try {
    buf = await readBytes(path);
  } catch (e) {
    // Removed between exists() and the read: same as absent.
    if ((e as { cause?: { code?: string } }).cause?.code === "ENOENT") return undefined;
    throw e;
  }
  return JSON.parse(buf.toString("utf8")) as T;
}

export async function readLedger(uri: string): Promise<Ledger | undefined> {
  const ledger = await readJsonIfExists<Ledger>(ledgerPath(cacheRoot(uri)));
  if (ledger && (ledger.format !== CACHE_FORMAT || ledger.version !== CACHE_VERSION)) {
    throw new PlanError(`${ledgerPath(uri)} is not a sirocco token cache ledger of version ${CACHE_VERSION} (format ${ledger.format}, version ${ledger.version})`);
  }
  return ledger;
}

/** Stable one-line form of a fingerprint, for messages and comparisons. */
export function fingerprintString(f: CacheFingerprint): string {
  return `tokenizer=${f.tokenizer} eosId=${f.eosId} appendEos=${f.appendEos} dtype=${f.dtype}`;
}

/** The fields of `expected` that differ in `actual`, or [] when they agree. */
export function fingerprintDiff(actual: CacheFingerprint, expected: Partial<CacheFingerprint>): string[] {
  const out: string[] = [];
  for (const k of ["tokenizer", "eosId", "appendEos", "dtype"] as const) {
    if (expected[k] !== undefined && expected[k] !== actual[k]) out.push(`${k}: cache has ${JSON.stringify(actual[k])}, expected ${JSON.stringify(expected[k])}`);
  }
  return out;
}
