import { storeFor } from "../io/store-for.js";
import { columnBuffers, type BlockColumns } from "./block.js";
import { BlockBuilder } from "./block-builder.js";
import { claimKb, tryClaim, type SharedBudget } from "./shared-budget.js";
import { compressScratch, finishBlock } from "./spill-block.js";
import type { ShuffleEntry } from "./shuffle-entry.js";
import type { SpillIndex, SpillRef } from "./spill-index.js";


export interface SpillWriterOptions {
  /** Scratch folder of this stage (local path or gs:// prefix). */
  dir: string;
  /** Unique per map task attempt, e.g. `m00003-a1`: retried attempts never share files. */
  name: string;
  partitions: number;
  /** Buffered bytes (encoded, see `BlockBuilder.usedBytes`) above which `add` asks for a flush. */
  budgetBytes: number;
  /** Temporary-name tag for atomic writes (the run id). */
  tag: string;
}

/**
 * The map side of a shuffle: encodes entries into a {@link BlockBuilder} per target
 * partition as they arrive and, when the buffers exceed the budget (and at the end), writes
 * them as ONE spill file — the partitions' blocks
 * one after another — and records their byte ranges. `finish()` writes the index and
 * returns its URI. Files: `<dir>/<name>-<n>.spill`, `<dir>/<name>.index.json`. With
 * `finish({ shared })` (tasks whose reducers run in this process) the index is returned, not
 * written, and the last flush stays in shared memory as block columns when the budget has room.
 *
 * @example
 * const w = new SpillWriter({ dir, name: "m00000-a1", partitions: 4, budgetBytes: 64e6, tag: runId });
 * if (w.add(p, entry)) await w.flush();
 * const indexUri = await w.finish();
 */
export class SpillWriter {
  private readonly builders: BlockBuilder[];
  private bytes = 0;
  private rows = 0;
  private readonly spills: SpillRef[] = [];

  constructor(private readonly o: SpillWriterOptions) {
    this.builders = Array.from({ length: o.partitions }, () => idleBuilders.pop() ?? new BlockBuilder());
  }

  /** After the last flush: the (emptied) builders go back to this thread's idle pool for the next map task. */
  private retire(): void {
    for (const b of this.builders) {
      b.reset();
      if (idleBuilders.length < this.builders.length) idleBuilders.push(b);
    }
  }

  /** Spill files written so far. */
  get spillFiles(): number {
    return this.spills.filter((s) => "file" in s).length;
  }

  /** Spills so far: files and (after a shared finish) the shared-memory one. */
  get spillCount(): number {
    return this.spills.length;
  }

  /** The builder of `partition`'s entries since the last flush (to stage keys in, see {@link BlockBuilder.stageKey}). */
  builder(partition: number): BlockBuilder {
    return this.builders[partition]!;
  }

  /** Buffers an entry (encoded at once); true when the buffers are over budget (the caller then awaits `flush`). */
  add(partition: number, e: ShuffleEntry): boolean {
    return this.added(this.builders[partition]!.add(e));
  }

  /**
   * Buffers a row whose key was staged in `builder(partition)` (or that has none); true when
   * over budget, as {@link add}. `extraBytes`: memory the caller holds for this row, counted too.
   */
  addStaged(partition: number, hash: number, src: number, shard: number, pos: number, payload: Uint8Array | string, extraBytes = 0): boolean {
    return this.added(this.builders[partition]!.addStaged(hash, src, shard, pos, payload) + extraBytes);
  }

  private added(bytes: number): boolean {
    this.bytes += bytes;
    this.rows++;
    return this.bytes >= this.o.budgetBytes;
  }

  /** Writes the buffered entries as one spill file (nothing when empty). */
  async flush(): Promise<void> {
    if (this.bytes === 0) return;
    const file = `${this.o.dir}/${this.o.name}-${String(this.spills.length).padStart(4, "0")}.spill`;
    const w = await storeFor(file).openWrite(file, this.o.tag);
    const ranges: number[] = [];
    let offset = 0;
    try {
      // Compressed blocks (remote scratch) compress concurrently on libuv's pool; uncompressed
      // ones are encoded one at a time, so a flush holds one block's extra copy. Written in
      // partition order.
      const z = compressScratch(this.o.dir);
      const blocks = z ? await Promise.all(this.builders.map(async (b) => (b.rows === 0 ? undefined : finishBlock(await b.toIpc(), true)))) : [];
      for (let p = 0; p < this.builders.length; p++) {
        const b = this.builders[p]!;
        const block = z ? blocks[p] : b.rows === 0 ? undefined : await finishBlock(await b.toIpc(), false);
        blocks[p] = undefined;
        if (!block) {
          ranges.push(offset, 0, 0, 0);
          continue;
        }
        ranges.push(offset, block.length, b.rows, b.memoryBytes);
        offset += block.length;
        if (!w.stream.write(block)) await new Promise<void>((r) => w.stream.once("drain", r));
      }
      await w.commit();
    } catch (e) {
      await w.abort();
      throw e;
    }
    this.reuseBuilders();
    this.spills.push({ file, ranges });
  }

