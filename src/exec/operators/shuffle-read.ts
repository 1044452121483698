import { deserialize } from "node:v8";
import pLimit from "p-limit";
import { InternalError, ResourceError } from "../../core/errors.js";
import type { ShuffleSource } from "../../plan/stage.js";
import { sortPartition, type SortInfo } from "../../shuffle/external-sort.js";
import { canonicalKey, decodeKey, keyPreview } from "../../shuffle/key-encoding.js";
import type { SortedBatch } from "../../shuffle/sorted-entries.js";
import { BlockFiles, partitionBlocks, readIndex } from "../../shuffle/spill-index.js";
import type { TaskSpec, TaskStats } from "../task-spec.js";
import { CHUNK_ROWS, isThenable, StepFailure, type Chunk } from "./chunk.js";
import { stageScratch } from "./shuffle-write.js";

/**
 * The reduce side of a shuffle, as the source of a stage: reads partition p's byte ranges
 * from every map task's spills (through their indexes: read from the scratch store, or
 * handed over with the task when the spills are in shared memory), sorts them by (key hash,
 * key, input order) in memory or with an external merge, and applies the wide step:
 * - dedupe: the first row of each key; countBy: `{ key, count }`;
 * - groupBy: `reducer(key, rows)` (rows folded with the combiner first, if any);
 * - join: `{ left, right }` pairs (left join: `right: null` when a key has no right rows);
 * - reduce: `global` over the shards' partial results, in shard order (partition 0 only);
 * - reshard: the rows in input order.
 * Entries of one key are adjacent in that order, so a key ends where the next entry's hash
 * or key bytes differ. Output rows come in key order; every path (in memory or spilled)
 * gives the same rows. Rows that moved as JSON text keep it (`Chunk.texts`); with
 * `textsOnly` (the stage only writes JSON Lines) dedupe and reshard rows are not parsed.
 */
export async function* shuffleReadChunks(source: ShuffleSource, spec: TaskSpec, stats?: TaskStats, o: { textsOnly?: boolean } = {}): AsyncGenerator<Chunk> {
  const input = spec.input;
  if (input.kind !== "shuffle") throw new InternalError(`a shuffle-reading stage got a ${input.kind} input`);
  const budget = spec.memoryBytes ?? 1e9;
  const limit = pLimit(16);
  const indexes = await Promise.all(input.maps.map((m) => (typeof m.index === "string" ? limit(() => readIndex(m.index as string)) : m.index)));
  const p = input.partition;
  const blocks = partitionBlocks(indexes, p);
  const info: SortInfo = { external: false, runs: 0, mergePasses: 0 };
  const files = new BlockFiles();
  try {
    const sorted = await sortPartition(blocks, { budgetBytes: budget, dir: stageScratch(spec), name: `r${String(p).padStart(5, "0")}-a${spec.attempt}`, tag: spec.runId, files }, info);
    if (stats) stats.sortedRuns = info.runs;
    yield* reducePartition(sorted, source, spec, o, budget, p);
  } finally {
    await files.close();
  }
}

