import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IoError, PlanError } from "../../../src/core/errors.js";
import { makeTasks } from "../../../src/exec/make-tasks.js";
import type { TaskInput } from "../../../src/exec/task-spec.js";
import { compilePlan } from "../../../src/plan/compile-plan.js";
import { Dataset, Sink } from "../../../src/plan/dataset.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const IDS = { runId: "00112233aabbccdd", runIndex: 1, fingerprint: "feedfacefeedface" };

function stageOf(p: Dataset<unknown> | Sink<unknown>) {
  return compilePlan(p.node).stages[0]!;
}

async function planError(p: Promise<unknown>): Promise<PlanError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PlanError);
  return e as PlanError;
}

function listRanges(inputs: TaskInput[]): Array<[number, number]> {
  return inputs.map((i) => {
    if (i.kind !== "list") throw new Error("not a list input");
    return [i.start, i.end];
  });
}

function touch(root: string, rel: string, content = "x"): string {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
}

describe("makeTasks with fromList", () => {
  it("splits a list into contiguous shards that cover every item once", async () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const planned = await makeTasks(stageOf(Dataset.fromList(items, { shards: 3 })), IDS, false);
    expect(planned.totalShards).toBe(3);
    expect(listRanges(planned.tasks.map((t) => t.input))).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(planned.tasks.map((t) => t.shard)).toEqual([0, 1, 2]);
    for (const t of planned.tasks) {
      expect(t).toMatchObject({ ...IDS, stage: 0, totalShards: 3, attempt: 1, outputPath: undefined });
    }
    expect(planned.skipped).toEqual([]);
  });

  it("covers every item exactly once for many sizes and shard counts", async () => {
    for (const n of [0, 1, 2, 7, 64, 65, 1000]) {
      for (const shards of [1, 2, 3, 8, 64, 100]) {
        const planned = await makeTasks(stageOf(Dataset.fromList(Array.from({ length: n }), { shards })), IDS, false);
        const ranges = listRanges(planned.tasks.map((t) => t.input));
        expect(ranges).toHaveLength(shards);
        expect(ranges[0]![0]).toBe(0);
        expect(ranges[ranges.length - 1]![1]).toBe(n);
        for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1]);
        // sizes differ by at most one
        const sizes = ranges.map(([a, b]) => b - a);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("defaults to min(items, 64) shards (at least one), whatever the number of workers", async () => {
    const count = async (n: number) => (await makeTasks(stageOf(Dataset.fromList(Array.from({ length: n }))), IDS, false)).totalShards;
    expect(await count(0)).toBe(1);
    expect(await count(5)).toBe(5);
    expect(await count(64)).toBe(64);
    expect(await count(10_000)).toBe(64);
  });

  it("formats each shard's output path from the pattern", async () => {
    const planned = await makeTasks(stageOf(Dataset.fromList([1, 2, 3, 4], { shards: 2 }).writeJsonl("/out/part-{shard:03d}-of-{total}.jsonl")), IDS, false);
    expect(planned.tasks.map((t) => t.outputPath)).toEqual(["/out/part-000-of-2.jsonl", "/out/part-001-of-2.jsonl"]);
    expect(planned.outputDirs).toEqual(["/out"]);
  });

  it("requires {shard} in the pattern when writing more than one shard, saying how to fix it", async () => {
    const err = await planError(makeTasks(stageOf(Dataset.fromList([1, 2, 3], { shards: 3 }).writeJsonl("out/all.jsonl")), IDS, false));
    expect(err.message).toBe(
      'output pattern "out/all.jsonl" must contain {shard} (or {basename}) when writing 3 shards; e.g. "part-{shard:05d}-of-{total:05d}.jsonl.gz"',
    );
    // {total} alone does not make paths distinct either
    await planError(makeTasks(stageOf(Dataset.fromList([1, 2], { shards: 2 }).writeJsonl("out/of-{total}.jsonl")), IDS, false));
  });

  it("allows a pattern without {shard} for a single shard", async () => {
    const planned = await makeTasks(stageOf(Dataset.fromList([1, 2, 3], { shards: 1 }).writeJsonl("out/all.jsonl")), IDS, false);
    expect(planned.tasks.map((t) => t.outputPath)).toEqual(["out/all.jsonl"]);
  });

  it("rejects {basename} for a list source and unknown placeholders", async () => {
    const a = await planError(makeTasks(stageOf(Dataset.fromList([1], { shards: 1 }).writeJsonl("out/{basename}.jsonl")), IDS, false));
    expect(a.message).toContain("needs a file input");
    const b = await planError(makeTasks(stageOf(Dataset.fromList([1]).writeJsonl("out/{part}.jsonl")), IDS, false));
    expect(b.message).toContain("unknown placeholder {part}");
  });

  it("returns rows to the driver (no output path) when there is no sink", async () => {
    const planned = await makeTasks(stageOf(Dataset.fromList([1, 2])), IDS, true);
    expect(planned.tasks.map((t) => t.outputPath)).toEqual([undefined, undefined]);
    expect(planned.outputDirs).toEqual([]);
  });
});

describe("makeTasks with fromFiles", () => {
  const tmp = useTempDir();

  it("makes one task per file, in path order, with the file's size", async () => {
    const root = tmp.path;
    touch(root, "b.jsonl", "bb");
    touch(root, "a.jsonl", "a");
    touch(root, "sub/c.jsonl", "ccc");
    const planned = await makeTasks(stageOf(Dataset.fromFiles(root, "**/*.jsonl").loadJsonl().writeJsonl(path.join(root, "out/{basename}-{shard}.jsonl"))), IDS, false);
    expect(planned.totalShards).toBe(3);
    expect(planned.tasks.map((t) => t.input)).toEqual([
      { kind: "files", root, files: [{ path: path.join(root, "a.jsonl"), size: 1 }] },
      { kind: "files", root, files: [{ path: path.join(root, "b.jsonl"), size: 2 }] },
      { kind: "files", root, files: [{ path: path.join(root, "sub/c.jsonl"), size: 3 }] },
    ]);
    expect(planned.tasks.map((t) => t.outputPath)).toEqual([path.join(root, "out/a-0.jsonl"), path.join(root, "out/b-1.jsonl"), path.join(root, "out/c-2.jsonl")]);
  });

  it("allows {basename} alone when the basenames differ", async () => {
    const root = tmp.path;
    touch(root, "in/x.jsonl.gz");
    touch(root, "in/y.jsonl.zst");
    const planned = await makeTasks(stageOf(Dataset.fromFiles(path.join(root, "in")).loadJsonl().writeJsonl(path.join(root, "out/{basename}.jsonl"))), IDS, false);
    expect(planned.tasks.map((t) => path.basename(t.outputPath!))).toEqual(["x.jsonl", "y.jsonl"]);
  });

  it("rejects {basename} patterns that give two shards the same file, naming both inputs", async () => {
    const root = tmp.path;
    const a = touch(root, "in/2024/part-1.jsonl");
    const b = touch(root, "in/2025/part-1.jsonl.gz");
    const out = path.join(root, "out/{basename}.jsonl");
    const err = await planError(makeTasks(stageOf(Dataset.fromFiles(path.join(root, "in"), "**/*").loadJsonl().writeJsonl(out)), IDS, false));
    const file = path.join(root, "out/part-1.jsonl");
    expect(err.message).toBe(`output pattern ${JSON.stringify(out)} gives the same file ${file} to shard 0 (${a}) and shard 1 (${b}); add {shard} to the pattern`);
  });

  it("fails with a PlanError when the glob matches nothing, unless allowEmpty", async () => {
    const root = tmp.path;
    touch(root, "a.txt");
    const err = await planError(makeTasks(stageOf(Dataset.fromFiles(root, "*.jsonl").loadJsonl()), IDS, false));
    expect(err.message).toBe(
      `Dataset.fromFiles(${JSON.stringify(root)}, "*.jsonl") matched no files; check the folder and the glob, or pass { allowEmpty: true }`,
    );
    const planned = await makeTasks(stageOf(Dataset.fromFiles(root, "*.jsonl", { allowEmpty: true }).loadJsonl().writeJsonl("out/one.jsonl")), IDS, false);
    expect(planned).toMatchObject({ tasks: [], totalShards: 0, skipped: [] });
  });

  it("fails with an IoError when the root does not exist", async () => {
    const missing = path.join(tmp.path, "missing");
    const e = await makeTasks(stageOf(Dataset.fromFiles(missing).loadText()), IDS, false).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(IoError);
    expect((e as IoError).op).toBe("list");
    expect((e as Error).message).toContain(missing);
  });

  it("skipExisting leaves out shards whose output exists, and lists those outputs", async () => {
    const root = tmp.path;
    for (const n of ["a", "b", "c"]) touch(root, `in/${n}.jsonl`, "{}\n");
    const done = touch(root, "out/b.jsonl", "{}\n");
    const sink = Dataset.fromFiles(path.join(root, "in")).loadJsonl().writeJsonl(path.join(root, "out/{basename}.jsonl"), { skipExisting: true });
    const planned = await makeTasks(stageOf(sink), IDS, false);
    expect(planned.totalShards).toBe(3);
    expect(planned.tasks.map((t) => t.shard)).toEqual([0, 2]);
    expect(planned.tasks.map((t) => t.totalShards)).toEqual([3, 3]);
    expect(planned.skipped).toEqual([{ shard: 1, outputs: [done] }]);
    expect(planned.outputDirs).toEqual([path.join(root, "out")]);
  });

  it("resume skips like skipExisting; without either, existing outputs are rewritten", async () => {
    const root = tmp.path;
    const items = [1, 2, 3, 4];
    const pattern = path.join(root, "out/p-{shard}.jsonl");
    touch(root, "out/p-0.jsonl");
    touch(root, "out/p-3.jsonl");
    const sink = Dataset.fromList(items, { shards: 4 }).writeJsonl(pattern);
    const resumed = await makeTasks(stageOf(sink), IDS, true);
    expect(resumed.tasks.map((t) => t.shard)).toEqual([1, 2]);
    expect(resumed.skipped.map((s) => s.shard)).toEqual([0, 3]);
    const fresh = await makeTasks(stageOf(sink), IDS, false);
    expect(fresh.tasks.map((t) => t.shard)).toEqual([0, 1, 2, 3]);
    expect(fresh.skipped).toEqual([]);
  });

  it("mapFiles skips (by default) inputs whose rebased output exists", async () => {
    const root = tmp.path;
    touch(root, "raw/x/1.html");
    touch(root, "raw/x/2.html");
    const existing = touch(root, "clean/x/2.html");
    const sink = Dataset.fromFiles(path.join(root, "raw"), "**/*.html").mapFiles(() => {}, { outputDir: path.join(root, "clean") });
    const planned = await makeTasks(stageOf(sink), IDS, false);
    expect(planned.tasks.map((t) => (t.input.kind === "files" ? t.input.files[0]!.path : ""))).toEqual([path.join(root, "raw/x/1.html")]);
    expect(planned.skipped).toEqual([{ shard: 1, outputs: [existing] }]);
    const all = await makeTasks(stageOf(Dataset.fromFiles(path.join(root, "raw"), "**/*.html").mapFiles(() => {}, { outputDir: path.join(root, "clean"), skipExisting: false })), IDS, false);
    expect(all.tasks).toHaveLength(2);
  });
});
