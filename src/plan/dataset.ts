import type { Schema } from "apache-arrow";
import { PlanError } from "../core/errors.js";
import { parseBytes, type RunOptions } from "../core/options.js";
import type { FileRef, MaybePromise, ShardInfo } from "../core/types.js";
import { explainPlan } from "./explain.js";
import { lineage, type BadLinePolicy, type ParquetCodec, type PlanNode, type SinkNode, type TokenizeNode, type TokenizerEncoding } from "./nodes.js";
import { getCollectRunner } from "./runner-hook.js";

function checkFn(fn: unknown, step: string): void {
  if (typeof fn !== "function") throw new PlanError(`${step} needs a function, got ${typeof fn}`);
}

function checkPositiveInt(n: unknown, what: string): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new PlanError(`${what} must be a positive integer, got ${JSON.stringify(n)}`);
  }
  return n;
}

/**
 * A terminal step (a sink): what `run()` executes to produce output files.
 *
 * @example
 * const sink = Dataset.fromList([1, 2, 3]).map((x) => ({ x })).writeJsonl("out/part-{shard}.jsonl");
 * const { outputs } = await run(sink);
 */
export class Sink<T = unknown> {
  /** @internal the phantom row type keeps `Sink<T>` distinct per row type */
  declare readonly __row?: T;
  /** @internal */
  readonly node: SinkNode;
  /** @internal */
  constructor(node: SinkNode) {
    this.node = Object.freeze(node);
  }
  /** The logical plan, the optimized plan and the stages. */
  explain(): string {
    return explainPlan(this.node);
  }
}

/**
 * A lazy, immutable, typed collection of rows. Every step returns a new `Dataset`; nothing
 * runs until `run()` or `collect()`. Functions given to steps may close over module-level
 * values: worker threads rebuild the same plan by importing the same script.
 *
 * @example
 * const words = Dataset.fromFiles("data/in", "**\/*.txt").loadText().flatMap((l) => l.split(/\s+/));
 * console.log(await words.take(5).collect());
 */
export class Dataset<T> {
  /** @internal */
  readonly node: PlanNode;

  /** @internal use the static constructors */
  constructor(node: PlanNode) {
    this.node = Object.freeze(node);
  }

  // ---- Create ----------------------------------------------------------------------------

  /**
   * An in-memory list split into `shards` contiguous shards (default `min(items.length, 64)`,
   * independent of the number of workers so outputs are too).
   *
   * @example Dataset.fromList([{ id: 1 }, { id: 2 }], { shards: 2 })
   */
  static fromList<T>(items: readonly T[], opts: { shards?: number } = {}): Dataset<T> {
    if (!Array.isArray(items)) throw new PlanError(`Dataset.fromList needs an array, got ${typeof items}`);
    const shards = opts.shards === undefined ? undefined : checkPositiveInt(opts.shards, "fromList options.shards");
    return new Dataset<T>({ kind: "fromList", items: Object.freeze([...items]), shards });
  }

  /**
   * The files under `root` matching a glob `pattern` (default all files), one shard per
   * file, listed when the run starts (not when the plan is built). An empty match is an
   * error unless `allowEmpty` is set.
   *
   * @example Dataset.fromFiles("data/in", "**\/*.jsonl.gz")
   */
  static fromFiles(root: string, pattern = "**/*", opts: { allowEmpty?: boolean } = {}): Dataset<FileRef> {
    if (typeof root !== "string" || root === "") throw new PlanError("Dataset.fromFiles needs a root directory");
    if (typeof pattern !== "string" || pattern === "") throw new PlanError("Dataset.fromFiles pattern must be a non-empty glob");
    return new Dataset<FileRef>({ kind: "fromFiles", root, pattern, allowEmpty: opts.allowEmpty ?? false });
  }

  // ---- Load ------------------------------------------------------------------------------

  /**
   * Parses each file as JSON Lines (`.gz` and `.zst` decompressed by extension). A malformed
   * line fails the run naming file and line, or with `onBadLine: "skip"` is skipped and
   * counted in `stats.malformedLines`. Blank lines are ignored.
   *
   * @example Dataset.fromFiles("in", "*.jsonl.gz").loadJsonl<{ text: string }>()
   */
  loadJsonl<R = Record<string, unknown>>(this: Dataset<FileRef>, opts: { onBadLine?: BadLinePolicy } = {}): Dataset<R> {
    return new Dataset<R>({ kind: "load", parent: this.node, format: "jsonl", onBadLine: badLinePolicy(opts.onBadLine) });
  }

