/**
 * Shuffle data in shared memory on one machine: a map task's last flush as one
 * SharedArrayBuffer (blocks read in place), and the driver's limit on how much of it a run
 * holds — beyond it, the bytes are written to the scratch store with the same ranges.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SharedShuffleMemory } from "../../../src/exec/shared-shuffle.js";
import type { TaskResult, TaskSpec } from "../../../src/exec/task-spec.js";
import { canonicalKey, keyHash, partitionOf } from "../../../src/shuffle/key-encoding.js";
import { blockEntries } from "../../../src/shuffle/spill-block.js";
import { partitionBlocks, readBlock, type SpillIndex } from "../../../src/shuffle/spill-index.js";
import { SpillWriter, sharedBytes } from "../../../src/shuffle/spill-writer.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const tmp = useTempDir("sirocco-shared-shuffle-");

/** Writes `rows` entries over 3 partitions (flushing to files at `budget`), the last flush kept shared. */
async function mapTask(dir: string, shard: number, rows: number, budget: number): Promise<{ index: SpillIndex; want: string[][] }> {
  const w = new SpillWriter({ dir, name: `m${shard}-a1`, partitions: 3, budgetBytes: budget, tag: "t" });
  const want: string[][] = [[], [], []];
  for (let i = 0; i < rows; i++) {
    const key = canonicalKey(`k${i % 50}`);
    const p = partitionOf(key, 3);
    want[p]!.push(`${shard}/${i} ${"x".repeat(i % 40)}`);
    if (w.add(p, { key, hash: keyHash(key), src: 0, shard, pos: i, payload: want[p]![want[p]!.length - 1]! })) await w.flush();
  }
  return { index: (await w.finish({ shared: true })) as SpillIndex, want };
}

async function partitionPayloads(index: SpillIndex, p: number): Promise<string[]> {
  const out: string[] = [];
  for (const ref of partitionBlocks([index], p)) for (const b of await readBlock(ref)) for (const e of blockEntries(b)) out.push(Buffer.from(e.payload).toString());
  return out;
}

describe("shared-memory shuffle spills", () => {
  it("a finish({ shared }) returns the index itself, its last flush one SharedArrayBuffer whose blocks read back exactly; earlier flushes are files", async () => {
    const dir = path.join(tmp.path, "stage-000");
    const { index, want } = await mapTask(dir, 0, 600, 6000);
    const last = index.spills[index.spills.length - 1]!;
    expect("shared" in last && last.shared instanceof SharedArrayBuffer).toBe(true);
    expect(index.spills.slice(0, -1).every((s) => "file" in s && fs.existsSync(s.file))).toBe(true);
    expect(index.spills.length).toBeGreaterThan(2);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".spill"))).toHaveLength(index.spills.length - 1);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".index.json"))).toEqual([]);
    // Blocks start 8-byte aligned, so Arrow reads them without copying.
    if ("shared" in last) for (let p = 0; p < 3; p++) expect(last.ranges[4 * p]! % 8).toBe(0);
    for (let p = 0; p < 3; p++) expect(await partitionPayloads(index, p)).toEqual(want[p]);
  });

  it("the driver keeps shared spills up to its limit and writes the rest to scratch, same bytes and ranges; release frees the count", async () => {
    const scratch = tmp.path;
    const dir = path.join(scratch, "stage-000");
    const a = await mapTask(dir, 0, 300, 1e9);
    const b = await mapTask(dir, 1, 300, 1e9);
    const bytes = sharedBytes(a.index);
    expect(bytes).toBeGreaterThan(0);
    const mem = new SharedShuffleMemory(bytes + 100);
    const task = (shard: number): TaskSpec => ({ runId: "t", runIndex: 1, fingerprint: "f", stage: 0, shard, totalShards: 2, input: { kind: "list", start: 0, end: 1 }, attempt: 1, scratch });
    const result = (index: SpillIndex): TaskResult => ({ outputs: [], counters: {}, stats: { rowsIn: 300, stepRowsOut: [], malformedLines: 0, bytesWritten: 0, spillFiles: 0 }, shuffleIndex: index });
    const keptA = await mem.keep(result(a.index), task(0));
    expect(keptA.shuffleIndex).toBe(a.index);
    expect(mem.heldBytes).toBe(bytes);
    const keptB = await mem.keep(result(b.index), task(1));
    const onDisk = keptB.shuffleIndex as SpillIndex;
    expect(onDisk.spills.every((s) => "file" in s)).toBe(true);
    expect(keptB.stats.spillFiles).toBe(1);
    expect(mem.heldBytes).toBe(bytes);
    for (let p = 0; p < 3; p++) {
      expect(await partitionPayloads(onDisk, p)).toEqual(b.want[p]);
      expect(await partitionPayloads(onDisk, p)).toEqual(await partitionPayloads(b.index, p));
    }
    mem.release([keptA.shuffleIndex!, keptB.shuffleIndex!]);
    expect(mem.heldBytes).toBe(0);
  });
});
