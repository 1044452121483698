import { Field, Int64, Schema } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { Dataset } from "../../../src/plan/dataset.js";
import { nodeIdentity } from "../../../src/plan/describe-node.js";
import { fuseNarrowSteps } from "../../../src/plan/fuse-narrow-steps.js";
import { lineage } from "../../../src/plan/nodes.js";
import { planError } from "../../support/expect-error.js";

const files = Dataset.fromFiles("in", "*.parquet");

describe("loadParquet / loadArrow / writeParquet / writeArrow plan steps", () => {
  it("fuse as a narrow load step and a sink, with their names in the stage label", () => {
    const sink = files.loadParquet({ columns: ["id"] }).map((r) => r).writeParquet("out/p-{shard}.parquet");
    const [stage] = fuseNarrowSteps(lineage(sink.node));
    expect(stage!.label).toBe("fromFiles → loadParquet → map → writeParquet");
    const arrow = fuseNarrowSteps(lineage(Dataset.fromFiles("in").loadArrow().writeArrow("o/{shard}.arrow").node));
    expect(arrow[0]!.label).toBe("fromFiles → loadArrow → writeArrow");
  });

  it("carry their options into the node identity (so they change the plan fingerprint)", () => {
    const id = (n: Parameters<typeof nodeIdentity>[0]) => nodeIdentity(n);
    expect(id(files.loadParquet({ columns: ["a", "b"] }).node)).toBe('loadParquet(columns=["a","b"])');
    expect(id(files.loadParquet().node)).toBe("loadParquet()");
    expect(id(files.loadParquet().writeParquet("o/{shard}.parquet").node)).toBe('writeParquet("o/{shard}.parquet", compression=zstd, rowGroupRows=100000)');
    const schema = new Schema([new Field("id", new Int64(), true)]);
    expect(id(files.loadArrow().writeArrow("o.arrow", { schema, skipExisting: true }).node)).toBe('writeArrow("o.arrow", schema={id: Int64}, skipExisting)');
    expect(id(files.loadParquet().writeParquet("o.parquet", { compression: "snappy", rowGroupRows: 10 }).node)).toBe('writeParquet("o.parquet", compression=snappy, rowGroupRows=10)');
  });

  it("validates options when the plan is built", () => {
    expect(planError(() => files.loadParquet({ columns: [] })).message).toBe("loadParquet options.columns must be a non-empty array of column names; got []");
    expect(planError(() => files.loadArrow({ columns: ["a", "a"] })).message).toContain("names a column twice");
    const ds = files.loadParquet();
    expect(planError(() => ds.writeParquet("")).message).toBe("writeParquet needs an output pattern");
    expect(planError(() => ds.writeParquet("o.parquet", { compression: "lz4" as never })).message).toBe(
      'writeParquet options.compression must be one of zstd, snappy, gzip, brotli, lz4_raw, uncompressed; got "lz4"',
    );
    expect(planError(() => ds.writeParquet("o.parquet", { rowGroupRows: 0 })).message).toBe("writeParquet options.rowGroupRows must be a positive integer; got 0");
    expect(planError(() => ds.writeArrow("o.arrow", { schema: {} as never })).message).toContain("options.schema must be an apache-arrow Schema");
  });
});