  /**
   * One string per line of each file (without the line break; `\r\n` handled). Files must be
   * UTF-8.
   *
   * @example Dataset.fromFiles("in", "*.txt").loadText()
   */
  loadText(this: Dataset<FileRef>): Dataset<string> {
    return new Dataset<string>({ kind: "load", parent: this.node, format: "text", onBadLine: "error" });
  }

  /**
   * Reads each file as Parquet, one row group at a time, and emits one plain object per row
   * (see README "Formats" for the Arrow → JSON mapping). `columns` is pushed into the reader:
   * only those columns are decoded, and naming a column the file lacks fails the run naming
   * the file and the columns it has. A local file whose row groups hold more than `shardBytes`
   * (default 128 MB, compressed; a number or "64MB") becomes several shards of consecutive
   * row groups; the rows, and their order, are the same whatever the split.
   *
   * @example Dataset.fromFiles("in", "*.parquet").loadParquet<{ id: number }>({ columns: ["id"] })
   */
  loadParquet<R = Record<string, unknown>>(this: Dataset<FileRef>, opts: { columns?: readonly string[]; shardBytes?: number | string } = {}): Dataset<R> {
    const columns = columnList("loadParquet", opts.columns);
    const shardBytes = opts.shardBytes === undefined ? undefined : parseBytes(opts.shardBytes, "loadParquet options.shardBytes");
    return new Dataset<R>({ kind: "load", parent: this.node, format: "parquet", onBadLine: "error", ...(columns ? { columns } : {}), ...(shardBytes !== undefined ? { shardBytes } : {}) });
  }

  /**
   * Reads each file as an Arrow IPC file (or stream), batch by batch, and emits one plain
   * object per row. `columns` keeps only those columns.
   *
   * @example Dataset.fromFiles("in", "*.arrow").loadArrow()
   */
  loadArrow<R = Record<string, unknown>>(this: Dataset<FileRef>, opts: { columns?: readonly string[] } = {}): Dataset<R> {
    const columns = columnList("loadArrow", opts.columns);
    return new Dataset<R>({ kind: "load", parent: this.node, format: "arrow", onBadLine: "error", ...(columns ? { columns } : {}) });
  }

  // ---- Transform (narrow steps, fused into one pass per shard) ---------------------------

  /**
   * Applies `fn` to every row; `fn` may be async.
   *
   * @example ds.map((d) => ({ ...d, text: d.text.trim() }))
   */
  map<U>(fn: (row: T) => MaybePromise<U>): Dataset<U> {
    checkFn(fn, "map");
    return new Dataset<U>({ kind: "map", parent: this.node, fn: fn as never });
  }

  /**
   * Maps each row to zero or more rows: an array, any iterable, a generator or an async
   * generator.
   *
   * @example ds.flatMap((line) => line.split(" "))
   */
  flatMap<U>(fn: (row: T) => Iterable<U> | AsyncIterable<U> | Promise<Iterable<U>>): Dataset<U> {
    checkFn(fn, "flatMap");
    return new Dataset<U>({ kind: "flatMap", parent: this.node, fn: fn as never });
  }

  /**
   * Keeps the rows for which `fn` is true; a type-guard predicate narrows the row type.
   *
   * @example ds.filter((d): d is Doc => typeof d.text === "string")
   */
  filter<S extends T>(fn: (row: T) => row is S): Dataset<S>;
  filter(fn: (row: T) => MaybePromise<boolean>): Dataset<T>;
  filter(fn: (row: T) => MaybePromise<boolean>): Dataset<T> {
    checkFn(fn, "filter");
    return new Dataset<T>({ kind: "filter", parent: this.node, fn: fn as never });
  }

  /**
   * Transforms a whole shard as a stream: for per-shard setup, batching or state.
   *
   * @example ds.mapShard(async function* (rows, shard) { let i = 0; for await (const r of rows) yield { ...r, i: i++, shard: shard.index }; })
   */
  mapShard<U>(fn: (rows: AsyncIterable<T>, shard: ShardInfo) => AsyncIterable<U> | Iterable<U>): Dataset<U> {
    checkFn(fn, "mapShard");
    return new Dataset<U>({ kind: "mapShard", parent: this.node, fn: fn as never });
  }

  /**
   * Groups consecutive rows of a shard into arrays of `n` (the last may be shorter).
   *
   * @example ds.window(32).map((batch) => embed(batch))
   */
  window(n: number): Dataset<T[]> {
    return new Dataset<T[]>({ kind: "window", parent: this.node, size: checkPositiveInt(n, "window(n)") });
  }

