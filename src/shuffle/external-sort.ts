import { storeFor } from "../io/store-for.js";
import type { Block } from "./block.js";
import { BlockBuilder } from "./block-builder.js";
import { compressScratch, finishBlock } from "./spill-block.js";
import { readBlock, readBlocks, type BlockFiles, type BlockRef } from "./spill-index.js";
import { SortedBatch, sortBlocks } from "./sorted-entries.js";

/**
 * Most sorted runs merged at once. With two blocks per run in memory (the current one and
 * the next, read ahead) and blocks of budget / (4 × fan-in), a merge holds about half the
 * budget whatever the number of runs; more runs than this are merged in passes.
 */
export const MERGE_FAN_IN = 16;

/** Entries per batch the merge yields. */
const MERGE_BATCH = 1024;

export interface SortOptions {
  /** Memory budget of the reduce task, bytes (blocks counted by their index `memoryBytes`). */
  budgetBytes: number;
  /** Scratch folder for sorted runs, and a unique prefix for their names. */
  dir: string;
  name: string;
  tag: string;
  /** Where blocks of local files are read through (open files); the caller closes it. */
  files?: BlockFiles;
}

/** What `sortPartition` did, for stats and tests. */
export interface SortInfo {
  external: boolean;
  runs: number;
  mergePasses: number;
}

/**
 * The entries of one partition in reducer order — key hash, key bytes, then input order
 * (src, shard, pos) — as batches of references into blocks. `blocks` must be listed in input
 * order (src, then map shard, then spill), as `partitionBlocks` lists them. When the
 * partition fits half the budget it is sorted in memory ({@link sortBlocks}, one batch);
 * otherwise each half-budget's worth of blocks becomes a sorted run in the scratch store,
 * and the runs are merged with at most {@link MERGE_FAN_IN} at a time. Both paths give the
 * same order, so spilling never changes results.
 */
export async function sortPartition(blocks: readonly BlockRef[], o: SortOptions, info?: SortInfo): Promise<AsyncIterable<SortedBatch>> {
  const total = blocks.reduce((a, b) => a + b.memoryBytes, 0);
  const files = o.files;
  if (total <= o.budgetBytes / 2) {
    const all: Block[] = [];
    for await (const bs of readBlocks(blocks, files)) all.push(...bs);
    return oneBatch(sortBlocks(all));
  }
  if (info) info.external = true;
  const runBytes = Math.max(1, Math.floor(o.budgetBytes / 2));
  const blockBytes = Math.max(1, Math.floor(o.budgetBytes / (4 * MERGE_FAN_IN)));
  let runs: Run[] = [];
  let held: Block[] = [];
  let bytes = 0;
  let n = 0;
  const runName = () => `${o.dir}/${o.name}-run${String(n++).padStart(5, "0")}.spill`;
  // Blocks are read whole, one ahead; a run is cut before a block that would take it over half the budget.
  let i = 0;
  for await (const bs of readBlocks(blocks, files)) {
    const bytesOf = blocks[i++]!.memoryBytes;
    if (held.length > 0 && bytes + bytesOf > runBytes) {
      runs.push(await writeRun(oneBatchSync(sortBlocks(held)), runName(), blockBytes, o.tag));
      held = [];
      bytes = 0;
    }
    held.push(...bs);
    bytes += bytesOf;
  }
  if (held.length > 0) {
    runs.push(await writeRun(oneBatchSync(sortBlocks(held)), runName(), blockBytes, o.tag));
    held = [];
  }
  if (info) info.runs = runs.length;
  let passes = 0;
  while (runs.length > MERGE_FAN_IN) {
    const next: Run[] = [];
    for (let i = 0; i < runs.length; i += MERGE_FAN_IN) {
      const group = runs.slice(i, i + MERGE_FAN_IN);
      next.push(await writeRun(mergeRuns(group, files), runName(), blockBytes, o.tag));
      await Promise.all(group.map(async (r) => {
        await files?.forget(r.file);
        await storeFor(r.file).remove(r.file);
      }));
    }
    runs = next;
    passes++;
  }
  if (info) info.mergePasses = passes + 1;
  return mergeRuns(runs, files);
}

interface Run {
  file: string;
  blocks: BlockRef[];
}

async function* oneBatch(b: SortedBatch): AsyncGenerator<SortedBatch> {
  if (b.length > 0) yield b;
}

