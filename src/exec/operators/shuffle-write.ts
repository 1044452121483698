import { deserialize, serialize } from "node:v8";
import { InternalError } from "../../core/errors.js";
import type { ShuffleEnd } from "../../plan/stage.js";
import { canonicalKey, keyHash, partitionOfHash } from "../../shuffle/key-encoding.js";
import { ENTRY_OVERHEAD_BYTES, isTextPayload } from "../../shuffle/shuffle-entry.js";
import { SpillWriter } from "../../shuffle/spill-writer.js";
import { StepFailure, type Chunk } from "./chunk.js";
import type { TaskSpec } from "../task-spec.js";

/** Dedupe keys up to this many characters are kept as they are in the map-side set; longer ones are recomputed from their row on a hash hit. */
const SHORT_KEY_CHARS = 64;

/** Smallest buffer budget of a map task, whatever `--memory` says (one block must fit). */
const MIN_BUFFER_BYTES = 256 * 1024;

async function finish(writer: SpillWriter): Promise<{ index: string; spillFiles: number }> {
  const index = await writer.finish();
  return { index, spillFiles: writer.spillCount };
}

/** The scratch folder of one stage's shuffle files. */
export function stageScratch(spec: TaskSpec): string {
  if (!spec.scratch) throw new InternalError("a shuffle task has no scratch folder");
  return `${spec.scratch}/stage-${String(spec.stage).padStart(3, "0")}`;
}

/**
 * The map side of a shuffle: computes each row's key, hash-partitions it, combines
 * map-side where the step allows (dedupe keeps the first row per key, countBy and a
 * groupBy combiner merge rows of one key, reduce folds the whole shard), and hands entries
 * to a {@link SpillWriter} that flushes one spill file whenever half the task's memory
 * budget is buffered. A row that still has its input JSON text (`Chunk.texts`) moves as
 * that text; other rows as `v8.serialize` bytes (exact for everything structured clone
 * supports). Dedupe entries carry no key: the reducer needs keys only where key hashes tie,
 * and recomputes them from the rows there (a text key such as a document is then not moved
 * twice). Each entry carries (side, shard, position) — its input order.
 * Returns the spill index URI and how many spill files were written.
 */