  /**
   * The first `n` rows of each shard; reading stops early once they are taken.
   *
   * @example ds.take(10).collect()
   */
  take(n: number): Dataset<T> {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new PlanError(`take(n) needs an integer >= 0, got ${n}`);
    return new Dataset<T>({ kind: "take", parent: this.node, n });
  }

  /**
   * Redistributes the rows into `n` shards, deterministically: row i of input shard s goes
   * to shard (s + i) mod n, and each output shard keeps input order (by input shard, then
   * position). A shuffle: the stage before it ends here.
   *
   * @example Dataset.fromFiles("in", "*.jsonl.gz").loadJsonl().reshard(64).writeJsonl("out/part-{shard:05d}.jsonl.gz")
   */
  reshard(n: number): Dataset<T> {
    return new Dataset<T>({ kind: "reshard", parent: this.node, n: checkPositiveInt(n, "reshard(n)") });
  }

  // ---- Wide steps (shuffle) --------------------------------------------------------------

  /**
   * Groups rows by `key` (a string, number, boolean, null, or arrays / plain objects of
   * them; `{a, b}` equals `{b, a}`, `1` differs from `"1"`) and calls `reducer(key, rows)`
   * once per key with the group's rows in input order (by input shard, then position).
   * `combiner(a, b)` (optional) merges two rows of one key into one row of the same type; it
   * must be associative, runs map-side and keeps memory bounded however big a group is —
   * the reducer then sees the combined rows. Without a combiner a group must fit the memory
   * budget, else the run fails with a ResourceError naming the key. Output: one row per key,
   * `numShards` shards (default: the number of input shards), in key order within a shard.
   *
   * @example ds.groupBy((d) => d.domain, (domain, docs) => ({ domain, n: [...docs].length }))
   */
  groupBy<K, U>(
    key: (row: T) => K,
    reducer: (key: K, rows: Iterable<T>) => MaybePromise<U>,
    opts: GroupByOptions<T> = {},
  ): Dataset<U> {
    checkFn(key, "groupBy key");
    checkFn(reducer, "groupBy reducer");
    if (opts.combiner !== undefined) checkFn(opts.combiner, "groupBy options.combiner");
    return new Dataset<U>({ kind: "groupBy", parent: this.node, key: key as never, reducer: reducer as never, ...(opts.combiner ? { combiner: opts.combiner as never } : {}), ...numShardsOption("groupBy", opts.numShards) });
  }

  /**
   * Keeps, for each key (default: the whole row), the first row in input order (by input
   * shard, then position), whatever the number of workers. Keys as for `groupBy`.
   *
   * @example ds.dedupe((d) => d.text)
   */
  dedupe(key?: (row: T) => unknown, opts: { numShards?: number } = {}): Dataset<T> {
    if (key !== undefined) checkFn(key, "dedupe key");
    return new Dataset<T>({ kind: "dedupe", parent: this.node, ...(key ? { key: key as never } : {}), ...numShardsOption("dedupe", opts.numShards) });
  }

  /**
   * Counts rows per key: `{ key, count }` rows, one per key (counted map-side, so memory
   * stays bounded for any key distribution).
   *
   * @example ds.countBy((d) => d.domain)
   */
  countBy<K>(key: (row: T) => K, opts: { numShards?: number } = {}): Dataset<{ key: K; count: number }> {
    checkFn(key, "countBy key");
    return new Dataset<{ key: K; count: number }>({ kind: "countBy", parent: this.node, key: key as never, ...numShardsOption("countBy", opts.numShards) });
  }

