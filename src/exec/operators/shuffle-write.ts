import { deserialize, serialize } from "node:v8";
import { InternalError } from "../../core/errors.js";
import type { ShuffleEnd } from "../../plan/stage.js";
import { canonicalKey, keyHash, partitionOfHash } from "../../shuffle/key-encoding.js";
import { SEEN_BYTES_PER_KEY, SeenKeys } from "../../shuffle/seen-keys.js";
import type { SharedBudget } from "../../shuffle/shared-budget.js";
import type { SpillIndex } from "../../shuffle/spill-index.js";
import { SpillWriter } from "../../shuffle/spill-writer.js";
import { isTextPayload } from "../../shuffle/shuffle-entry.js";
import { ENTRY_HELD_BYTES } from "../../shuffle/sorted-entries.js";
import { StepFailure, type Chunk } from "./chunk.js";
import type { TaskSpec } from "../task-spec.js";

/**
 * Dedupe keys whose canonical form is longer than this (characters) are stored in the
 * shuffle blocks only while a map task's data may stay in memory (see below).
 */
export const MAX_STORED_DEDUPE_KEY_CHARS = 128;

/** Smallest buffer budget of a map task, whatever `--memory` says (one block must fit). */
const MIN_BUFFER_BYTES = 256 * 1024;

/** What a map task leaves for the reducers: its spill index (a URI, or the index itself when its last flush is in shared memory). */
export interface MapSideResult {
  index: string | SpillIndex;
  /** Spills written to the scratch store (a shared-memory spill is not counted). */
  spillFiles: number;
}

async function finish(writer: SpillWriter, shared: SharedBudget | undefined): Promise<MapSideResult> {
  const index = await writer.finish({ shared });
  return { index, spillFiles: writer.spillFiles };
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
 * budget is buffered (with `spec.shuffleShared`, the last flush stays in shared memory). A
 * row that still has its input JSON text (`Chunk.texts`) moves as that text; other rows as
 * `v8.serialize` bytes (exact for everything structured clone supports). Every entry
 * carries its canonical key's UTF-8 (encoded once, straight into the block; the reducer
 * compares those bytes where key hashes tie, never re-parsing rows) and (side, shard,
 * position) — its input order.
 */
export async function shuffleWrite(chunks: AsyncIterable<Chunk>, end: ShuffleEnd, spec: TaskSpec): Promise<MapSideResult> {
  const partitions = spec.partitions;
  if (!partitions) throw new InternalError("a shuffle-writing task has no partition count");
  const budget = Math.max(MIN_BUFFER_BYTES, Math.floor((spec.memoryBytes ?? 1e9) / 2));
  const shared = spec.shuffleShared;
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
  const keyValue = (row: unknown, c: Chunk, i: number): unknown => {
    try {
      return keyFn!(row);
    } catch (e) {
      throw new StepFailure(e, keyStep, c.file, c.lines?.[i]);
    }
  };
  const canonical = (v: unknown, c: Chunk, i: number): string => {
    try {
      return canonicalKey(v);
    } catch (e) {
      throw new StepFailure(e, keyStep, c.file, c.lines?.[i]);
    }
  };

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
    return finish(writer, shared);
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
        const key = canonical(keyValue(row, c, i), c, i);
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
          groups.set(key, { hash: keyHash(key), pos, value: counting ? 1 : row });
          bytes += key.length * 2 + ENTRY_HELD_BYTES + (counting ? 16 : serialize(row).length);
          if (bytes >= budget) await flush();
        }
        pos++;
      }
    }
    // What is left is buffered for the last flush (in shared memory when allowed).
    for (const [key, g] of groups) writer.add(partitionOfHash(g.hash, partitions), { key, hash: g.hash, src, shard, pos: g.pos, payload: serialize(g.value) });
    return finish(writer, shared);
  }

  // dedupe (first row per key within each buffer generation), groupBy without combiner,
  // join, reshard: one entry per row, its key encoded straight into its partition's block.
  // The dedupe table maps key hashes to where their first row sits in the buffers; a hit is
  // confirmed by comparing the real keys. It is cleared at each flush and counted in the
  // budget. A dedupe key longer than MAX_STORED_DEDUPE_KEY_CHARS (a document's text) is
  // stored only while the task's data may stay in memory — on one machine, until its first
  // flush to the scratch store: reading a key back from memory is far cheaper than re-parsing
  // its row, but writing (or sending) every text twice is not. Otherwise it is left out (its
  // row holds it) and recomputed from the row in the few places that need it: a hash hit here,
  // a hash shared by several entries in the reducer, which copes with any mix.
  const dedupe = node.kind === "dedupe";
  let maxStoredKey = dedupe && !shared ? MAX_STORED_DEDUPE_KEY_CHARS : Number.POSITIVE_INFINITY;
  const seen = new SeenKeys();
  /** Partitions rows are spread over (a reshard's own count). */
  const n = node.kind === "reshard" ? node.n : partitions;
  /** The canonical key of buffered row `row` of partition `p` whose key was not stored, from its payload. */
  const bufferedKey = (p: number, row: number): string => {
    const payload = writer.builder(p).payloadAt(row);
    return canonicalKey(keyFn!(isTextPayload(payload) ? JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8")) : deserialize(payload)));
  };
  for await (const c of chunks) {
    const texts = c.texts;
    for (let i = 0; i < c.rows.length; i++) {
      const row = c.rows[i];
      let p: number;
      let hash = 0;
      if (keyFn) {
        const v = keyValue(row, c, i);
        const k = typeof v === "string" ? undefined : canonical(v, c, i);
        hash = k === undefined ? keyHash("", v as string) : keyHash(k);
        p = partitionOfHash(hash, n);
        const b = writer.builder(p);
        if ((k === undefined ? (v as string).length + 1 : k.length) <= maxStoredKey) {
          if (k === undefined) b.stageStringKey(v as string);
          else b.stageKey(k);
          if (dedupe && seen.findOrAdd(hash, b.rows, (r) => b.stagedKeyEquals(r))) {
            b.dropStaged();
            pos++;
            continue;
          }
        } else {
          // A long dedupe key, not stored: a hash hit is confirmed on the buffered row's recomputed key.
          const key = k ?? `"${v as string}`;
          if (seen.findOrAdd(hash, b.rows, (r) => b.keyLength(r) === 0 && bufferedKey(p, r) === key)) {
            pos++;
            continue;
          }
        }
      } else p = (shard + pos) % n;
      const text = texts?.[i];
      if (writer.addStaged(p, hash, src, shard, pos, text ?? serialize(row), dedupe ? SEEN_BYTES_PER_KEY : 0)) {
        await writer.flush();
        seen.clear();
        if (dedupe) maxStoredKey = MAX_STORED_DEDUPE_KEY_CHARS;
      }
      pos++;
    }
  }
  return finish(writer, shared);
}
