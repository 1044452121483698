import { storeFor } from "../io/store-for.js";
import { BlockBuilder } from "./block-builder.js";
import { compressScratch, finishBlock } from "./spill-block.js";
import type { ShuffleEntry } from "./shuffle-entry.js";
import type { SpillIndex } from "./spill-index.js";

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
 * returns its URI. Files: `<dir>/<name>-<n>.spill`, `<dir>/<name>.index.json`.
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
  private readonly spills: Array<{ file: string; ranges: number[] }> = [];

  constructor(private readonly o: SpillWriterOptions) {
    this.builders = Array.from({ length: o.partitions }, () => new BlockBuilder());
  }

  /** Spill files written so far. */
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

  /** Payload of the `row`-th entry buffered for `partition` (valid until the next flush). */
  payloadAt(partition: number, row: number): Uint8Array {
    return this.builders[partition]!.payloadAt(row);
  }

  /** Buffers an entry (encoded at once); true when the buffers are over budget (the caller then awaits `flush`). */
  add(partition: number, e: ShuffleEntry): boolean {
    this.bytes += this.builders[partition]!.add(e);
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
        ranges.push(offset, block.length, b.rows, b.decodedBytes);
        offset += block.length;
        if (!w.stream.write(block)) await new Promise<void>((r) => w.stream.once("drain", r));
      }
      await w.commit();
    } catch (e) {
      await w.abort();
      throw e;
    }
    // Builders are reused; one that grew past twice its fair share of the budget is replaced,
    // so the capacity kept between flushes stays within about twice the budget.
    const fair = (2 * this.o.budgetBytes) / this.builders.length;
    for (let p = 0; p < this.builders.length; p++) {
      const b = this.builders[p]!;
      if (b.allocatedBytes > fair) this.builders[p] = new BlockBuilder();
      else b.reset();
    }
    this.bytes = 0;
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