  /**
   * Joins with `other` on equal keys: `{ left, right }` rows, one per matching pair;
   * `how: "left"` also keeps left rows with no match as `{ left, right: null }`. Both sides
   * are shuffled into `numShards` partitions (default: the larger input's shard count).
   * Order within an output shard: by key, then left rows in input order, then right rows
   * in input order. All rows of one key (both sides) must fit the memory budget.
   *
   * @example users.join(orders, { leftKey: (u) => u.id, rightKey: (o) => o.userId, how: "left" })
   */
  join<U, K>(other: Dataset<U>, opts: { leftKey: (row: T) => K; rightKey: (row: U) => K; how?: "inner"; numShards?: number }): Dataset<{ left: T; right: U }>;
  join<U, K>(other: Dataset<U>, opts: { leftKey: (row: T) => K; rightKey: (row: U) => K; how: "left"; numShards?: number }): Dataset<{ left: T; right: U | null }>;
  join<U, K>(other: Dataset<U>, opts: { leftKey: (row: T) => K; rightKey: (row: U) => K; how?: "inner" | "left"; numShards?: number }): Dataset<{ left: T; right: U | null }>;
  join<U, K>(other: Dataset<U>, opts: { leftKey: (row: T) => K; rightKey: (row: U) => K; how?: "inner" | "left"; numShards?: number }): Dataset<{ left: T; right: U | null }> {
    if (!(other instanceof Dataset)) throw new PlanError("join needs another Dataset as its first argument");
    checkFn(opts?.leftKey, "join options.leftKey");
    checkFn(opts.rightKey, "join options.rightKey");
    const how = opts.how ?? "inner";
    if (how !== "inner" && how !== "left") throw new PlanError(`join options.how must be "inner" or "left", got ${JSON.stringify(how)}`);
    return new Dataset({ kind: "join", parent: this.node, right: other.node, leftKey: opts.leftKey as never, rightKey: opts.rightKey as never, how, ...numShardsOption("join", opts.numShards) });
  }

  /**
   * Reduces all rows to one: `local(acc, row)` folds each shard's rows (acc is `undefined`
   * for the first row), `global(a, b)` merges the shards' results in shard order (default:
   * `local` itself, right when the accumulator has the row's type). Empty input gives no row.
   *
   * @example ds.map((d) => d.text.length).reduce((acc: number | undefined, n) => (acc ?? 0) + n)
   */
  reduce<A>(local: (acc: A | undefined, row: T) => A, global?: (a: A, b: A) => A): Dataset<A> {
    checkFn(local, "reduce local");
    if (global !== undefined) checkFn(global, "reduce global");
    return new Dataset<A>({ kind: "reduce", parent: this.node, local: local as never, ...(global ? { global: global as never } : {}) });
  }

  /**
   * Tokenizes each row (a string, or an object whose `textField` holds the text) into a
   * `Uint32Array` of token ids, with the end-of-text token appended (`appendEos`, default
   * true). `encoding` is an encoding shipped in gpt-tokenizer (`"cl100k_base"`,
   * `"o200k_base"`) or a Hugging Face `{ tokenizerJson: path, eosToken? }`. The tokenizer is
   * loaded once per worker thread. Special-token text inside documents is encoded as plain
   * text.
   *
   * @example Dataset.fromFiles("in", "*.jsonl.gz").loadJsonl<{ text: string }>().tokenize({ encoding: "cl100k_base" })
   */
  tokenize(opts: { encoding: TokenizerEncoding; textField?: string; appendEos?: boolean }): Dataset<Uint32Array> {
    const enc = opts?.encoding;
    const known = enc === "cl100k_base" || enc === "o200k_base";
    const json = typeof enc === "object" && enc !== null && typeof enc.tokenizerJson === "string" && enc.tokenizerJson !== "";
    if (!known && !json) {
      throw new PlanError(`tokenize options.encoding must be "cl100k_base", "o200k_base" or { tokenizerJson: path }, got ${JSON.stringify(enc)}`);
    }
    const textField = opts.textField ?? "text";
    if (typeof textField !== "string" || textField === "") throw new PlanError("tokenize options.textField must be a non-empty string");
    const encoding: TokenizerEncoding = known ? enc : Object.freeze({ ...(enc as { tokenizerJson: string; eosToken?: string }) });
    return new Dataset<Uint32Array>({ kind: "tokenize", parent: this.node, encoding, textField, appendEos: opts.appendEos ?? true });
  }

  // ---- Output ----------------------------------------------------------------------------

  /**
   * Writes each shard as JSON Lines to `pattern`, which may use `{shard}`, `{total}` and
   * `{basename}` (input file name without extensions), with zero-padding like `{shard:05d}`.
   * `.gz` / `.zst` compress. Each file is committed atomically (temporary name, then rename).
   *
   * @example ds.writeJsonl("out/part-{shard:05d}-of-{total:05d}.jsonl.gz")
   */
  writeJsonl(pattern: string, opts: { skipExisting?: boolean } = {}): Sink<T> {
    if (typeof pattern !== "string" || pattern === "") throw new PlanError("writeJsonl needs an output pattern");
    return new Sink<T>({ kind: "writeJsonl", parent: this.node, pattern, skipExisting: opts.skipExisting ?? false });
  }