function* oneBatchSync(b: SortedBatch): Generator<SortedBatch> {
  yield b;
}

/** Writes sorted entries as one run file of blocks of about `blockBytes` each (copies of their rows). */
async function writeRun(batches: Iterable<SortedBatch> | AsyncIterable<SortedBatch>, file: string, blockBytes: number, tag: string): Promise<Run> {
  const w = await storeFor(file).openWrite(file, tag);
  const refs: BlockRef[] = [];
  let offset = 0;
  const cur = new BlockBuilder();
  const emit = async () => {
    const block = await finishBlock(await cur.toIpc(), compressScratch(file));
    refs.push({ file, offset, length: block.length, rows: cur.rows, memoryBytes: cur.memoryBytes });
    offset += block.length;
    cur.reset();
    if (!w.stream.write(block)) await new Promise<void>((r) => w.stream.once("drain", r));
  };
  try {
    for await (const batch of batches) {
      for (let i = 0; i < batch.length; i++) {
        cur.addFrom(batch.blockOf(i), batch.row[i]!);
        if (cur.memoryBytes >= blockBytes) await emit();
      }
    }
    if (cur.rows > 0) await emit();
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
  return { file, blocks: refs };
}

/** A run being merged: its current block and row, and its next block already being read. */
interface Cursor {
  run: Run;
  /** Index of the block in the run. */
  at: number;
  block: Block;
  row: number;
  /** Index of `block` in the batch being built (-1: not in it yet). */
  slot: number;
  next: Promise<Block | undefined>;
}

/** Reducer order of the cursors' current rows. */
function before(a: Cursor, b: Cursor): boolean {
  const ab = a.block;
  const bb = b.block;
  const i = a.row;
  const j = b.row;
  const ha = ab.hash[i]!;
  const hb = bb.hash[j]!;
  if (ha !== hb) return ha < hb;
  const k = ab.compareKey(i, bb, j);
  if (k !== 0) return k < 0;
  return (ab.src[i]! - bb.src[j]! || ab.shard[i]! - bb.shard[j]! || ab.pos[i]! - bb.pos[j]!) < 0;
}

/** Block `at` of a run (runs hold no empty blocks, one batch per block), or undefined past its end. */
async function runBlock(run: Run, at: number, files: BlockFiles | undefined): Promise<Block | undefined> {
  return at < run.blocks.length ? (await readBlock(run.blocks[at]!, files))[0] : undefined;
}

/** Starts reading block `at` of a run (so a merge does not wait on each run's next block); a failure surfaces when awaited. */
function prefetch(run: Run, at: number, files: BlockFiles | undefined): Promise<Block | undefined> {
  const p = runBlock(run, at, files);
  p.catch(() => {});
  return p;
}

/** K-way merge of sorted runs, one block per run in memory (and its next one being read); yields batches referring to those blocks. */
async function* mergeRuns(runs: readonly Run[], files?: BlockFiles): AsyncGenerator<SortedBatch> {
  const live: Cursor[] = [];
  for (const run of runs) {
    const block = await runBlock(run, 0, files);
    if (block) live.push({ run, at: 0, block, row: 0, slot: -1, next: prefetch(run, 1, files) });
  }
  let blocks: Block[] = [];
  let bi = new Int32Array(MERGE_BATCH);
  let ri = new Int32Array(MERGE_BATCH);
  let n = 0;
  const take = (): SortedBatch => {
    const b = new SortedBatch(blocks, bi, ri, n);
    for (const c of live) c.slot = -1;
    blocks = [];
    bi = new Int32Array(MERGE_BATCH);
    ri = new Int32Array(MERGE_BATCH);
    n = 0;
    return b;
  };
  while (live.length > 0) {
    let best = 0;
    for (let j = 1; j < live.length; j++) if (before(live[j]!, live[best]!)) best = j;
    const c = live[best]!;
    if (c.slot < 0) {
      c.slot = blocks.length;
      blocks.push(c.block);
    }
    bi[n] = c.slot;
    ri[n] = c.row;
    n++;
    if (++c.row >= c.block.rows) {
      c.at++;
      const next = await c.next;
      if (next) {
        c.block = next;
        c.row = 0;
        c.slot = -1;
        c.next = prefetch(c.run, c.at + 1, files);
      } else live.splice(best, 1);
    }
    if (n === MERGE_BATCH) yield take();
  }
  if (n > 0) yield take();
}
