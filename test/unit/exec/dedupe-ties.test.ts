/**
 * The reduce side of dedupe when key hashes tie. Dedupe entries carry their canonical key
 * (computed map-side from the parsed row, so one key spelled two ways in JSON is one key):
 * the reducer orders entries by (hash, key bytes, input order) and keeps the first entry of
 * each distinct key, whatever the payload (JSON text or v8 bytes). Spill files are written
 * with the real SpillWriter and read back by shuffleReadChunks, sorted in memory and by the
 * external merge.
 */
import path from "node:path";
import { serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import { shuffleReadChunks } from "../../../src/exec/operators/shuffle-read.js";
import type { MapOutput, TaskSpec, TaskStats } from "../../../src/exec/task-spec.js";
import type { PlanNode } from "../../../src/plan/nodes.js";
import type { ShuffleSource } from "../../../src/plan/stage.js";
import { MAX_STORED_DEDUPE_KEY_CHARS } from "../../../src/exec/operators/shuffle-write.js";
import { canonicalKey } from "../../../src/shuffle/key-encoding.js";
import { SpillWriter } from "../../../src/shuffle/spill-writer.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const tmp = useTempDir("sirocco-dedupe-ties-");

interface Row {
  id: number;
  k: unknown;
  when?: Date;
}

/** One map-side entry: its row as JSON text (given verbatim) or as v8 bytes. */
interface Input {
  shard: number;
  pos: number;
  hash: number;
  row: Row;
  /** The row's JSON text as it was in the input; absent: the row moves as v8.serialize bytes. */
  text?: string;
}

const HASH_A = 1000;
const HASH_B = 5;
const HASH_C = 2 ** 51 + 3;

const t = (shard: number, pos: number, hash: number, text: string): Input => ({ shard, pos, hash, row: JSON.parse(text) as Row, text });
const v = (shard: number, pos: number, hash: number, row: Row): Input => ({ shard, pos, hash, row });

/** Tie groups (same hash, different and equal keys, text and v8 mixed) and unique-hash filler. */
const INPUTS: Input[] = [
  // hash A: keys x, y, x, z, y, w, z in input order (shard, pos) → ids 1, 2, 4, 6 kept.
  t(0, 0, HASH_A, '{ "id": 1,  "k": "x" }'),
  v(0, 1, HASH_A, { id: 2, k: "y", when: new Date(2) }),
  v(0, 5, HASH_A, { id: 3, k: "x", when: new Date(3) }),
  t(1, 0, HASH_A, '{"k":"z","id":4.0}  '),
  t(1, 2, HASH_A, '{"id":5,"k":"\\u0079"}'),
  v(1, 3, HASH_A, { id: 6, k: "w", when: new Date(6) }),
  v(1, 4, HASH_A, { id: 7, k: "z" }),
  // hash B: "x" again (a tie only counts within one hash), and one object key spelled two ways.
  t(1, 1, HASH_B, '{"id":8,"k":"x"}'),
  t(0, 2, HASH_B, '{"id": 9, "k": "x"}'),
  v(0, 3, HASH_B, { id: 10, k: { a: 1, b: [2, "é"] } }),
  t(1, 5, HASH_B, '{"id":11,"k":{"b":[2,"\\u00e9"],"a":1e0}}'),
  // hash C: alone.
  v(1, 6, HASH_C, { id: 12, k: "x", when: new Date(12) }),
];
for (let i = 0; i < 120; i++) {
  const row = { id: 100 + i, k: `filler ${i}` };
  INPUTS.push(i % 2 === 0 ? t(i % 2, 100 + i, 10_000 + i, ` ${JSON.stringify(row)} `) : v(i % 2, 100 + i, 10_000 + i, { ...row, when: new Date(i) }));
}

/**
 * The rows each group keeps, in output order: hash order; within a hash, key order (UTF-8
 * bytes of the canonical key: "w" < "x" < "y" < "z", and for hash B `"x` < `{…}`), then
 * input order within a key.
 */
const WANT_IDS = [9, 10, 6, 1, 2, 4, ...Array.from({ length: 120 }, (_, i) => 100 + i), 12];

/** Writes each shard's entries (in position order, keys as the map side computes them) through SpillWriter, flushing often; returns the map outputs. */
/**
 * `storeLong(shard, pos)`: whether that entry stores a long key (a map task stores them while its
 * data may stay in memory, and stops after its first flush to disk); short keys are always stored.
 */
async function writeMaps(dir: string, inputs: Input[], keyOf: (r: Row) => unknown, storeLong: (shard: number, pos: number) => boolean = () => false): Promise<MapOutput[]> {
  const maps: MapOutput[] = [];
  for (const shard of [0, 1]) {
    const w = new SpillWriter({ dir, name: `m0000${shard}-a1`, partitions: 1, budgetBytes: 300, tag: "t" });
    for (const e of inputs.filter((x) => x.shard === shard).sort((a, b) => a.pos - b.pos)) {
      const k = canonicalKey(keyOf(e.row));
      const key = k.length > MAX_STORED_DEDUPE_KEY_CHARS && !storeLong(shard, e.pos) ? "" : k;
      if (w.add(0, { key, hash: e.hash, src: 0, shard, pos: e.pos, payload: e.text ?? serialize(e.row) })) await w.flush();
    }
    expect(w.spillCount, "several spill files per map task").toBeGreaterThan(2);
    maps.push({ side: 0, shard, index: await w.finish() });
  }
  return maps;
}

function spec(scratch: string, maps: MapOutput[], memoryBytes: number): TaskSpec {
  return { runId: "t", runIndex: 1, fingerprint: "f", stage: 1, shard: 0, totalShards: 1, input: { kind: "shuffle", partition: 0, maps }, attempt: 1, scratch, memoryBytes };
}

const dedupeSource = (key?: (r: never) => unknown): ShuffleSource => ({
  kind: "shuffleRead",
  node: { kind: "dedupe", parent: { kind: "fromList" } as unknown as PlanNode, ...(key ? { key } : {}) } as ShuffleSource["node"],
  inputs: [0],
});

/** Output rows with their JSON text (decoded), in order. */
async function read(source: ShuffleSource, s: TaskSpec, o: { textsOnly?: boolean } = {}): Promise<{ out: Array<{ row: unknown; text: string | undefined }>; stats: TaskStats }> {
  const stats: TaskStats = { rowsIn: 0, stepRowsOut: [], malformedLines: 0, bytesWritten: 0 };
  const out: Array<{ row: unknown; text: string | undefined }> = [];
  for await (const c of shuffleReadChunks(source, s, stats, o)) {
    expect(c.texts).toHaveLength(c.rows.length);
    c.rows.forEach((row, i) => {
      const tx = c.texts![i];
      out.push({ row, text: tx === undefined ? undefined : Buffer.from(tx).toString("utf8") });
    });
  }
  return { out, stats };
}

/** What the reducer must give for `ids`: text rows as their exact input text (parsed, or null when textsOnly), v8 rows as the row. */
function expected(ids: number[], textsOnly = false): Array<{ row: unknown; text: string | undefined }> {
  return ids.map((id) => {
    const e = INPUTS.find((x) => x.row.id === id)!;
    return e.text === undefined ? { row: e.row, text: undefined } : { row: textsOnly ? null : JSON.parse(e.text), text: e.text };
  });
}

describe("dedupe reduce side with tied key hashes", () => {
  it("keeps the first row of each distinct key within a hash, in input order, in memory and with the external merge", async () => {
    const scratch = tmp.path;
    const maps = await writeMaps(path.join(scratch, "stage-000"), INPUTS, (r) => r.k);
    const source = dedupeSource((r: Row) => r.k);

    const inMemory = await read(source, spec(scratch, maps, 1e9));
    expect(inMemory.stats.sortedRuns).toBe(0);
    expect(inMemory.out.map((o) => (o.row as Row).id)).toEqual(WANT_IDS);
    expect(inMemory.out).toEqual(expected(WANT_IDS));
    // v8 rows come back exactly (a Date stays a Date).
    expect((inMemory.out[4]!.row as Row).when).toBeInstanceOf(Date);

    const external = await read(source, spec(scratch, maps, 4000));
    expect(external.stats.sortedRuns, "reducer merged sorted runs").toBeGreaterThan(1);
    expect(external.out).toEqual(inMemory.out);

    // Straight into writeJsonl: text rows are not parsed (null placeholders), their text is exact.
    for (const budget of [1e9, 4000]) expect((await read(source, spec(scratch, maps, budget), { textsOnly: true })).out).toEqual(expected(WANT_IDS, true));
  });

  it("with no key function the whole row is the key: one row spelled two ways is one row", async () => {
    const inputs = [
      t(0, 0, 7, '{"a":1,"b":[1.5]}'),
      t(0, 1, 7, '{ "b": [1.50], "a": 1.0 }'),
      t(1, 0, 7, '{"a":2}'),
      t(1, 1, 7, '{"a":1,"b":[15e-1]}'),
      t(1, 2, 3, '{"a":1,"b":[1.5]}'),
      ...Array.from({ length: 40 }, (_, i) => t(i % 2, 10 + i, 7, `{"a":${i % 3}, "pad": "${"p".repeat(20)}"}`)),
    ];
    const scratch = tmp.path;
    const maps = await writeMaps(path.join(scratch, "stage-000"), inputs, (r) => r);
    // Hash 3 first; then hash 7 by canonical key — {"a":0,"pad":…} < {"a":1,"b":[1.5]} <
    // {"a":1,"pad":…} < {"a":2,"pad":…} < {"a":2} — each key's first row in input order: its
    // first padded row (i = 0, 4, 2), the unpadded {"a":1,…} spelled three ways kept once (as
    // shard 0 pos 0), shard 1's {"a":2}.
    const want = [inputs[4]!, inputs[5]!, inputs[0]!, inputs[9]!, inputs[7]!, inputs[2]!].map((e) => ({ row: JSON.parse(e.text!), text: e.text }));
    for (const budget of [1e9, 3000]) {
      const r = await read(dedupeSource(), spec(scratch, maps, budget));
      if (budget < 1e9) expect(r.stats.sortedRuns).toBeGreaterThan(1);
      expect(r.out).toEqual(want);
    }
  });

  it("long keys (not stored) tied with each other and with a short key: recomputed from the rows, the first row of each kept", async () => {
    const long = (c: string) => c.repeat(MAX_STORED_DEDUPE_KEY_CHARS + 5);
    const inputs = [
      t(0, 0, 42, JSON.stringify({ id: 1, k: long("a") })),
      v(0, 1, 42, { id: 2, k: "short" }),
      t(0, 2, 42, JSON.stringify({ id: 3, k: long("b") })),
      v(1, 0, 42, { id: 4, k: long("a"), when: new Date(4) }),
      t(1, 1, 42, `{"id":5,"k":"${"\\u0062".repeat(MAX_STORED_DEDUPE_KEY_CHARS + 5)}"}`),
      t(1, 2, 42, JSON.stringify({ id: 6, k: "short" })),
      v(1, 3, 42, { id: 7, k: long("c") }),
      ...Array.from({ length: 30 }, (_, i) => t(i % 2, 10 + i, 100 + i, JSON.stringify({ id: 100 + i, k: long(String(i % 10)) }))),
    ];
    expect(JSON.parse(inputs[4]!.text!).k).toBe(long("b")); // the same long key, escaped
    const maps = await writeMaps(path.join(tmp.path, "stage-000"), inputs, (r) => r.k);
    // Hash 42: unstored (empty) keys sort before stored ones, in input order among them:
    // a (1), b (3), a again (4, dropped), b again (5, dropped), c (7); then "short" (2; 6 dropped).
    const want = [1, 3, 7, 2, ...Array.from({ length: 30 }, (_, i) => 100 + i)];
    for (const budget of [1e9, 3000]) {
      const r = await read(dedupeSource((x: Row) => x.k), spec(tmp.path, maps, budget));
      if (budget < 1e9) expect(r.stats.sortedRuns).toBeGreaterThan(1);
      expect(r.out.map((o) => (o.row as Row).id)).toEqual(want);
    }
  });

  it("a long key stored by one map task and not by another: the first row in input order is kept, and the output does not depend on who stored what", async () => {
    const long = (c: string) => c.repeat(MAX_STORED_DEDUPE_KEY_CHARS + 5);
    const inputs = [
      t(0, 0, 9, JSON.stringify({ id: 1, k: long("a") })),
      t(0, 1, 9, JSON.stringify({ id: 2, k: long("z") })),
      t(0, 2, 9, JSON.stringify({ id: 3, k: long("a") })),
      t(1, 0, 9, JSON.stringify({ id: 4, k: long("a") })),
      t(1, 1, 9, JSON.stringify({ id: 5, k: long("m") })),
      t(1, 2, 9, JSON.stringify({ id: 6, k: long("z") })),
      ...Array.from({ length: 30 }, (_, i) => t(i % 2, 10 + i, 100 + i, JSON.stringify({ id: 100 + i, k: long(String(i % 10)) }))),
    ];
    // Within hash 9: keys a (first: id 1), m (id 5), z (id 2), in key order; then the filler.
    const want = [1, 5, 2, ...Array.from({ length: 30 }, (_, i) => 100 + i)];
    const policies: Array<[string, (shard: number, pos: number) => boolean]> = [
      ["none stored", () => false],
      ["all stored", () => true],
      ["shard 0 stored", (shard) => shard === 0],
      ["shard 1 stored", (shard) => shard === 1],
      ["stored until a flush", (_shard, pos) => pos < 2],
    ];
    for (const [name, storeLong] of policies) {
      const dir = path.join(tmp.path, name.replace(/ /g, "-"));
      const maps = await writeMaps(path.join(dir, "stage-000"), inputs, (r) => r.k, storeLong);
      for (const budget of [1e9, 3000]) {
        const r = await read(dedupeSource((x: Row) => x.k), spec(dir, maps, budget));
        expect(r.out.map((o) => (o.row as Row).id), `${name}, budget ${budget}`).toEqual(want);
      }
    }
  });
});
