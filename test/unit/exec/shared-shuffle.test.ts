/**
 * Shuffle data in shared memory on one machine: a map task's last flush handed over as block
 * columns over SharedArrayBuffers (read in place, no copy) while the run's shared budget has
 * room — claimed atomically by the task, given back by the driver — and written to the
 * scratch store like any flush when it has not.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SharedShuffleMemory } from "../../../src/exec/shared-shuffle.js";
import { canonicalKey, keyHash, partitionOf } from "../../../src/shuffle/key-encoding.js";
import type { SharedBudget } from "../../../src/shuffle/shared-budget.js";
import { blockEntries } from "../../../src/shuffle/spill-block.js";
import { partitionBlocks, readBlock, type SpillIndex } from "../../../src/shuffle/spill-index.js";
import { SpillWriter, sharedBytes } from "../../../src/shuffle/spill-writer.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const tmp = useTempDir("sirocco-shared-shuffle-");

/** Writes `rows` entries over 3 partitions (flushing to files at `budget`), then finishes with the shared budget. */
async function mapTask(dir: string, shard: number, rows: number, budget: number, shared: SharedBudget): Promise<{ index: SpillIndex; want: string[][] }> {
  const w = new SpillWriter({ dir, name: `m${shard}-a1`, partitions: 3, budgetBytes: budget, tag: "t" });
  const want: string[][] = [[], [], []];
  for (let i = 0; i < rows; i++) {
    const key = canonicalKey(`k${i % 50}`);
    const p = partitionOf(key, 3);
    want[p]!.push(`${shard}/${i} ${"x".repeat(i % 40)}`);
    if (w.add(p, { key, hash: keyHash(key), src: 0, shard, pos: i, payload: want[p]![want[p]!.length - 1]! })) await w.flush();
  }
  return { index: (await w.finish({ shared })) as SpillIndex, want };
}

async function partitionPayloads(index: SpillIndex, p: number): Promise<string[]> {
  const out: string[] = [];
  for (const ref of partitionBlocks([index], p)) for (const b of await readBlock(ref)) for (const e of blockEntries(b)) out.push(Buffer.from(e.payload).toString());
  return out;
}

const isShared = (s: SpillIndex["spills"][number]) => "blocks" in s;

describe("shared-memory shuffle spills", () => {
  it("a task's last flush stays in shared memory (columns over SharedArrayBuffers) and reads back exactly; earlier flushes are files; no index file", async () => {
    const dir = path.join(tmp.path, "stage-000");
    const mem = new SharedShuffleMemory(1e9);
    const { index, want } = await mapTask(dir, 0, 600, 6000, mem.budget);
    const last = index.spills[index.spills.length - 1]!;
    expect(isShared(last)).toBe(true);
    if (!("blocks" in last)) return;
    const cols = last.blocks.filter((b) => b !== null).map((b) => b!.columns);
    expect(cols).toHaveLength(3);
    for (const c of cols) for (const a of [c.hash, c.src, c.shard, c.pos, c.keys, c.keyOffsets, c.payloads, c.payloadOffsets]) expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(index.spills.length).toBeGreaterThan(2);
    expect(index.spills.slice(0, -1).every((s) => "file" in s && fs.existsSync(s.file))).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".spill"))).toHaveLength(index.spills.length - 1);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".index.json"))).toEqual([]);
    for (let p = 0; p < 3; p++) expect(await partitionPayloads(index, p)).toEqual(want[p]);
    // The claim covers the buffers handed over, and goes back when the readers are done.
    expect(index.sharedKb! * 1024).toBeGreaterThanOrEqual(sharedBytes(index));
    expect(mem.heldBytes).toBe(index.sharedKb! * 1024);
    mem.release([index]);
    expect(mem.heldBytes).toBe(0);
  });

  it("when the budget is full, the last flush goes to a spill file: same entries, nothing claimed", async () => {
    const dir = path.join(tmp.path, "stage-000");
    const probe = await mapTask(dir, 0, 300, 1e9, new SharedShuffleMemory(1e9).budget);
    const room = probe.index.sharedKb! * 1024;
    const mem = new SharedShuffleMemory(room + 1024);
    const a = await mapTask(dir, 1, 300, 1e9, mem.budget);
    const b = await mapTask(dir, 2, 300, 1e9, mem.budget);
    expect(a.index.spills.map(isShared)).toEqual([true]);
    expect(b.index.spills.map(isShared)).toEqual([false]);
    expect(b.index.sharedKb).toBeUndefined();
    expect(mem.heldBytes).toBe(a.index.sharedKb! * 1024);
    for (let p = 0; p < 3; p++) expect(await partitionPayloads(b.index, p)).toEqual(b.want[p]);
    mem.release([a.index, b.index]);
    expect(mem.heldBytes).toBe(0);
  });
});