/** The wide step over partition `p`'s entries in reducer order. */
async function* reducePartition(sorted: AsyncIterable<SortedBatch>, source: ShuffleSource, spec: TaskSpec, o: { textsOnly?: boolean }, budget: number, p: number): AsyncGenerator<Chunk> {
  const node = source.node;
  let out: unknown[] = [];
  const full = () => out.length >= CHUNK_ROWS;
  const take = (): Chunk => {
    const c = { rows: out };
    out = [];
    return c;
  };
  // The entry before the current one (it may be in the previous batch): a key ends where the
  // next entry's hash or key differs.
  let prev: SortedBatch | undefined;
  let prevAt = 0;
  const sameKeyAsPrev = (b: SortedBatch, i: number): boolean => prev !== undefined && prev.hash(prevAt) === b.hash(i) && prev.sameKey(prevAt, i, b);
  const step = (b: SortedBatch, i: number) => {
    prev = b;
    prevAt = i;
  };

  if (node.kind === "reshard" || node.kind === "dedupe") {
    // Rows pass through as they are: with their JSON text when they moved as one. Dedupe keeps
    // the first entry of each key (the first in input order: keys sort by input order within).
    let texts: Array<Uint8Array | undefined> = [];
    const textsOnly = o.textsOnly === true;
    const takeWithTexts = (): Chunk => {
      const c: Chunk = { rows: out, texts, ...(textsOnly ? { textsOnly } : {}) };
      out = [];
      texts = [];
      return c;
    };
    const emit = (b: SortedBatch, i: number) => {
      const pl = b.payload(i);
      if (b.isText(i)) {
        out.push(textsOnly ? null : payloadRow(pl));
        texts.push(pl);
      } else {
        out.push(deserialize(pl));
        texts.push(undefined);
      }
    };
    if (node.kind === "reshard") {
      for await (const batch of sorted) {
        for (let i = 0; i < batch.length; i++) {
          emit(batch, i);
          if (full()) yield takeWithTexts();
        }
      }
      if (out.length) yield takeWithTexts();
      return;
    }
    // Dedupe, one hash run at a time (entries of one key hash: nearly always copies of one
    // key). In a run whose keys are all stored, entries are in (key bytes, input order): an
    // entry is kept when its key differs from the one before it. A run holding entries whose
    // key was not stored (a long key, see shuffle-write.ts) is resolved by real keys: each
    // entry's key (its stored bytes, or recomputed from the row), the first entry in input
    // order per key, kept entries in (key bytes, input order) — the order of the first case,
    // so what a map task stored never changes the output.
    const keyFn = (node.key as ((r: unknown) => unknown) | undefined) ?? ((r: unknown) => r);
    const keyBytesOf = (b: SortedBatch, i: number): Buffer => {
      if (b.keyLength(i) > 0) return b.keyBytes(i);
      try {
        return Buffer.from(canonicalKey(keyFn(payloadValue(b, i))), "utf8");
      } catch (err) {
        throw new StepFailure(err, "dedupe key");
      }
    };
    // The current run: its first entry (b0, i0), and the rest only once a second one comes.
    let b0: SortedBatch | undefined;
    let i0 = 0;
    let rest: Array<{ b: SortedBatch; i: number }> = [];
    let unstored = false;
    const resolveRun = () => {
      if (rest.length === 0) emit(b0!, i0);
      else if (!unstored) {
        emit(b0!, i0);
        let pb = b0!;
        let pi = i0;
        for (const e of rest) {
          if (!pb.sameKey(pi, e.i, e.b)) emit(e.b, e.i);
          pb = e.b;
          pi = e.i;
        }
      } else {
        const first = new Map<string, { b: SortedBatch; i: number; key: Buffer }>();
        for (const e of [{ b: b0!, i: i0 }, ...rest]) {
          const key = keyBytesOf(e.b, e.i);
          const id = key.toString("latin1");
          const had = first.get(id);
          if (!had || e.b.compareOrder(e.i, had.b, had.i) < 0) first.set(id, { ...e, key });
        }
        const kept = [...first.values()].sort((x, y) => Buffer.compare(x.key, y.key));
        for (const e of kept) emit(e.b, e.i);
      }
      b0 = undefined;
      rest = [];
      unstored = false;
    };
    for await (const batch of sorted) {
      for (let i = 0; i < batch.length; i++) {
        if (b0 !== undefined) {
          if (b0.hash(i0) === batch.hash(i)) {
            rest.push({ b: batch, i });
            if (batch.keyLength(i) === 0) unstored = true;
            continue;
          }
          resolveRun();
          if (full()) yield takeWithTexts();
        }
        b0 = batch;
        i0 = i;
        unstored = batch.keyLength(i) === 0;
      }
    }
    if (b0 !== undefined) resolveRun();
    if (out.length) yield takeWithTexts();
    return;
  }
  if (node.kind === "countBy") {
    let key: string | undefined;
    let count = 0;
    for await (const batch of sorted) {
      for (let i = 0; i < batch.length; i++) {
        if (!sameKeyAsPrev(batch, i)) {
          if (key !== undefined) out.push({ key: decodeKey(key), count });
          key = batch.key(i);
          count = 0;
        }
        step(batch, i);
        count += payloadValue(batch, i) as number;
      }
      if (full()) yield take();
    }
    if (key !== undefined) out.push({ key: decodeKey(key), count });
    if (out.length) yield take();
    return;
  }
  if (node.kind === "reduce") {
    const global = (node.global ?? node.local) as (a: unknown, b: unknown) => unknown;
    let acc: unknown;
    let any = false;
    for await (const batch of sorted) {
      for (let i = 0; i < batch.length; i++) {
        const v = payloadValue(batch, i);
        try {
          acc = any ? global(acc, v) : v;
        } catch (err) {
          throw new StepFailure(err, node.global ? "reduce global" : "reduce local");
        }
        any = true;
      }
    }
    if (any) yield { rows: [acc] };
    return;
  }
  if (node.kind === "groupBy" && node.combiner) {
    const combine = node.combiner as (a: unknown, b: unknown) => unknown;
    const reducer = node.reducer as (k: unknown, rows: Iterable<unknown>) => unknown;
    let key: string | undefined;
    let acc: unknown;
    const finish = async () => out.push(await callReducer(reducer, decodeKey(key!), [acc]));
    for await (const batch of sorted) {
      for (let i = 0; i < batch.length; i++) {
        const v = payloadValue(batch, i);
        if (!sameKeyAsPrev(batch, i)) {
          if (key !== undefined) await finish();
          key = batch.key(i);
          acc = v;
        } else {
          try {
            acc = combine(acc, v);
          } catch (err) {
            throw new StepFailure(err, "groupBy combiner");
          }
        }
        step(batch, i);
      }
      if (full()) yield take();
    }
    if (key !== undefined) await finish();
    if (out.length) yield take();
    return;
  }

  // groupBy without combiner, join: each key's rows are materialized, within half the budget.
  const groupLimit = Math.max(1, Math.floor(budget / 2));
  let key: string | undefined;
  let group: Array<{ src: number; value: unknown }> = [];
  let groupBytes = 0;
  const emit = async () => {
    if (node.kind === "groupBy") {
      out.push(await callReducer(node.reducer as (k: unknown, rows: Iterable<unknown>) => unknown, decodeKey(key!), group.map((e) => e.value)));
    } else if (node.kind === "join") {
      const left: unknown[] = [];
      const right: unknown[] = [];
      for (const e of group) (e.src === 0 ? left : right).push(e.value);
      if (right.length === 0) {
        if (node.how === "left") for (const l of left) out.push({ left: l, right: null });
      } else {
        for (const l of left) for (const r of right) out.push({ left: l, right: r });
      }
    }
    group = [];
    groupBytes = 0;
  };
  for await (const batch of sorted) {
    for (let i = 0; i < batch.length; i++) {
      if (!sameKeyAsPrev(batch, i)) {
        if (key !== undefined) await emit();
        key = batch.key(i);
      }
      step(batch, i);
      groupBytes += batch.entryBytes(i);
      if (groupBytes > groupLimit) {
        const err = new ResourceError(
          `${node.kind}: the rows of key ${keyPreview(key!)} (partition ${p} of ${spec.totalShards}) need more than ${formatBytes(groupLimit)}, half of the task's memory budget of ${formatBytes(budget)}. ` +
            (node.kind === "groupBy"
              ? "Give groupBy a combiner ({ combiner: (a, b) => merged }) so rows of one key are merged as they arrive, or raise --memory (options.memory)."
              : "Raise --memory (options.memory), or pre-aggregate the side with many rows per key."),
        );
        Object.assign(err, { partition: p, key: keyPreview(key!) });
        throw err;
      }
      group.push({ src: batch.src(i), value: payloadValue(batch, i) });
    }
    if (full()) yield take();
  }
  if (key !== undefined) await emit();
  if (out.length) yield take();
}

/** A row from its JSON text (UTF-8 bytes). */
function payloadRow(p: Uint8Array): unknown {
  return JSON.parse(Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("utf8"));
}

/** Entry i's row or map-side value from its payload, whichever way it was written. */
function payloadValue(b: SortedBatch, i: number): unknown {
  const p = b.payload(i);
  return b.isText(i) ? payloadRow(p) : deserialize(p);
}

async function callReducer(reducer: (k: unknown, rows: Iterable<unknown>) => unknown, key: unknown, rows: unknown[]): Promise<unknown> {
  try {
    const r = reducer(key, rows);
    return isThenable(r) ? await r : r;
  } catch (e) {
    throw new StepFailure(e, "groupBy reducer");
  }
}

function formatBytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}
