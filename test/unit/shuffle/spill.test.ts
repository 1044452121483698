import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MERGE_FAN_IN, sortPartition, type SortInfo } from "../../../src/shuffle/external-sort.js";
import { canonicalKey, keyHash, partitionOf } from "../../../src/shuffle/key-encoding.js";
import { compareEntries, type ShuffleEntry } from "../../../src/shuffle/shuffle-entry.js";
import { blocksOfIpc } from "../../../src/shuffle/block.js";
import { blockEntries, encodeBlockIpc } from "../../../src/shuffle/spill-block.js";
import type { SortedBatch } from "../../../src/shuffle/sorted-entries.js";
import { partitionBlocks, readIndex, type SpillIndex } from "../../../src/shuffle/spill-index.js";
import { SpillWriter } from "../../../src/shuffle/spill-writer.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const tmp = useTempDir("sirocco-spill-");

function entry(key: unknown, shard: number, pos: number, text = `row ${shard}/${pos}`): ShuffleEntry {
  const k = canonicalKey(key);
  return { key: k, hash: keyHash(k), src: 0, shard, pos, payload: Buffer.from(text) };
}

/** A sorted batch's entries as plain objects, in order. */
function batchEntries(b: SortedBatch): ShuffleEntry[] {
  return Array.from({ length: b.length }, (_, i) => {
    const k = b.blockOf(i);
    const r = b.row[i]!;
    return { key: k.key(r), hash: k.hash[r]!, src: k.src[r]!, shard: k.shard[r]!, pos: k.pos[r]!, payload: k.payload(r) };
  });
}

const plain = (e: ShuffleEntry) => ({ key: e.key, hash: e.hash, src: e.src, shard: e.shard, pos: e.pos, payload: Buffer.from(e.payload).toString() });

describe("spill block", () => {
  it("round-trips keys, input order and payload bytes through Arrow IPC", async () => {
    const entries = [entry("ü€", 0, 0), entry({ b: 1, a: [2] }, 3, 2 ** 40), { ...entry(null, 1, 5), src: 1, payload: new Uint8Array([0, 255, 10]) }, entry("", 0, 1, "")];
    expect((await blocksOfIpc(await encodeBlockIpc(entries))).flatMap(blockEntries).map(plain)).toEqual(entries.map(plain));
  });
});

describe("SpillWriter + index", () => {
  it("writes one spill file per flush and an index whose ranges give back each partition's entries", async () => {
    const dir = tmp.path;
    const w = new SpillWriter({ dir, name: "m00002-a1", partitions: 3, budgetBytes: 4000, tag: "t" });
    const expected: ShuffleEntry[][] = [[], [], []];
    let flushes = 0;
    for (let i = 0; i < 300; i++) {
      const e = entry(`k${i % 37}`, 2, i);
      const p = partitionOf(e.key, 3);
      expected[p]!.push(e);
      if (w.add(p, e)) {
        await w.flush();
        flushes++;
      }
    }
    const indexUri = (await w.finish()) as string;
    expect(flushes).toBeGreaterThan(2);
    const names = fs.readdirSync(dir).sort();
    expect(names.filter((n) => n.endsWith(".spill"))).toHaveLength(flushes + 1);
    expect(names.filter((n) => n.endsWith(".index.json"))).toEqual(["m00002-a1.index.json"]);
    const index = await readIndex(indexUri);
    expect(index.rows).toBe(300);
    expect(index.spills.every((s) => "ranges" in s && s.ranges.length === 3 * 4)).toBe(true);
    for (let p = 0; p < 3; p++) {
      const blocks = partitionBlocks([index], p);
      const got: ShuffleEntry[] = [];
      for await (const b of await sortPartition(blocks, { budgetBytes: 1e9, dir, name: "r", tag: "t" })) got.push(...batchEntries(b));
      // In memory: a stable sort by key keeps input order within a key.
      expect(got.map(plain)).toEqual([...expected[p]!].sort(compareEntries).map(plain));
    }
  });

  it("rejects an index of another version naming the file", async () => {
    const f = path.join(tmp.path, "x.index.json");
    fs.writeFileSync(f, JSON.stringify({ version: 9 }));
    await expect(readIndex(f)).rejects.toThrow(/x\.index\.json is not a sirocco spill index/);
  });
});

describe("sortPartition (external merge)", () => {
  async function writeMaps(dir: string, maps: number, rowsPerMap: number, keys: number, budget: number): Promise<SpillIndex[]> {
    const out: SpillIndex[] = [];
    for (let m = 0; m < maps; m++) {
      const w = new SpillWriter({ dir, name: `m${m}`, partitions: 1, budgetBytes: budget, tag: "t" });
      for (let i = 0; i < rowsPerMap; i++) if (w.add(0, entry(`key-${(i * 7919 + m) % keys}`, m, i, `payload ${m}:${i} ${"x".repeat(i % 50)}`))) await w.flush();
      out.push(await readIndex((await w.finish()) as string));
    }
    return out;
  }

  async function collect(it: AsyncIterable<SortedBatch>): Promise<ReturnType<typeof plain>[]> {
    const got = [];
    for await (const b of it) for (const e of batchEntries(b)) got.push(plain(e));
    return got;
  }

  it("gives exactly the in-memory order with many runs merged in several passes, and removes merged runs", async () => {
    const dir = tmp.path;
    const indexes = await writeMaps(dir, 4, 3000, 500, 20_000);
    const blocks = partitionBlocks(indexes, 0);
    const inMemory = await collect(await sortPartition(blocks, { budgetBytes: 1e9, dir, name: "mem", tag: "t" }));
    const info: SortInfo = { external: false, runs: 0, mergePasses: 0 };
    const external = await collect(await sortPartition(blocks, { budgetBytes: 100_000, dir, name: "ext", tag: "t" }, info));
    expect(info.external).toBe(true);
    expect(info.runs).toBeGreaterThan(MERGE_FAN_IN);
    expect(info.mergePasses).toBeGreaterThanOrEqual(2);
    expect(external).toHaveLength(12_000);
    expect(external).toEqual(inMemory);
    // Sorted by key hash, then key (UTF-8 bytes), then input order (shard, position).
    for (let i = 1; i < external.length; i++) {
      const a = external[i - 1]!;
      const b = external[i]!;
      const k = Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
      expect(a.hash < b.hash || (a.hash === b.hash && (k < 0 || (k === 0 && (a.shard < b.shard || (a.shard === b.shard && a.pos < b.pos)))))).toBe(true);
    }
    const runFiles = fs.readdirSync(dir).filter((n) => n.startsWith("ext-run"));
    expect(runFiles.length).toBeLessThanOrEqual(MERGE_FAN_IN);
  });
});
