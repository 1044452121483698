import { storeFor } from "../io/store-for.js";
import { compressScratch, encodeBlock } from "./spill-block.js";
import { entryBytes, type ShuffleEntry } from "./shuffle-entry.js";
import type { SpillIndex } from "./spill-index.js";

export interface SpillWriterOptions {
  /** Scratch folder of this stage (local path or gs:// prefix). */
  dir: string;
  /** Unique per map task attempt, e.g. `m00003-a1`: retried attempts never share files. */
  name: string;
  partitions: number;
  /** Buffered bytes (as counted by `entryBytes`) above which `add` asks for a flush. */
  budgetBytes: number;
  /** Temporary-name tag for atomic writes (the run id). */
  tag: string;
}

/**
 * The map side of a shuffle: buffers entries per target partition and, when the buffers
 * exceed the budget (and at the end), writes them as ONE spill file — the partitions' blocks
 * one after another — and records their byte ranges. `finish()` writes the index and
 * returns its URI. Files: `<dir>/<name>-<n>.spill`, `<dir>/<name>.index.json`.
 *
 * @example
 * const w = new SpillWriter({ dir, name: "m00000-a1", partitions: 4, budgetBytes: 64e6, tag: runId });
 * if (w.add(p, entry)) await w.flush();
 * const indexUri = await w.finish();
 */
export class SpillWriter {
  private buffers: ShuffleEntry[][];
  private bytes = 0;
  private rows = 0;
  private readonly spills: Array<{ file: string; ranges: number[] }> = [];

  constructor(private readonly o: SpillWriterOptions) {
    this.buffers = Array.from({ length: o.partitions }, () => []);
  }

  /** Spill files written so far. */
  get spillCount(): number {
    return this.spills.length;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Buffers an entry; true when the buffers are over budget (the caller then awaits `flush`). */
  add(partition: number, e: ShuffleEntry): boolean {
    this.buffers[partition]!.push(e);
    this.bytes += entryBytes(e);
    this.rows++;
    return this.bytes >= this.o.budgetBytes;
  }

  /** Writes the buffered entries as one spill file (nothing when empty). */
  async flush(): Promise<void> {
    if (this.bytes === 0) return;
    const buffers = this.buffers;
    this.buffers = Array.from({ length: this.o.partitions }, () => []);
    this.bytes = 0;
    const file = `${this.o.dir}/${this.o.name}-${String(this.spills.length).padStart(4, "0")}.spill`;
    const w = await storeFor(file).openWrite(file, this.o.tag);
    const ranges: number[] = [];
    let offset = 0;
    try {
      // Compressed blocks (remote scratch) compress concurrently on libuv's pool; uncompressed
      // ones are encoded one at a time, each partition's entries released once written, so a
      // flush holds one block's extra copy, not a copy of every buffer. Written in partition order.
      const z = compressScratch(this.o.dir);
      const blocks = z ? await Promise.all(buffers.map((entries) => (entries.length === 0 ? undefined : encodeBlock(entries, true)))) : [];
      for (let p = 0; p < buffers.length; p++) {
        const entries = buffers[p]!;
        const block = z ? blocks[p] : entries.length === 0 ? undefined : await encodeBlock(entries, false);
        buffers[p] = [];
        blocks[p] = undefined;
        if (!block) {
          ranges.push(offset, 0, 0, 0);
          continue;
        }
        let mem = 0;
        for (const e of entries) mem += entryBytes(e);
        ranges.push(offset, block.length, entries.length, mem);
        offset += block.length;
        if (!w.stream.write(block)) await new Promise<void>((r) => w.stream.once("drain", r));
      }
      await w.commit();
    } catch (e) {
      await w.abort();
      throw e;
    }
    this.spills.push({ file, ranges });
  }

  /** Flushes what is left and writes the index; returns the index URI. */
  async finish(): Promise<string> {
    await this.flush();
    const index: SpillIndex = { version: 1, partitions: this.o.partitions, rows: this.rows, spills: this.spills };
    const uri = `${this.o.dir}/${this.o.name}.index.json`;
    const w = await storeFor(uri).openWrite(uri, this.o.tag);
    w.stream.end(JSON.stringify(index));
    await w.commit();
    return uri;
  }
}