export async function shuffleWrite(chunks: AsyncIterable<Chunk>, end: ShuffleEnd, spec: TaskSpec): Promise<{ index: string; spillFiles: number }> {
  const partitions = spec.partitions;
  if (!partitions) throw new InternalError("a shuffle-writing task has no partition count");
  const budget = Math.max(MIN_BUFFER_BYTES, Math.floor((spec.memoryBytes ?? 1e9) / 2));
  const writer = new SpillWriter({ dir: stageScratch(spec), name: `m${String(spec.shard).padStart(5, "0")}-a${spec.attempt}`, partitions, budgetBytes: budget, tag: spec.runId });
  const src = end.side;
  const shard = spec.shard;
  const node = end.node;
  let pos = 0;

  const keyStep = node.kind === "join" ? (src === 0 ? "join leftKey" : "join rightKey") : `${node.kind} key`;
  const keyFn: ((row: unknown) => unknown) | undefined =
    node.kind === "groupBy" || node.kind === "countBy"
      ? (node.key as (r: unknown) => unknown)
      : node.kind === "dedupe"
        ? ((node.key as ((r: unknown) => unknown) | undefined) ?? ((r: unknown) => r))
        : node.kind === "join"
          ? ((src === 0 ? node.leftKey : node.rightKey) as (r: unknown) => unknown)
          : undefined;
  // keyOf returns the canonical key and sets `raw` (the string key itself, or the canonical
  // form); hashRaw() then gives its key hash. A string key is hashed and compared as the row's
  // own string, never as the `"`-prefixed copy.
  let raw = "";
  let rawIsString = false;
  const keyOf = (row: unknown, c: Chunk, i: number): string => {
    try {
      const v = keyFn!(row);
      if (typeof v === "string") {
        raw = v;
        rawIsString = true;
        return `"${v}`;
      }
      const k = canonicalKey(v);
      raw = k;
      rawIsString = false;
      return k;
    } catch (e) {
      throw new StepFailure(e, keyStep, c.file, c.lines?.[i]);
    }
  };
  /** Partitions rows are spread over (a reshard's own count). */
  const n = node.kind === "reshard" ? node.n : partitions;
  /** The canonical key of an entry already buffered (located as `row × n + partition`), from its payload. */
  const bufferedKey = (at: number): string => {
    const payload = writer.payloadAt(at % n, Math.floor(at / n));
    return canonicalKey(keyFn!(isTextPayload(payload) ? JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8")) : deserialize(payload)));
  };
  const hashRaw = (): number => (rawIsString ? keyHash("", raw) : keyHash(raw));

  if (node.kind === "reduce") {
    const local = node.local as (acc: unknown, row: unknown) => unknown;
    let acc: unknown;
    let any = false;
    for await (const c of chunks) {
      for (let i = 0; i < c.rows.length; i++) {
        try {
          acc = local(acc, c.rows[i]);
        } catch (e) {
          throw new StepFailure(e, "reduce local", c.file, c.lines?.[i]);
        }
        any = true;
      }
    }
    if (any) writer.add(0, { key: "null", hash: keyHash("null"), src, shard, pos: 0, payload: serialize(acc) });
    return finish(writer);
  }

  if (node.kind === "countBy" || (node.kind === "groupBy" && node.combiner)) {
    // Map-side combining: one value per key until the buffer budget is reached.
    const counting = node.kind === "countBy";
    const combine = (node.kind === "groupBy" ? node.combiner : undefined) as ((a: unknown, b: unknown) => unknown) | undefined;
    let groups = new Map<string, { hash: number; pos: number; value: unknown }>();
    let bytes = 0;
    const flush = async () => {
      for (const [key, g] of groups) writer.add(partitionOfHash(g.hash, partitions), { key, hash: g.hash, src, shard, pos: g.pos, payload: serialize(g.value) });
      groups = new Map();
      bytes = 0;
      await writer.flush();
    };
    for await (const c of chunks) {
      for (let i = 0; i < c.rows.length; i++) {
        const row = c.rows[i];
        const key = keyOf(row, c, i);
        const g = groups.get(key);
        if (g) {
          if (counting) g.value = (g.value as number) + 1;
          else {
            try {
              g.value = combine!(g.value, row);
            } catch (e) {
              throw new StepFailure(e, "groupBy combiner", c.file, c.lines?.[i]);
            }
          }
        } else {
          groups.set(key, { hash: hashRaw(), pos, value: counting ? 1 : row });
          bytes += key.length * 2 + ENTRY_OVERHEAD_BYTES + (counting ? 16 : serialize(row).length);
          if (bytes >= budget) await flush();
        }
        pos++;
      }
    }
    await flush();
    return finish(writer);
  }

  // dedupe (first row per key within each buffer generation), groupBy without combiner,
  // join, reshard: one entry per row. The dedupe set is keyed by the 52-bit key hash (a number:
  // no hashing of long strings by V8) and holds the canonical key when it is short, else where
  // the row sits in the buffers (a long key is recomputed from that row on a hash hit, so a
  // task's distinct texts are not kept on the heap). Keys of a (practically never seen) hash
  // collision go to a second set. It holds one slot per buffered entry and is dropped at each
  // flush, so it is bounded by the buffer budget (counted in ENTRY_OVERHEAD_BYTES).
  const dedupe = node.kind === "dedupe";
  let seen = new Map<number, string | number>();
  let collided: Set<string> | undefined;
  for await (const c of chunks) {
    const texts = c.texts;
    for (let i = 0; i < c.rows.length; i++) {
      const row = c.rows[i];
      let key: string;
      let p: number;
      let hash: number;
      if (keyFn) {
        key = keyOf(row, c, i);
        hash = hashRaw();
        p = partitionOfHash(hash, n);
        if (dedupe) {
          const prev = seen.get(hash);
          if (prev === undefined) seen.set(hash, key.length <= SHORT_KEY_CHARS ? key : writer.rowsIn(p) * n + p);
          else if ((typeof prev === "string" ? prev === key : bufferedKey(prev) === key) || collided?.has(key)) {
            pos++;
            continue;
          } else (collided ??= new Set()).add(key);
          key = "";
        }
      } else {
        key = "";
        hash = 0;
        p = (shard + pos) % n;
      }
      const text = texts?.[i];
      if (writer.add(p, { key, hash, src, shard, pos, payload: text ?? serialize(row) })) {
        await writer.flush();
        seen = new Map();
        collided = undefined;
      }
      pos++;
    }
  }
  return finish(writer);
}
