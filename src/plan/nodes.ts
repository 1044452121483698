/**
 * Logical plan nodes: small frozen records tagged by `kind`, each pointing at its parent.
 * A pipeline is the chain from a source to the node a `Dataset` holds. Functions stay in
 * the node (they never leave the process that built the plan); tasks refer to stages by id.
 */

import type { Schema } from "apache-arrow";

export type AnyFn = (...args: never[]) => unknown;

export interface FromListNode {
  readonly kind: "fromList";
  readonly items: readonly unknown[];
  /** Requested shard count; undefined means the default (see `defaultListShards`). */
  readonly shards?: number;
}

export interface FromFilesNode {
  readonly kind: "fromFiles";
  readonly root: string;
  readonly pattern: string;
  readonly allowEmpty: boolean;
}

export type SourceNode = FromListNode | FromFilesNode;

export type BadLinePolicy = "error" | "skip";

/** File formats a load step reads: line formats (streamed line by line) and columnar ones. */
export type LoadFormat = "jsonl" | "text" | "parquet" | "arrow";

export interface LoadNode {
  readonly kind: "load";
  readonly parent: PlanNode;
  readonly format: LoadFormat;
  readonly onBadLine: BadLinePolicy;
  /** Columnar formats: only these columns are read (projection pushed into the reader). */
  readonly columns?: readonly string[];
  /** Parquet: a file whose row groups hold more compressed bytes than this is split into several shards by row group. */
  readonly shardBytes?: number;
}

/** The user-facing name of a load step: `loadJsonl`, `loadText`, `loadParquet`, `loadArrow`. */
export function loadStepName(n: LoadNode): string {
  return `load${n.format === "jsonl" ? "Jsonl" : n.format === "text" ? "Text" : n.format === "parquet" ? "Parquet" : "Arrow"}`;
}

export interface MapNode {
  readonly kind: "map";
  readonly parent: PlanNode;
  readonly fn: AnyFn;
}

export interface FlatMapNode {
  readonly kind: "flatMap";
  readonly parent: PlanNode;
  readonly fn: AnyFn;
}

export interface FilterNode {
  readonly kind: "filter";
  readonly parent: PlanNode;
  readonly fn: AnyFn;
}

export interface MapShardNode {
  readonly kind: "mapShard";
  readonly parent: PlanNode;
  readonly fn: AnyFn;
}

export interface WindowNode {
  readonly kind: "window";
  readonly parent: PlanNode;
  readonly size: number;
}

export interface TakeNode {
  readonly kind: "take";
  readonly parent: PlanNode;
  readonly n: number;
}

/** Which tokenizer `.tokenize()` uses: an encoding shipped in gpt-tokenizer, or a Hugging Face tokenizer.json. */
export type TokenizerEncoding = "cl100k_base" | "o200k_base" | { readonly tokenizerJson: string; readonly eosToken?: string };

export interface TokenizeNode {
  readonly kind: "tokenize";
  readonly parent: PlanNode;
  readonly encoding: TokenizerEncoding;
  readonly textField: string;
  readonly appendEos: boolean;
}

/** Steps that transform one shard's rows in a single streaming pass (they fuse). */
export type NarrowNode = LoadNode | MapNode | FlatMapNode | FilterNode | MapShardNode | WindowNode | TakeNode | TokenizeNode;

export interface WriteJsonlNode {
  readonly kind: "writeJsonl";
  readonly parent: PlanNode;
  readonly pattern: string;
  readonly skipExisting: boolean;
}

export interface MapFilesNode {
  readonly kind: "mapFiles";
  readonly parent: PlanNode;
  readonly fn: AnyFn;
  readonly outputDir: string;
  readonly skipExisting: boolean;
  /** Maps the input's path relative to the root to the output's relative path. */
  readonly rename?: AnyFn;
}

/**
 * Token cache sink (the training feed). `pattern` is the per-shard commit marker (the shard
 * manifest) under `uri`, so task planning resolves and skips shards like any other sink.
 */
export interface WriteTokenCacheNode {
  readonly kind: "writeTokenCache";
  readonly parent: PlanNode;
  readonly uri: string;
  readonly shardRows: number;
  readonly pattern: string;
  /** Always true: committed shards of a cache are never rewritten. */
  readonly skipExisting: boolean;
  /** The tokenize step feeding this sink (its settings make the cache fingerprint). */
  readonly tokenizer: { readonly encoding: TokenizerEncoding; readonly appendEos: boolean };
}

/** Parquet codecs `writeParquet` accepts. */
export type ParquetCodec = "zstd" | "snappy" | "gzip" | "brotli" | "lz4_raw" | "uncompressed";