  /**
   * Writes each shard as one Parquet file to `pattern` (same placeholders as `writeJsonl`).
   * Rows must be objects; one Arrow schema is inferred over the shard's rows (README
   * "Formats"), and rows that cannot share one fail naming the field and both types.
   * `compression` (default `"zstd"`): zstd, snappy, gzip, brotli, lz4_raw or uncompressed.
   * `rowGroupRows` (default 100,000): the most rows per row group. `schema` (an apache-arrow
   * `Schema`) replaces inference: values that do not fit fail naming the field. Committed
   * atomically.
   *
   * @example ds.writeParquet("out/part-{shard:05d}.parquet", { compression: "snappy", rowGroupRows: 50_000 })
   */
  writeParquet(pattern: string, opts: { compression?: ParquetCodec; rowGroupRows?: number; schema?: Schema; skipExisting?: boolean } = {}): Sink<T> {
    if (typeof pattern !== "string" || pattern === "") throw new PlanError("writeParquet needs an output pattern");
    const compression = opts.compression ?? "zstd";
    if (!PARQUET_CODECS.includes(compression)) {
      throw new PlanError(`writeParquet options.compression must be one of ${PARQUET_CODECS.join(", ")}; got ${JSON.stringify(compression)}`);
    }
    const rowGroupRows = opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    if (!Number.isSafeInteger(rowGroupRows) || rowGroupRows < 1) throw new PlanError(`writeParquet options.rowGroupRows must be a positive integer; got ${String(rowGroupRows)}`);
    return new Sink<T>({ kind: "writeParquet", parent: this.node, pattern, skipExisting: opts.skipExisting ?? false, compression, rowGroupRows, ...schemaOption("writeParquet", opts.schema) });
  }

  /**
   * Writes each shard as one Arrow IPC file (the random-access file format, `.arrow`) to
   * `pattern`, with the schema inferred (or given) as for `writeParquet`. Committed atomically.
   *
   * @example ds.writeArrow("out/part-{shard:05d}.arrow")
   */
  writeArrow(pattern: string, opts: { schema?: Schema; skipExisting?: boolean } = {}): Sink<T> {
    if (typeof pattern !== "string" || pattern === "") throw new PlanError("writeArrow needs an output pattern");
    return new Sink<T>({ kind: "writeArrow", parent: this.node, pattern, skipExisting: opts.skipExisting ?? false, ...schemaOption("writeArrow", opts.schema) });
  }

  /**
   * Writes tokenized documents to a token cache at `uri` (a folder, or later `gs://…`): per
   * input shard, parts of up to `shardRows` documents (default 65,536), each a `.tokens` file
   * (uint32 LE) and a `.offsets` file (uint64 LE, n+1 cumulative), then a shard manifest;
   * all committed atomically. The driver keeps `ledger.json` publishing the contiguous prefix
   * of finished shards, so `openTokenFeed` readers can start before the job ends. Committed
   * shards are skipped when the job runs again (resume). Needs a `.tokenize()` step before it.
   *
   * @example await run(Dataset.fromFiles("in", "*.jsonl.gz").loadJsonl().tokenize({ encoding: "cl100k_base" }).writeTokenCache("cache/"))
   */
  writeTokenCache(this: Dataset<Uint32Array>, uri: string, opts: { shardRows?: number } = {}): Sink<Uint32Array> {
    if (typeof uri !== "string" || uri === "") throw new PlanError("writeTokenCache needs a cache location (a folder or gs:// prefix)");
    const shardRows = opts.shardRows === undefined ? 65_536 : checkPositiveInt(opts.shardRows, "writeTokenCache options.shardRows");
    const tok = lineage(this.node).find((n): n is TokenizeNode => n.kind === "tokenize");
    if (!tok) throw new PlanError("writeTokenCache needs a .tokenize({ encoding }) step before it (the cache records which tokenizer made it)");
    const root = uri.replace(/\/+$/, "");
    return new Sink<Uint32Array>({
      kind: "writeTokenCache",
      parent: this.node,
      uri: root,
      shardRows,
      pattern: `${root}/shards/{shard:05d}.json`,
      skipExisting: true,
      tokenizer: Object.freeze({ encoding: tok.encoding, appendEos: tok.appendEos }),
    });
  }

