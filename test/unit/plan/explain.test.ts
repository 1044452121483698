import { describe, expect, it } from "vitest";
import { compilePlan } from "../../../src/plan/compile-plan.js";
import { Dataset } from "../../../src/plan/dataset.js";

/** The lines of one `== section ==` of explain(). */
function section(text: string, title: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`== ${title}`));
  expect(start, `section ${title}`).toBeGreaterThanOrEqual(0);
  const out: string[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith("=="); i++) if (lines[i] !== "") out.push(lines[i]!);
  return out;
}

describe("explain", () => {
  const sink = Dataset.fromFiles("data/in", "**/*.jsonl.gz")
    .loadJsonl<{ text: string }>()
    .map((d) => ({ ...d, n: d.text.length }))
    .filter((d) => d.n > 10)
    .flatMap((d) => [d, d])
    .take(100)
    .writeJsonl("out/part-{shard:05d}.jsonl.gz");
  const text = sink.explain();

  it("lists the logical plan, one node per line, indented as a chain", () => {
    expect(section(text, "logical plan")).toEqual([
      'fromFiles("data/in", "**/*.jsonl.gz")',
      "  └─ loadJsonl()",
      "    └─ map((d) => ({ ...d, n: d.text.length }))",
      "      └─ filter((d) => d.n > 10)",
      "        └─ flatMap((d) => [d, d])",
      "          └─ take(100)",
      '            └─ writeJsonl("out/part-{shard:05d}.jsonl.gz")',
    ]);
  });

  it("fuses all narrow steps into ONE stage and says how many were fused", () => {
    const opt = section(text, "optimized plan");
    const headers = opt.filter((l) => /^stage \d+/.test(l));
    expect(headers).toEqual(["stage 0 [5 narrow steps fused into one pass per shard]"]);
    expect(opt.slice(1)).toEqual([
      '  fromFiles("data/in", "**/*.jsonl.gz")',
      "  loadJsonl()",
      "  map((d) => ({ ...d, n: d.text.length }))",
      "  filter((d) => d.n > 10)",
      "  flatMap((d) => [d, d])",
      "  take(100)",
      '  writeJsonl("out/part-{shard:05d}.jsonl.gz")',
    ]);
    expect(compilePlan(sink.node).stages).toHaveLength(1);
  });

  it("names the stage and its sharding, and prints the fingerprint", () => {
    expect(section(text, "stages")).toEqual([
      "stage 0: fromFiles → loadJsonl → map → filter → flatMap → take → writeJsonl",
      "  shards: one shard per input file (listed when the run starts)",
      `fingerprint: ${compilePlan(sink.node).fingerprint}`,
    ]);
  });

  it("says rows go back to the driver without a sink, and counts list shards", () => {
    const t = Dataset.fromList([1, 2, 3, 4, 5], { shards: 2 }).map((x) => x * 2).window(2).explain();
    expect(section(t, "optimized plan")).toEqual([
      "stage 0 [2 narrow steps fused into one pass per shard]",
      "  fromList(5 items, shards=2)",
      "  map((x) => x * 2)",
      "  window(2)",
      "  → rows returned to the driver",
    ]);
    expect(section(t, "stages")[1]).toBe("  shards: 2 shards over 5 items");
    expect(section(Dataset.fromList(Array.from({ length: 100 }, (_, i) => i)).explain(), "stages")[1]).toBe("  shards: 64 shards over 100 items");
  });

  it("uses the singular for one fused step and shortens long functions", () => {
    const t = Dataset.fromList([1]).map((x) => x + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1).explain();
    const opt = section(t, "optimized plan");
    expect(opt[0]).toBe("stage 0 [1 narrow step fused into one pass per shard]");
    expect(opt[2]!.length).toBeLessThanOrEqual("  map()".length + 60);
    expect(opt[2]!.endsWith("…)")).toBe(true);
  });

  it("shows options of load, take and the sinks", () => {
    const t = Dataset.fromFiles("in", "*.jsonl", { allowEmpty: true })
      .loadJsonl({ onBadLine: "skip" })
      .writeJsonl("o/{basename}.jsonl", { skipExisting: true })
      .explain();
    expect(t).toContain('fromFiles("in", "*.jsonl", allowEmpty)');
    expect(t).toContain("loadJsonl(onBadLine=skip)");
    expect(t).toContain('writeJsonl("o/{basename}.jsonl", skipExisting)');
    expect(Dataset.fromFiles("in").loadText().explain()).toContain("loadText()");
  });
});