export interface WriteParquetNode {
  readonly kind: "writeParquet";
  readonly parent: PlanNode;
  readonly pattern: string;
  readonly skipExisting: boolean;
  readonly compression: ParquetCodec;
  readonly rowGroupRows: number;
  /** Explicit Arrow schema instead of inference. */
  readonly schema?: Schema;
}

export interface WriteArrowNode {
  readonly kind: "writeArrow";
  readonly parent: PlanNode;
  readonly pattern: string;
  readonly skipExisting: boolean;
  /** Explicit Arrow schema instead of inference. */
  readonly schema?: Schema;
}

export type SinkNode = WriteJsonlNode | WriteParquetNode | WriteArrowNode | MapFilesNode | WriteTokenCacheNode;

/** How `join` pairs rows: only keys on both sides, or every left row (right `null` on a miss). */
export type JoinHow = "inner" | "left";

/** `groupBy(key, reducer, { combiner, numShards })`. */
export interface GroupByNode {
  readonly kind: "groupBy";
  readonly parent: PlanNode;
  readonly key: AnyFn;
  readonly reducer: AnyFn;
  readonly combiner?: AnyFn;
  readonly numShards?: number;
}

/** `dedupe(key?, { numShards })`: keeps the first row in input order for each key. */
export interface DedupeNode {
  readonly kind: "dedupe";
  readonly parent: PlanNode;
  /** Undefined: the whole row is the key. */
  readonly key?: AnyFn;
  readonly numShards?: number;
}

/** `countBy(key, { numShards })` → `{ key, count }` rows (a groupBy with a summing combiner). */
export interface CountByNode {
  readonly kind: "countBy";
  readonly parent: PlanNode;
  readonly key: AnyFn;
  readonly numShards?: number;
}

/** `reduce(local, global?)` → one row. */
export interface ReduceNode {
  readonly kind: "reduce";
  readonly parent: PlanNode;
  readonly local: AnyFn;
  readonly global?: AnyFn;
}

/** `reshard(n)`: deterministic redistribution of rows into `n` shards. */
export interface ReshardNode {
  readonly kind: "reshard";
  readonly parent: PlanNode;
  readonly n: number;
}

/** `join(other, { leftKey, rightKey, how, numShards })`: `parent` is the left side. */
export interface JoinNode {
  readonly kind: "join";
  readonly parent: PlanNode;
  readonly right: PlanNode;
  readonly leftKey: AnyFn;
  readonly rightKey: AnyFn;
  readonly how: JoinHow;
  readonly numShards?: number;
}

/** Steps that need rows of every shard (a shuffle): a stage ends before each. */
export type WideNode = GroupByNode | DedupeNode | CountByNode | ReduceNode | ReshardNode | JoinNode;

export type PlanNode = SourceNode | NarrowNode | WideNode | SinkNode;

export const NARROW_KINDS = new Set<PlanNode["kind"]>(["load", "map", "flatMap", "filter", "mapShard", "window", "take", "tokenize"]);
export const SINK_KINDS = new Set<PlanNode["kind"]>(["writeJsonl", "writeParquet", "writeArrow", "mapFiles", "writeTokenCache"]);

export const WIDE_KINDS = new Set<PlanNode["kind"]>(["groupBy", "dedupe", "countBy", "reduce", "reshard", "join"]);

export function isWide(n: PlanNode): n is WideNode {
  return WIDE_KINDS.has(n.kind);
}

export function isNarrow(n: PlanNode): n is NarrowNode {
  return NARROW_KINDS.has(n.kind);
}

export function isSink(n: PlanNode): n is SinkNode {
  return SINK_KINDS.has(n.kind);
}

export function isSource(n: PlanNode): n is SourceNode {
  return n.kind === "fromList" || n.kind === "fromFiles";
}

/** The chain of nodes from the source to `node`, source first. */
export function lineage(node: PlanNode): PlanNode[] {
  const out: PlanNode[] = [];
  let cur: PlanNode | undefined = node;
  while (cur) {
    out.push(cur);
    cur = "parent" in cur ? cur.parent : undefined;
  }
  return out.reverse();
}

/**
 * Every node of the plan, each once, parents before children: the left input of a join,
 * then its right input, then the join. For a linear pipeline this is {@link lineage}.
 */
export function planNodes(terminal: PlanNode): PlanNode[] {
  const out: PlanNode[] = [];
  const seen = new Set<PlanNode>();
  const visit = (n: PlanNode): void => {
    if (seen.has(n)) return;
    if ("parent" in n) visit(n.parent);
    if (n.kind === "join") visit(n.right);
    seen.add(n);
    out.push(n);
  };
  visit(terminal);
  return out;
}

/** Default shard count of `fromList`: independent of the worker count, so outputs are too. */
export function defaultListShards(itemCount: number): number {
  return Math.max(1, Math.min(itemCount, 64));
}