  /**
   * Map over a directory: calls `fn(inputPath, outputPath)` for each input file, where the
   * output path is the input path rebased from the `fromFiles` root onto `outputDir`. `fn`
   * writes `outputPath` (a temporary name in the final folder, same extension); sirocco
   * renames it into place when `fn` resolves. Existing outputs are skipped unless
   * `skipExisting: false`. `rename` maps the relative path to another one, e.g. to change
   * the extension: `(rel) => rel.replace(/\.gz$/, ".zst")`.
   *
   * @example Dataset.fromFiles("raw", "**\/*.html").mapFiles(async (i, o) => fs.writeFile(o, clean(await fs.readFile(i, "utf8"))), { outputDir: "clean" })
   */
  mapFiles(
    this: Dataset<FileRef>,
    fn: (inputPath: string, outputPath: string) => Promise<void> | void,
    opts: { outputDir: string; skipExisting?: boolean; rename?: (relativePath: string) => string },
  ): Sink<FileRef> {
    checkFn(fn, "mapFiles");
    if (!opts || typeof opts.outputDir !== "string" || opts.outputDir === "") throw new PlanError("mapFiles needs { outputDir }");
    if (opts.rename !== undefined) checkFn(opts.rename, "mapFiles rename");
    return new Sink<FileRef>({
      kind: "mapFiles",
      parent: this.node,
      fn: fn as never,
      outputDir: opts.outputDir,
      skipExisting: opts.skipExisting ?? true,
      rename: opts.rename as never,
    });
  }

  // ---- Run -------------------------------------------------------------------------------

  /**
   * Runs the pipeline and returns all rows in shard order. For small results.
   *
   * @example const rows = await ds.collect({ executor: "inline" });
   */
  collect(opts: RunOptions = {}): Promise<T[]> {
    return getCollectRunner()(this.node, opts) as Promise<T[]>;
  }

  /** The logical plan, the optimized plan and the stages. */
  explain(): string {
    return explainPlan(this.node);
  }
}

/** Options of `groupBy`. */
export interface GroupByOptions<T> {
  /**
   * Merges two rows of one key into one row of the same type; must be associative. Runs
   * map-side (bounded memory for any group size); the reducer then sees combined rows.
   * (Method syntax on purpose: it keeps `Dataset<T>` assignable to `Dataset<unknown>`.)
   */
  combiner?(a: T, b: T): T;
  /** Output shards (partitions). Default: the number of input shards. */
  numShards?: number;
}

function numShardsOption(step: string, n: number | undefined): { numShards?: number } {
  return n === undefined ? {} : { numShards: checkPositiveInt(n, `${step} options.numShards`) };
}

function badLinePolicy(p: BadLinePolicy | undefined): BadLinePolicy {
  if (p === undefined) return "error";
  if (p !== "error" && p !== "skip") throw new PlanError(`onBadLine must be "error" or "skip", got ${JSON.stringify(p)}`);
  return p;
}

const PARQUET_CODECS: readonly ParquetCodec[] = ["zstd", "snappy", "gzip", "brotli", "lz4_raw", "uncompressed"];

/** Default most rows per Parquet row group: bounds reader and writer memory per group. */
const DEFAULT_ROW_GROUP_ROWS = 100_000;

function columnList(step: string, columns: readonly string[] | undefined): readonly string[] | undefined {
  if (columns === undefined) return undefined;
  if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== "string" || c === "")) {
    throw new PlanError(`${step} options.columns must be a non-empty array of column names; got ${JSON.stringify(columns)}`);
  }
  if (new Set(columns).size !== columns.length) throw new PlanError(`${step} options.columns names a column twice: ${JSON.stringify(columns)}`);
  return Object.freeze([...columns]);
}

function schemaOption(step: string, schema: Schema | undefined): { schema?: Schema } {
  if (schema === undefined) return {};
  if (!isArrowSchema(schema)) throw new PlanError(`${step} options.schema must be an apache-arrow Schema (new Schema([new Field("id", new Int64(), true), …]))`);
  return { schema };
}

/**
 * Whether `v` is an apache-arrow Schema: checked by shape (fields with names and typed
 * types), so the engine need not load apache-arrow to build a plan, and a Schema from another
 * copy of the package is accepted too.
 */
function isArrowSchema(v: unknown): v is Schema {
  const fields = (v as { fields?: unknown } | null)?.fields;
  return (
    typeof v === "object" &&
    v !== null &&
    Array.isArray(fields) &&
    fields.every((f: { name?: unknown; type?: { typeId?: unknown } } | null) => typeof f?.name === "string" && typeof f.type?.typeId === "number")
  );
}
