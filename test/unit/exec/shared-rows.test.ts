import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { packRows, unpackRows, type SharedRowBatch } from "../../../src/exec/shared-rows.js";

/** Same values, same keys in the same order, same number types (Object.is: -0, NaN). */
function expectExact(got: unknown, want: unknown, where = "row"): void {
  if (want === null || typeof want !== "object") {
    expect(Object.is(got, want), `${where}: ${String(got)} vs ${String(want)}`).toBe(true);
    return;
  }
  expect(Array.isArray(got), where).toBe(Array.isArray(want));
  expect(Object.keys(got as object), where).toEqual(Object.keys(want));
  for (const k of Object.keys(want)) expectExact((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${where}.${k}`);
}

/** Posts the batches through a real MessagePort (what piscina does) and unpacks what arrives. */
async function throughThread(batches: SharedRowBatch[]): Promise<unknown[]> {
  const w = new Worker("const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));", { eval: true });
  try {
    const back = await new Promise<SharedRowBatch[]>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
      w.postMessage(batches);
    });
    for (const [i, b] of back.entries()) if (b.kind === "arrow") expect(b.buffer, "shared, not copied").toBeInstanceOf(SharedArrayBuffer), expect(batches[i]!.kind).toBe("arrow");
    return unpackRows(back);
  } finally {
    await w.terminate();
  }
}

describe("rows through shared memory (packRows / unpackRows)", () => {
  it("uniform rows (nulls, nested, unicode, ints and floats, -0, NaN, empty lists) go as Arrow and come back exactly", async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      id: i,
      f: i % 3 === 0 ? i : i + 0.25,
      z: i === 5 ? -0 : i === 6 ? Number.NaN : i === 7 ? Infinity : i / 7,
      s: i % 4 === 0 ? null : `ñ-${i}-🎉-${"x".repeat(i % 40)}`,
      b: i % 2 === 0,
      nested: i % 5 === 0 ? null : { k: i % 7, l: i % 3 === 0 ? [] : [`a${i}`, null, "b"], o: { deep: [{ x: i }] } },
      never: null,
    }));
    const batches = packRows(rows, 64 * 1024);
    expect(batches.length).toBeGreaterThan(2); // sized in bytes
    expect(batches.every((b) => b.kind === "arrow")).toBe(true);
    const back = await throughThread(batches);
    expect(back.length).toBe(rows.length);
    rows.forEach((r, i) => expectExact(back[i], r, `row ${i}`));
  });

  it("rows Arrow cannot represent exactly travel as cloned rows, per batch, and still come back exactly", async () => {
    const cases: Array<[string, unknown[]]> = [
      ["missing field", [{ a: 1, b: 2 }, { a: 3 }]],
      ["other key order", [{ a: 1, b: 2 }, { b: 3, a: 4 }]],
      ["undefined value", [{ a: 1, b: undefined }]],
      ["bigint", [{ a: 1n }, { a: 2n ** 70n }]],
      ["lone surrogate", [{ s: "ok" }, { s: "\ud800x" }]],
      ["Date", [{ d: new Date(0) }]],
      ["not objects", [1, "two", [3]]],
      ["conflicting types", [{ a: "x" }, { a: { b: 1 } }]],
      ["array hole", [{ l: [1, , 3] }]], // eslint-disable-line no-sparse-arrays
      ["empty objects", [{}, {}]],
    ];
    for (const [name, rows] of cases) {
      const batches = packRows(rows, 1 << 20);
      expect(batches.map((b) => b.kind), name).toEqual(["rows"]);
      const back = await throughThread(batches);
      expect(back, name).toEqual(rows);
      rows.forEach((r, i) => {
        if (typeof r === "object" && r !== null && !(Object.values(r).some((v) => v instanceof Date))) expectExact(back[i], r, `${name} ${i}`);
      });
    }
  });

  it("a batch of one kind does not drag its neighbours along: Arrow and cloned batches mix in order", () => {
    const uniform = Array.from({ length: 2000 }, (_, i) => ({ id: i, s: `v${i}` }));
    const odd = Array.from({ length: 2000 }, (_, i) => (i === 1500 ? { id: i } : { id: i, s: `w${i}` }));
    const rows = [...uniform, ...odd];
    const batches = packRows(rows, 20_000);
    const kinds = new Set(batches.map((b) => b.kind));
    expect(kinds).toEqual(new Set(["arrow", "rows"]));
    const back = unpackRows(batches);
    rows.forEach((r, i) => expectExact(back[i], r, `row ${i}`));
  });

  it("a large batch (~64 MB of rows) round-trips exactly", async () => {
    const text = "lorem ipsum dolor sit amet ñ 🎉 ".repeat(8);
    const rows = Array.from({ length: 250_000 }, (_, i) => ({ id: i, text: `${i} ${text}`, score: i / 3 }));
    const batches = packRows(rows, 256 * 2 ** 20);
    expect(batches.length).toBe(1);
    expect((batches[0] as { buffer: SharedArrayBuffer }).buffer.byteLength).toBeGreaterThan(60e6);
    const back = await throughThread(batches);
    expect(back.length).toBe(rows.length);
    for (const i of [0, 1, 77_777, 249_999]) expectExact(back[i], rows[i], `row ${i}`);
    expect(back).toEqual(rows);
  }, 60_000);
});
