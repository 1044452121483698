import { storeFor } from "../io/store-for.js";
import { compressScratch, encodeBlock } from "./spill-block.js";
import { readBlock, readBlocks, type BlockRef } from "./spill-index.js";
import { compareEntries, compareKeys, entryBytes, type ShuffleEntry } from "./shuffle-entry.js";

/**
 * Most sorted runs merged at once. With one decoded block per run in memory and blocks of
 * budget / (2 × fan-in), a merge holds about half the budget whatever the number of runs;
 * more runs than this are merged in passes.
 */
export const MERGE_FAN_IN = 16;

export interface SortOptions {
  /** Memory budget of the reduce task, bytes (as counted by `entryBytes`). */
  budgetBytes: number;
  /** Scratch folder for sorted runs, and a unique prefix for their names. */
  dir: string;
  name: string;
  tag: string;
}

/** What `sortPartition` did, for stats and tests. */
export interface SortInfo {
  external: boolean;
  runs: number;
  mergePasses: number;
}

/**
 * The entries of one partition sorted by (key hash, key, src, shard, pos), in batches. `blocks` must
 * be listed in input order (src, then map shard, then spill), as `partitionBlocks` lists
 * them. When the partition fits half the budget it is sorted in memory (a stable sort by
 * key keeps input order within a key); otherwise it becomes sorted runs in the scratch
 * store, merged with at most {@link MERGE_FAN_IN} runs at a time. Both paths give the same
 * order, so spilling never changes results.
 */
export async function sortPartition(blocks: readonly BlockRef[], o: SortOptions, info?: SortInfo): Promise<AsyncIterable<ShuffleEntry[]>> {
  const total = blocks.reduce((a, b) => a + b.memoryBytes, 0);
  if (total <= o.budgetBytes / 2) {
    const all: ShuffleEntry[] = [];
    for await (const entries of readBlocks(blocks)) for (const e of entries) all.push(e);
    all.sort(compareKeys);
    return oneBatch(all);
  }
  if (info) info.external = true;
  const runBytes = Math.max(1, Math.floor(o.budgetBytes / 2));
  const blockBytes = Math.max(1, Math.floor(o.budgetBytes / (2 * MERGE_FAN_IN)));
  let runs: Run[] = [];
  let buf: ShuffleEntry[] = [];
  let bytes = 0;
  let n = 0;
  const runName = () => `${o.dir}/${o.name}-run${String(n++).padStart(5, "0")}.spill`;
  for await (const entries of readBlocks(blocks)) {
    for (const e of entries) {
      buf.push(e);
      bytes += entryBytes(e);
      if (bytes >= runBytes) {
        buf.sort(compareEntries);
        runs.push(await writeRun(oneBatchSync(buf), runName(), blockBytes, o.tag));
        buf = [];
        bytes = 0;
      }
    }
  }
  if (buf.length > 0) {
    buf.sort(compareEntries);
    runs.push(await writeRun(oneBatchSync(buf), runName(), blockBytes, o.tag));
    buf = [];
  }
  if (info) info.runs = runs.length;
  let passes = 0;
  while (runs.length > MERGE_FAN_IN) {
    const next: Run[] = [];
    for (let i = 0; i < runs.length; i += MERGE_FAN_IN) {
      const group = runs.slice(i, i + MERGE_FAN_IN);
      next.push(await writeRun(mergeRuns(group), runName(), blockBytes, o.tag));
      await Promise.all(group.map((r) => storeFor(r.file).remove(r.file)));
    }
    runs = next;
    passes++;
  }
  if (info) info.mergePasses = passes + 1;
  return mergeRuns(runs);
}

interface Run {
  file: string;
  blocks: BlockRef[];
}


async function* oneBatch(all: ShuffleEntry[]): AsyncGenerator<ShuffleEntry[]> {
  if (all.length > 0) yield all;
}

function* oneBatchSync(all: ShuffleEntry[]): Generator<ShuffleEntry[]> {
  yield all;
}

/** Writes sorted entries as one run file of blocks of about `blockBytes` each. */
async function writeRun(batches: Iterable<ShuffleEntry[]> | AsyncIterable<ShuffleEntry[]>, file: string, blockBytes: number, tag: string): Promise<Run> {
  const w = await storeFor(file).openWrite(file, tag);
  const blocks: BlockRef[] = [];
  let offset = 0;
  let cur: ShuffleEntry[] = [];
  let bytes = 0;
  const emit = async () => {
    const block = await encodeBlock(cur, compressScratch(file));
    blocks.push({ file, offset, length: block.length, rows: cur.length, memoryBytes: bytes });
    offset += block.length;
    cur = [];
    bytes = 0;
    if (!w.stream.write(block)) await new Promise<void>((r) => w.stream.once("drain", r));
  };
  try {
    for await (const batch of batches) {
      for (const e of batch) {
        cur.push(e);
        bytes += entryBytes(e);
        if (bytes >= blockBytes) await emit();
      }
    }
    if (cur.length > 0) await emit();
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
  return { file, blocks };
}

/** K-way merge of sorted runs, one decoded block per run in memory; yields batches. */
async function* mergeRuns(runs: readonly Run[]): AsyncGenerator<ShuffleEntry[]> {
  const cursors = runs.map((r) => ({ run: r, block: 0, entries: [] as ShuffleEntry[], i: 0 }));
  const live: typeof cursors = [];
  for (const c of cursors) {
    if (c.run.blocks.length > 0) {
      c.entries = await readBlock(c.run.blocks[0]!);
      live.push(c);
    }
  }
  let out: ShuffleEntry[] = [];
  while (live.length > 0) {
    let best = 0;
    for (let j = 1; j < live.length; j++) {
      const a = live[j]!;
      const b = live[best]!;
      if (compareEntries(a.entries[a.i]!, b.entries[b.i]!) < 0) best = j;
    }
    const c = live[best]!;
    out.push(c.entries[c.i++]!);
    if (c.i >= c.entries.length) {
      c.block++;
      if (c.block < c.run.blocks.length) {
        c.entries = await readBlock(c.run.blocks[c.block]!);
        c.i = 0;
      } else {
        live.splice(best, 1);
      }
    }
    if (out.length >= 1024) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}
