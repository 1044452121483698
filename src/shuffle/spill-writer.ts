import { InternalError } from "../core/errors.js";
import { storeFor } from "../io/store-for.js";
import { BlockBuilder } from "./block-builder.js";
import { compressScratch, finishBlock } from "./spill-block.js";
import type { ShuffleEntry } from "./shuffle-entry.js";
import type { SpillIndex, SpillRef } from "./spill-index.js";

/** Room for one block's Arrow IPC framing (schema and batch metadata, padding) beyond its column bytes. */
const IPC_FRAMING_BYTES = 4096;

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
 * `finish({ shared: true })` (tasks whose reducers run on this machine) the last flush goes
 * into one `SharedArrayBuffer` instead of a file, and the index is returned, not written.
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
    this.builders = Array.from({ length: o.partitions }, () => new BlockBuilder());
  }

  /** Spill files written so far. */
  get spillFiles(): number {
    return this.spills.filter((s) => "file" in s).length;
  }

  /** Spills so far: files and (after a shared finish) the shared-memory one. */
  get spillCount(): number {
    return this.spills.length;
  }

  /** Bytes the buffered entries take (encoded, in their partitions' columns). */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Entries buffered for `partition` since the last flush. */
  rowsIn(partition: number): number {
    return this.builders[partition]!.rows;
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
      const blocks = z ? await Promise.all(this.builders.map((b) => (b.rows === 0 ? undefined : finishBlock(b.toIpc(), true)))) : [];
      for (let p = 0; p < this.builders.length; p++) {
        const b = this.builders[p]!;
        const block = z ? blocks[p] : b.rows === 0 ? undefined : await finishBlock(b.toIpc(), false);
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

  /**
   * The buffered entries as one `SharedArrayBuffer` spill (blocks 8-byte aligned, so Arrow
   * reads them in place); nothing when empty.
   */
  private flushShared(): void {
    if (this.bytes === 0) return;
    let bound = 0;
    for (const b of this.builders) if (b.rows > 0) bound += align8(b.usedBytes + IPC_FRAMING_BYTES);
    const shared = new SharedArrayBuffer(bound);
    const view = new Uint8Array(shared);
    const ranges: number[] = [];
    let offset = 0;
    for (const b of this.builders) {
      if (b.rows === 0) {
        ranges.push(offset, 0, 0, 0);
        continue;
      }
      const ipc = b.toIpc();
      if (offset + ipc.length > bound) throw new InternalError(`a shuffle block of ${ipc.length} bytes overflows its shared buffer (${bound - offset} bytes left)`);
      view.set(ipc, offset);
      ranges.push(offset, ipc.length, b.rows, b.memoryBytes);
      offset = align8(offset + ipc.length);
    }
    this.bytes = 0;
    this.spills.push({ shared, ranges });
  }

  /**
   * Flushes what is left and returns the index: written next to the spill files (its URI is
   * returned), or with `shared` returned as is, its last flush in shared memory.
   */
  async finish(o: { shared?: boolean } = {}): Promise<string | SpillIndex> {
    if (o.shared) {
      this.flushShared();
      return { version: 1, partitions: this.o.partitions, rows: this.rows, spills: this.spills };
    }
    await this.flush();
    const index: SpillIndex = { version: 1, partitions: this.o.partitions, rows: this.rows, spills: this.spills };
    const uri = `${this.o.dir}/${this.o.name}.index.json`;
    const w = await storeFor(uri).openWrite(uri, this.o.tag);
    w.stream.end(JSON.stringify(index));
    await w.commit();
    return uri;
  }
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Bytes of shared memory an index's spills hold. */
export function sharedBytes(index: SpillIndex): number {
  let n = 0;
  for (const s of index.spills) if ("shared" in s) n += s.shared.byteLength;
  return n;
}

/**
 * The same index with each shared-memory spill written to a spill file `<dir>/<name>-shared<n>.spill`
 * (the bytes as they are, so its ranges stay valid): what the driver does with a map task's
 * last flush when the run already holds as much shuffle data in memory as it may.
 */
export async function writeSharedSpills(index: SpillIndex, dir: string, name: string, tag: string): Promise<SpillIndex> {
  const spills: SpillRef[] = [];
  for (const s of index.spills) {
    if (!("shared" in s)) {
      spills.push(s);
      continue;
    }
    const file = `${dir}/${name}-shared${String(spills.length).padStart(4, "0")}.spill`;
    const w = await storeFor(file).openWrite(file, tag);
    try {
      // Only up to the last block's end (the buffer has slack after it).
      let end = 0;
      for (let p = 0; p < s.ranges.length; p += 4) if (s.ranges[p + 1]! > 0) end = Math.max(end, s.ranges[p]! + s.ranges[p + 1]!);
      w.stream.end(Buffer.from(s.shared, 0, end));
      await w.commit();
    } catch (e) {
      await w.abort();
      throw e;
    }
    spills.push({ file, ranges: s.ranges });
  }
  return { ...index, spills };
}