  /** Builders are reused; one that grew past twice its fair share of the budget is replaced, so the capacity kept between flushes stays within about twice the budget. */
  private reuseBuilders(): void {
    const fair = (2 * this.o.budgetBytes) / this.builders.length;
    for (let p = 0; p < this.builders.length; p++) {
      const b = this.builders[p]!;
      if (b.allocatedBytes > fair) this.builders[p] = new BlockBuilder();
      else b.reset();
    }
    this.bytes = 0;
  }

  /** Bytes one `SharedArrayBuffer` needs to hold the buffered blocks' columns (each column 8-byte aligned). */
  private sharedSize(): number {
    let n = 0;
    for (const b of this.builders) if (b.rows > 0) for (const a of columnArrays(b.toColumns())) n += align8(a.byteLength);
    return n;
  }

  /**
   * The buffered entries as a shared-memory spill: every partition's block columns copied
   * once into one `SharedArrayBuffer` of `size` bytes (exactly what they use), handed over as
   * typed-array views of it — no encoding. Nothing when empty.
   */
  private flushShared(size: number): void {
    if (this.bytes === 0) return;
    const shared = new SharedArrayBuffer(size);
    let at = 0;
    const place = <T extends Uint8Array | Int32Array | Float64Array>(a: T): T => {
      const View = (a instanceof Float64Array ? Float64Array : a instanceof Int32Array ? Int32Array : Uint8Array) as unknown as new (b: SharedArrayBuffer, o: number, n: number) => T;
      const view = new View(shared, at, a.length);
      // A native copy (TypedArray.set into shared memory can take a slower element-wise path).
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(Buffer.from(shared, at, a.byteLength));
      at += align8(a.byteLength);
      return view;
    };
    const blocks = this.builders.map((b) => {
      if (b.rows === 0) return null;
      const c = b.toColumns();
      const columns = { rows: c.rows, hash: place(c.hash), src: place(c.src), shard: place(c.shard), pos: place(c.pos), keys: place(c.keys), keyOffsets: place(c.keyOffsets), payloads: place(c.payloads), payloadOffsets: place(c.payloadOffsets) };
      return { columns, memoryBytes: b.memoryBytes };
    });
    this.reuseBuilders();
    this.spills.push({ blocks });
  }

  /**
   * Flushes what is left and returns the index. With `shared` (the reducers run in this
   * process): the index itself is returned (no index file), and the last flush stays in
   * shared memory when the budget has room for it (claimed here; the driver gives it back
   * when the reducers are done), else it goes to a spill file like the others. Without: the
   * index is written next to the spill files and its URI returned.
   */
  async finish(o: { shared?: SharedBudget } = {}): Promise<string | SpillIndex> {
    if (o.shared) {
      let sharedKb = 0;
      if (this.bytes > 0) {
        const size = this.sharedSize();
        if (tryClaim(o.shared, claimKb(size))) {
          sharedKb = claimKb(size);
          this.flushShared(size);
        } else await this.flush();
      }
      this.retire();
      return { version: 1, partitions: this.o.partitions, rows: this.rows, spills: this.spills, ...(sharedKb > 0 ? { sharedKb } : {}) };
    }
    await this.flush();
    this.retire();
    const index: SpillIndex = { version: 1, partitions: this.o.partitions, rows: this.rows, spills: this.spills };
    const uri = `${this.o.dir}/${this.o.name}.index.json`;
    const w = await storeFor(uri).openWrite(uri, this.o.tag);
    w.stream.end(JSON.stringify(index));
    await w.commit();
    return uri;
  }
}

/**
 * Builders of finished map tasks, kept (emptied) for the next map task on this thread: their
 * columns have grown to this job's block sizes already, so the next task neither copies while
 * growing nor touches fresh memory. At most one task's worth; {@link releaseIdleBuilders}
 * drops them (a thread that runs other stages' tasks does).
 */
const idleBuilders: BlockBuilder[] = [];

/** Drops this thread's idle builders (their memory goes back once collected). */
export function releaseIdleBuilders(): void {
  idleBuilders.length = 0;
}

/** Bytes of memory an index's shared-memory spills hold (their buffers, each counted once). */
export function sharedBytes(index: SpillIndex): number {
  const buffers = new Set<ArrayBufferLike>();
  for (const s of index.spills) if ("blocks" in s) for (const b of s.blocks) if (b) columnBuffers(b.columns, buffers);
  let n = 0;
  for (const b of buffers) n += b.byteLength;
  return n;
}

function columnArrays(c: BlockColumns): Array<Uint8Array | Int32Array | Float64Array> {
  return [c.hash, c.src, c.shard, c.pos, c.keys, c.keyOffsets, c.payloads, c.payloadOffsets];
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
