import { describe, expect, it } from "vitest";
import { Dataset, Sink } from "../../../src/plan/dataset.js";
import { lineage, type PlanNode } from "../../../src/plan/nodes.js";
import { planError } from "../../support/expect-error.js";


const kinds = (n: PlanNode) => lineage(n).map((x) => x.kind);

describe("Dataset is immutable", () => {
  it("returns a new Dataset from every step and leaves the original as it was", () => {
    const base = Dataset.fromList([1, 2, 3]);
    const before = base.explain();
    const steps = [
      base.map((x) => x + 1),
      base.filter((x) => x > 1),
      base.flatMap((x) => [x, x]),
      base.mapShard(async function* (rows) {
        for await (const r of rows) yield r;
      }),
      base.window(2),
      base.take(1),
    ];
    for (const d of steps) {
      expect(d).toBeInstanceOf(Dataset);
      expect(d).not.toBe(base);
      expect(d.node).not.toBe(base.node);
      expect((d.node as { parent?: PlanNode }).parent).toBe(base.node);
    }
    expect(base.explain()).toBe(before);
    expect(kinds(base.node)).toEqual(["fromList"]);
  });

  it("branches independently from a shared parent", () => {
    const base = Dataset.fromList(["a", "b"]).map((s) => s.toUpperCase());
    const left = base.filter((s) => s === "A").take(1);
    const right = base.window(2);
    expect(kinds(left.node)).toEqual(["fromList", "map", "filter", "take"]);
    expect(kinds(right.node)).toEqual(["fromList", "map", "window"]);
    expect(kinds(base.node)).toEqual(["fromList", "map"]);
  });

  it("freezes plan nodes", () => {
    const d = Dataset.fromList([1]).take(3);
    expect(Object.isFrozen(d.node)).toBe(true);
    expect(() => {
      (d.node as { n: number }).n = 5;
    }).toThrow(TypeError);
    expect(d.explain()).toContain("take(3)");
  });

  it("copies the fromList array, so changing the caller's array later does not change the plan", () => {
    const items = [1, 2, 3];
    const d = Dataset.fromList(items);
    const before = d.explain();
    items.push(4);
    expect(d.explain()).toBe(before);
    expect((d.node as { items: readonly unknown[] }).items).toEqual([1, 2, 3]);
  });

  it("writeJsonl and mapFiles return Sinks carrying the chain", () => {
    const s = Dataset.fromFiles("in", "*.jsonl").loadJsonl().writeJsonl("out/{shard}.jsonl");
    expect(s).toBeInstanceOf(Sink);
    expect(kinds(s.node)).toEqual(["fromFiles", "load", "writeJsonl"]);
    const m = Dataset.fromFiles("in").mapFiles(() => {}, { outputDir: "out" });
    expect(kinds(m.node)).toEqual(["fromFiles", "mapFiles"]);
    expect((m.node as { skipExisting: boolean }).skipExisting).toBe(true);
  });
});

describe("Dataset argument validation", () => {
  it("rejects steps given something that is not a function", () => {
    const d = Dataset.fromList([1]);
    expect(planError(() => d.map(42 as never)).message).toBe("map needs a function, got number");
    expect(planError(() => d.filter("x" as never)).message).toBe("filter needs a function, got string");
    expect(planError(() => d.flatMap(undefined as never)).message).toBe("flatMap needs a function, got undefined");
    expect(planError(() => d.mapShard(null as never)).message).toBe("mapShard needs a function, got object");
    expect(planError(() => Dataset.fromFiles("in").mapFiles({} as never, { outputDir: "o" })).message).toBe("mapFiles needs a function, got object");
  });

  it("rejects window sizes that are not positive integers", () => {
    const d = Dataset.fromList([1]);
    expect(planError(() => d.window(0)).message).toBe("window(n) must be a positive integer, got 0");
    expect(planError(() => d.window(-2)).message).toBe("window(n) must be a positive integer, got -2");
    expect(planError(() => d.window(1.5)).message).toBe("window(n) must be a positive integer, got 1.5");
    expect(planError(() => d.window("3" as never)).message).toBe('window(n) must be a positive integer, got "3"');
  });

  it("rejects take counts that are not integers >= 0, and allows take(0)", () => {
    const d = Dataset.fromList([1]);
    expect(planError(() => d.take(-1)).message).toBe("take(n) needs an integer >= 0, got -1");
    expect(planError(() => d.take(2.5)).message).toBe("take(n) needs an integer >= 0, got 2.5");
    expect(planError(() => d.take(Number.NaN)).message).toBe("take(n) needs an integer >= 0, got NaN");
    expect(d.take(0).explain()).toContain("take(0)");
  });

  it("rejects fromList without an array, and bad shard counts", () => {
    expect(planError(() => Dataset.fromList("abc" as never)).message).toBe("Dataset.fromList needs an array, got string");
    expect(planError(() => Dataset.fromList(undefined as never)).message).toBe("Dataset.fromList needs an array, got undefined");
    expect(planError(() => Dataset.fromList([1], { shards: 0 })).message).toBe("fromList options.shards must be a positive integer, got 0");
  });

  it("rejects fromFiles without a root or with an empty pattern", () => {
    expect(planError(() => Dataset.fromFiles("")).message).toBe("Dataset.fromFiles needs a root directory");
    expect(planError(() => Dataset.fromFiles(undefined as never)).message).toBe("Dataset.fromFiles needs a root directory");
    expect(planError(() => Dataset.fromFiles("in", "")).message).toBe("Dataset.fromFiles pattern must be a non-empty glob");
  });

  it("rejects mapFiles without an outputDir", () => {
    const f = Dataset.fromFiles("in");
    expect(planError(() => f.mapFiles(() => {}, {} as never)).message).toBe("mapFiles needs { outputDir }");
    expect(planError(() => f.mapFiles(() => {}, undefined as never)).message).toBe("mapFiles needs { outputDir }");
    expect(planError(() => f.mapFiles(() => {}, { outputDir: "" })).message).toBe("mapFiles needs { outputDir }");
  });

  it("rejects writeJsonl without a pattern and unknown onBadLine policies", () => {
    expect(planError(() => Dataset.fromList([1]).writeJsonl("")).message).toBe("writeJsonl needs an output pattern");
    expect(planError(() => Dataset.fromFiles("in").loadJsonl({ onBadLine: "ignore" as never })).message).toBe('onBadLine must be "error" or "skip", got "ignore"');
  });
});
