import { describe, expect, it } from "vitest";
import { compilePlan } from "../../../src/plan/compile-plan.js";
import { Dataset } from "../../../src/plan/dataset.js";
import { planError } from "../../support/expect-error.js";

const docs = Dataset.fromFiles("in", "*.jsonl.gz").loadJsonl<{ id: number; text: string; domain: string }>();
const info = Dataset.fromList([{ domain: "a", tier: 1 }]).map((r) => ({ ...r, tier: r.tier + 1 }));

describe("wide steps in the plan", () => {
  it("end a stage at each shuffle: the map stage writes partitions, the next reads them", () => {
    const plan = compilePlan(docs.filter((d) => d.text.length > 0).dedupe((d) => d.text).map((d) => d.id).writeJsonl("o/{shard}.jsonl").node);
    expect(plan.stages.map((s) => s.label)).toEqual(["fromFiles → loadJsonl → filter → shuffle(dedupe)", "dedupe → map → writeJsonl"]);
    const [map, reduce] = plan.stages;
    expect(map!.shuffle?.node.kind).toBe("dedupe");
    expect(map!.sink).toBeUndefined();
    expect(reduce!.source).toMatchObject({ kind: "shuffleRead", inputs: [0] });
  });

  it("compile a join into two map stages (left, then right) feeding one reduce stage, in dependency order", () => {
    const plan = compilePlan(docs.join(info, { leftKey: (d) => d.domain, rightKey: (r) => r.domain, how: "left" }).countBy((p) => p.right?.tier ?? 0).node);
    expect(plan.stages.map((s) => s.label)).toEqual([
      "fromFiles → loadJsonl → shuffle(join left)",
      "fromList → map → shuffle(join right)",
      "join → shuffle(countBy)",
      "countBy → collect",
    ]);
    expect(plan.stages[2]!.source).toMatchObject({ kind: "shuffleRead", inputs: [0, 1] });
    expect(plan.stages[3]!.source).toMatchObject({ kind: "shuffleRead", inputs: [2] });
  });

  it("put every function and option of a wide step into the fingerprint, and the shape of a join", () => {
    const fp = (d: Dataset<unknown>) => compilePlan(d.node).fingerprint;
    expect(fp(docs.dedupe((d) => d.text))).toBe(fp(docs.dedupe((d) => d.text)));
    expect(fp(docs.dedupe((d) => d.text))).not.toBe(fp(docs.dedupe((d) => d.domain)));
    expect(fp(docs.dedupe())).not.toBe(fp(docs.dedupe((d) => d)));
    expect(fp(docs.countBy((d) => d.domain))).not.toBe(fp(docs.countBy((d) => d.domain, { numShards: 3 })));
    const g = (combiner?: (a: { id: number; text: string; domain: string }, b: { id: number; text: string; domain: string }) => { id: number; text: string; domain: string }) =>
      docs.groupBy((d) => d.domain, (k) => k, combiner ? { combiner } : {});
    expect(fp(g())).not.toBe(fp(g((a) => a)));
    const j = (how: "inner" | "left") => docs.join(info, { leftKey: (d) => d.domain, rightKey: (r) => r.domain, how });
    expect(fp(j("inner"))).not.toBe(fp(j("left")));
    // Same nodes, other side: the identities say which input is the right one.
    const swapped = info.join(docs, { leftKey: (d) => d.domain, rightKey: (r) => r.domain });
    expect(compilePlan(swapped.node).identities).not.toEqual(compilePlan(j("inner").node).identities);
    expect(compilePlan(j("inner").node).identities.at(-1)).toMatch(/^join\(inner, .* right=#\d+/);
  });

  it("explain shows the shuffle stages and where their partitions come from", () => {
    const text = docs.join(info, { leftKey: (d) => d.domain, rightKey: (r) => r.domain }).reshard(5).explain();
    expect(text).toContain("right input: fromList(1 items) → map(");
    expect(text).toContain("→ shuffle write: rows hash-partitioned by key for join (left side)");
    expect(text).toContain("read shuffle of stages 0 + 1 → join(inner, leftKey=(d) => d.domain, rightKey=(r) => r.domain)");
    expect(text).toContain("stage 3: reshard → collect\n  shards: 5");
    expect(text).toContain("stage 2: join → shuffle(reshard)\n  shards: one partition per shard of stage 0/1 (the larger), decided when the run starts");
  });

  it("validate their arguments when the plan is built", () => {
    expect(planError(() => docs.groupBy("domain" as never, (k) => k)).message).toBe("groupBy key needs a function, got string");
    expect(planError(() => docs.dedupe((d) => d.text, { numShards: 0 })).message).toBe("dedupe options.numShards must be a positive integer, got 0");
    expect(planError(() => docs.reshard(1.5)).message).toBe("reshard(n) must be a positive integer, got 1.5");
    expect(planError(() => docs.join(info, { leftKey: (d) => d.domain, rightKey: (r) => r.domain, how: "outer" as never })).message).toBe('join options.how must be "inner" or "left", got "outer"');
    expect(planError(() => docs.join([] as never, { leftKey: (d) => d, rightKey: (r) => r })).message).toBe("join needs another Dataset as its first argument");
  });
});
