import { describe, expect, it } from "vitest";
import { PlanError } from "../../../src/core/errors.js";
import { compilePlan, diffIdentities } from "../../../src/plan/compile-plan.js";
import { Dataset } from "../../../src/plan/dataset.js";
import type { PlanNode } from "../../../src/plan/nodes.js";

const fp = (n: PlanNode) => compilePlan(n).fingerprint;

/** A pipeline built from scratch each call, with fresh closures, as a worker would. */
function build(opts: { items?: unknown[]; take?: number; pattern?: string } = {}) {
  const factor = 3;
  return Dataset.fromList(opts.items ?? [{ id: 1 }, { id: 2 }, { id: 3 }], { shards: 2 })
    .map((r) => ({ ...(r as { id: number }), x: (r as { id: number }).id * factor }))
    .filter((r) => r.x > 1)
    .take(opts.take ?? 10)
    .writeJsonl(opts.pattern ?? "out/part-{shard}.jsonl");
}

describe("plan fingerprint", () => {
  it("is the same for the same pipeline built twice (fresh closures, equal data)", () => {
    const a = compilePlan(build().node);
    const b = compilePlan(build().node);
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(b.identities).toEqual(a.identities);
    expect(diffIdentities(a.identities, b.identities)).toBe("no step differs");
  });

  it("has one identity per logical node, source first", () => {
    const p = compilePlan(build().node);
    expect(p.identities).toHaveLength(5);
    expect(p.identities[0]).toMatch(/^fromList\(items#[0-9a-f]{16}, n=3, shards=2\)$/);
    expect(p.identities[1]).toMatch(/^map\(.*\) fn#[0-9a-f]{12}$/);
    expect(p.identities[3]).toBe("take(10)");
    expect(p.identities[4]).toBe('writeJsonl("out/part-{shard}.jsonl")');
  });

  it("changes when a function body changes", () => {
    const a = Dataset.fromList([1, 2]).map((x) => x + 1);
    const b = Dataset.fromList([1, 2]).map((x) => x + 2);
    expect(fp(b.node)).not.toBe(fp(a.node));
    const d = diffIdentities(compilePlan(a.node).identities, compilePlan(b.node).identities);
    expect(d).toMatch(/^step 1 differs:\n {2}driver: map\(\(x\) => x \+ 1\) fn#[0-9a-f]{12}\n {2}worker: map\(\(x\) => x \+ 2\) fn#[0-9a-f]{12}$/);
  });

  it("changes when a function's source differs beyond what explain() shows", () => {
    const pad = "x".repeat(80);
    const a = Dataset.fromList([1]).map((v) => `${pad}${v}-a`);
    const b = Dataset.fromList([1]).map((v) => `${pad}${v}-b`);
    expect(fp(a.node)).not.toBe(fp(b.node));
  });

  it("changes when a list item changes, and not when an equal list is rebuilt", () => {
    expect(fp(build({ items: [{ id: 1 }, { id: 2 }, { id: 4 }] }).node)).not.toBe(fp(build().node));
    expect(fp(build({ items: [{ id: 1 }, { id: 2 }, { id: 3 }] }).node)).toBe(fp(build().node));
    const d = diffIdentities(compilePlan(build().node).identities, compilePlan(build({ items: [{ id: 9 }, { id: 2 }, { id: 3 }] }).node).identities);
    expect(d.startsWith("step 0 differs:\n  driver: fromList(items#")).toBe(true);
  });

  it("changes when a take(n) parameter changes, and diffIdentities names that step", () => {
    const a = compilePlan(build({ take: 10 }).node);
    const b = compilePlan(build({ take: 11 }).node);
    expect(b.fingerprint).not.toBe(a.fingerprint);
    expect(diffIdentities(a.identities, b.identities)).toBe("step 3 differs:\n  driver: take(10)\n  worker: take(11)");
  });

  it("changes when the output pattern changes", () => {
    const a = compilePlan(build().node);
    const b = compilePlan(build({ pattern: "out/p-{shard:03d}.jsonl" }).node);
    expect(b.fingerprint).not.toBe(a.fingerprint);
    expect(diffIdentities(a.identities, b.identities)).toBe('step 4 differs:\n  driver: writeJsonl("out/part-{shard}.jsonl")\n  worker: writeJsonl("out/p-{shard:03d}.jsonl")');
  });

  it("changes with other parameters: shards, window size, glob, onBadLine, skipExisting, outputDir", () => {
    const pairs: Array<[PlanNode, PlanNode]> = [
      [Dataset.fromList([1, 2], { shards: 1 }).node, Dataset.fromList([1, 2], { shards: 2 }).node],
      [Dataset.fromList([1]).window(2).node, Dataset.fromList([1]).window(3).node],
      [Dataset.fromFiles("in", "*.jsonl").node, Dataset.fromFiles("in", "*.txt").node],
      [Dataset.fromFiles("in").loadJsonl().node, Dataset.fromFiles("in").loadJsonl({ onBadLine: "skip" }).node],
      [Dataset.fromFiles("in").loadJsonl().node, Dataset.fromFiles("in").loadText().node],
      [Dataset.fromList([1]).writeJsonl("o.jsonl").node, Dataset.fromList([1]).writeJsonl("o.jsonl", { skipExisting: true }).node],
      [Dataset.fromFiles("in").mapFiles(() => {}, { outputDir: "a" }).node, Dataset.fromFiles("in").mapFiles(() => {}, { outputDir: "b" }).node],
    ];
    for (const [a, b] of pairs) expect(fp(a), `${compilePlan(a).identities.join(" | ")}`).not.toBe(fp(b));
  });

  it("diffIdentities reports a different number of steps", () => {
    const a = compilePlan(Dataset.fromList([1]).map((x) => x).node);
    const b = compilePlan(Dataset.fromList([1]).map((x) => x).take(1).node);
    expect(diffIdentities(a.identities, b.identities)).toBe("step 2 differs:\n  driver: (none)\n  worker: take(1)");
    expect(diffIdentities(b.identities, a.identities)).toBe("step 2 differs:\n  driver: take(1)\n  worker: (none)");
  });
});

describe("compilePlan structure", () => {
  it("puts source, narrow steps and sink in one stage with a label", () => {
    const p = compilePlan(Dataset.fromFiles("in").loadText().filter((l) => l.length > 0).take(3).node);
    expect(p.stages).toHaveLength(1);
    const st = p.stages[0]!;
    expect(st.id).toBe(0);
    expect(st.source.kind).toBe("fromFiles");
    expect(st.ops.map((o) => o.kind)).toEqual(["load", "filter", "take"]);
    expect(st.sink).toBeUndefined();
    expect(st.label).toBe("fromFiles → loadText → filter → take → collect");
  });

  it("rejects a chain that does not start at a source", () => {
    const orphan = Object.freeze({ kind: "take", n: 1 }) as unknown as PlanNode;
    expect(() => compilePlan(orphan)).toThrow(PlanError);
    expect(() => compilePlan(orphan)).toThrow("a pipeline must start with Dataset.fromList or Dataset.fromFiles");
  });
});
