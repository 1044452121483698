import { deserialize } from "node:v8";
import pLimit from "p-limit";
import { InternalError, ResourceError } from "../../core/errors.js";
import type { ShuffleSource } from "../../plan/stage.js";
import { sortPartition, type SortInfo } from "../../shuffle/external-sort.js";
import { canonicalKey, decodeKey, keyPreview } from "../../shuffle/key-encoding.js";
import { entryBytes, isTextPayload, type ShuffleEntry } from "../../shuffle/shuffle-entry.js";
import { partitionBlocks, readIndex } from "../../shuffle/spill-index.js";
import type { TaskSpec, TaskStats } from "../task-spec.js";
import { CHUNK_ROWS, isThenable, StepFailure, type Chunk } from "./chunk.js";
import { stageScratch } from "./shuffle-write.js";

/**
 * The reduce side of a shuffle, as the source of a stage: reads partition p's byte ranges
 * from every map task's spill files (through their indexes), sorts them by (key, input
 * order) in memory or with an external merge, and applies the wide step:
 * - dedupe: the first row of each key; countBy: `{ key, count }`;
 * - groupBy: `reducer(key, rows)` (rows folded with the combiner first, if any);
 * - join: `{ left, right }` pairs (left join: `right: null` when a key has no right rows);
 * - reduce: `global` over the shards' partial results, in shard order (partition 0 only);
 * - reshard: the rows in input order.
 * Output rows come in key order; every path (in memory or spilled) gives the same rows.
 * Rows that moved as JSON text keep it (`Chunk.texts`); with `textsOnly` (the stage only
 * writes JSON Lines) dedupe and reshard rows are not parsed at all.
 */
export async function* shuffleReadChunks(source: ShuffleSource, spec: TaskSpec, stats?: TaskStats, o: { textsOnly?: boolean } = {}): AsyncGenerator<Chunk> {
  const input = spec.input;
  if (input.kind !== "shuffle") throw new InternalError(`a shuffle-reading stage got a ${input.kind} input`);
  const budget = spec.memoryBytes ?? 1e9;
  const limit = pLimit(16);
  const indexes = await Promise.all(input.maps.map((m) => limit(() => readIndex(m.index))));
  const p = input.partition;
  const blocks = partitionBlocks(indexes, p);
  const info: SortInfo = { external: false, runs: 0, mergePasses: 0 };
  const sorted = await sortPartition(blocks, { budgetBytes: budget, dir: stageScratch(spec), name: `r${String(p).padStart(5, "0")}-a${spec.attempt}`, tag: spec.runId }, info);
  if (stats) stats.sortedRuns = info.runs;
  const node = source.node;
  let out: unknown[] = [];
  const full = () => out.length >= CHUNK_ROWS;
  const take = (): Chunk => {
    const c = { rows: out };
    out = [];
    return c;
  };

  if (node.kind === "reshard" || node.kind === "dedupe") {
    // Rows pass through as they are: with their JSON text when they moved as one.
    let texts: Array<Uint8Array | undefined> = [];
    const textsOnly = o.textsOnly === true;
    const emit = (e: ShuffleEntry) => {
      const p = e.payload as Uint8Array;
      if (isTextPayload(p)) {
        out.push(textsOnly ? null : payloadRow(p));
        texts.push(p);
      } else {
        out.push(deserialize(p));
        texts.push(undefined);
      }
    };
    const takeWithTexts = (): Chunk => {
      const c: Chunk = { rows: out, texts, ...(textsOnly ? { textsOnly } : {}) };
      out = [];
      texts = [];
      return c;
    };
    if (node.kind === "reshard") {
      for await (const batch of sorted) {
        for (const e of batch) emit(e);
        if (full()) yield takeWithTexts();
      }
    } else {
      // Dedupe entries carry no key and are sorted by (key hash, input order): the first
      // entry of each hash is kept; later ones with that hash (every duplicate that met its
      // first copy across shards or flushes, and the rare distinct keys sharing a 52-bit hash)
      // are compared by their real keys, recomputed here by the key function from the rows.
      const keyFn = (node.key as ((r: unknown) => unknown) | undefined) ?? ((r: unknown) => r);
      const keyOfEntry = (e: ShuffleEntry): string => {
        try {
          return canonicalKey(keyFn(payloadValue(e.payload)));
        } catch (err) {
          throw new StepFailure(err, "dedupe key");
        }
      };
      let first: ShuffleEntry | undefined;
      let keys: string[] | undefined;
      for await (const batch of sorted) {
        for (const e of batch) {
          if (first === undefined || e.hash !== first.hash) {
            first = e;
            keys = undefined;
            emit(e);
            continue;
          }
          keys ??= [keyOfEntry(first)];
          const k = keyOfEntry(e);
          if (keys.includes(k)) continue;
          keys.push(k);
          emit(e);
        }
        if (full()) yield takeWithTexts();
      }
    }
    if (out.length) yield takeWithTexts();
    return;
  }
  if (node.kind === "countBy") {
    let key: string | undefined;
    let count = 0;
    for await (const batch of sorted) {
      for (const e of batch) {
        if (e.key !== key) {
          if (key !== undefined) out.push({ key: decodeKey(key), count });
          key = e.key;
          count = 0;
        }
        count += payloadValue(e.payload) as number;
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
      for (const e of batch) {
        const v = payloadValue(e.payload);
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
      for (const e of batch) {
        const v = payloadValue(e.payload);
        if (e.key !== key) {
          if (key !== undefined) await finish();
          key = e.key;
          acc = v;
        } else {
          try {
            acc = combine(acc, v);
          } catch (err) {
            throw new StepFailure(err, "groupBy combiner");
          }
        }
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
  let group: ShuffleEntry[] = [];
  let groupBytes = 0;
  const emit = async () => {
    if (node.kind === "groupBy") {
      const rows = group.map((e) => payloadValue(e.payload));
      out.push(await callReducer(node.reducer as (k: unknown, rows: Iterable<unknown>) => unknown, decodeKey(key!), rows));
    } else if (node.kind === "join") {
      const left: unknown[] = [];
      const right: unknown[] = [];
      for (const e of group) (e.src === 0 ? left : right).push(payloadValue(e.payload));
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
    for (const e of batch) {
      if (e.key !== key) {
        if (key !== undefined) await emit();
        key = e.key;
      }
      group.push(e);
      groupBytes += entryBytes(e);
      if (groupBytes > groupLimit) {
        const err = new ResourceError(
          `${node.kind}: the rows of key ${keyPreview(e.key)} (partition ${p} of ${spec.totalShards}) need more than ${formatBytes(groupLimit)}, half of the task's memory budget of ${formatBytes(budget)}. ` +
            (node.kind === "groupBy"
              ? "Give groupBy a combiner ({ combiner: (a, b) => merged }) so rows of one key are merged as they arrive, or raise --memory (options.memory)."
              : "Raise --memory (options.memory), or pre-aggregate the side with many rows per key."),
        );
        Object.assign(err, { partition: p, key: keyPreview(e.key) });
        throw err;
      }
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

/** A row or map-side value from its payload, whichever way it was written. */
function payloadValue(payload: Uint8Array | string): unknown {
  const p = payload as Uint8Array;
  return isTextPayload(p) ? payloadRow(p) : deserialize(p);
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
