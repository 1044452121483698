import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { compress as zstdCompress } from "@mongodb-js/zstd";
import { describe, expect, it } from "vitest";
import { deserializeError, InputError, PlanError, TaskError } from "../../../src/core/errors.js";
import { context } from "../../../src/exec/context.js";
import { makeTasks } from "../../../src/exec/make-tasks.js";
import { runTask, runTaskToOutcome } from "../../../src/exec/run-task.js";
import type { TaskResult, TaskSpec } from "../../../src/exec/task-spec.js";
import { compilePlan } from "../../../src/plan/compile-plan.js";
import { Dataset, Sink } from "../../../src/plan/dataset.js";
import type { Stage } from "../../../src/plan/stage.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const IDS = { runId: "0123456789abcdef", runIndex: 1, fingerprint: "0000000000000000" };

async function planned(p: Dataset<unknown> | Sink<unknown>): Promise<{ stage: Stage; tasks: TaskSpec[] }> {
  const stage = compilePlan(p.node).stages[0]!;
  const { tasks } = await makeTasks(stage, IDS, false);
  return { stage, tasks };
}

/** Runs the task through runTaskToOutcome and returns the re-created TaskError of a failure. */
async function taskError(stage: Stage, spec: TaskSpec): Promise<TaskError> {
  const outcome = await runTaskToOutcome(stage, spec);
  if (outcome.ok) throw new Error(`expected the task to fail, it produced ${JSON.stringify(outcome.result.rows ?? outcome.result.outputs).slice(0, 200)}`);
  expect(outcome.infra).toBe(false);
  const err = deserializeError(structuredClone(outcome.error));
  expect(err).toBeInstanceOf(TaskError);
  return err as TaskError;
}

async function ok(stage: Stage, spec: TaskSpec): Promise<TaskResult> {
  const outcome = await runTaskToOutcome(stage, spec);
  if (!outcome.ok) throw deserializeError(outcome.error);
  return outcome.result;
}

function writeJsonl(file: string, lines: string[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

describe("runTask: rows, stats and context", () => {
  const tmp = useTempDir();

  it("runs a fromList slice through fused steps and returns the rows", async () => {
    const { stage, tasks } = await planned(
      Dataset.fromList(Array.from({ length: 10 }, (_, i) => i), { shards: 2 })
        .map((x) => x * 2)
        .filter((x) => x % 4 === 0)
        .flatMap((x) => [x, x + 1]),
    );
    const r0 = await ok(stage, tasks[0]!);
    const r1 = await ok(stage, tasks[1]!);
    expect(r0.rows).toEqual([0, 1, 4, 5, 8, 9]);
    expect(r1.rows).toEqual([12, 13, 16, 17]);
    expect(r0.outputs).toEqual([]);
    expect(r0.stats).toEqual({ rowsIn: 5, stepRowsOut: [5, 5, 3, 6], malformedLines: 0, bytesWritten: 0 });
  });

  it("gives functions the task context: counters, shard and attempt", async () => {
    const { stage, tasks } = await planned(
      Dataset.fromList(["a", "bb", "ccc", "dddd"], { shards: 2 }).map((s) => {
        const ctx = context();
        ctx.counters.inc("rows");
        ctx.counters.inc("chars", s.length);
        return `${s}@${ctx.shard.index}/${ctx.shard.total}#${ctx.attempt}`;
      }),
    );
    const r = await ok(stage, { ...tasks[1]!, attempt: 3 });
    expect(r.rows).toEqual(["ccc@1/2#3", "dddd@1/2#3"]);
    expect(r.counters).toEqual({ rows: 2, chars: 7 });
  });

  it("loads JSONL across read chunks (> 1 MiB) with the right row count and line numbers", async () => {
    const n = 60_000;
    const file = writeJsonl(
      path.join(tmp.path, "big.jsonl"),
      Array.from({ length: n }, (_, i) => JSON.stringify({ i, pad: "p".repeat(20) })),
    );
    expect(fs.statSync(file).size).toBeGreaterThan(2 * 1024 * 1024);
    const { stage, tasks } = await planned(
      Dataset.fromFiles(tmp.path, "*.jsonl")
        .loadJsonl<{ i: number }>()
        .map((r) => r.i),
    );
    const r = await ok(stage, tasks[0]!);
    expect(r.rows).toHaveLength(n);
    expect(r.rows![n - 1]).toBe(n - 1);
    expect((r.rows as number[]).every((v, k) => v === k)).toBe(true);
    expect(r.stats.rowsIn).toBe(n);
  });

  it("loads text with \\r\\n line ends from gzip", async () => {
    const file = path.join(tmp.path, "t.txt.gz");
    fs.writeFileSync(file, zlib.gzipSync(Buffer.from("one\r\ntwo\r\n\r\nthree")));
    const { stage, tasks } = await planned(Dataset.fromFiles(tmp.path, "*.gz").loadText());
    expect((await ok(stage, tasks[0]!)).rows).toEqual(["one", "two", "", "three"]);
  });
});

describe("runTaskToOutcome: failures name file and line", () => {
  const tmp = useTempDir();

  it("a UDF throwing on one row of a JSONL file gives a TaskError with the file, the exact line and the user's error", async () => {
    // 150k lines (several read chunks), blank lines early on so line != row index
    const lines = Array.from({ length: 150_000 }, (_, i) => JSON.stringify({ id: i + 1 }));
    lines.splice(2, 0, "", "   ");
    const file = writeJsonl(path.join(tmp.path, "in", "part-3.jsonl"), lines);
    const badLine = lines.indexOf(JSON.stringify({ id: 123_456 })) + 1;
    expect(badLine).toBe(123_458);
    const { stage, tasks } = await planned(
      Dataset.fromFiles(path.join(tmp.path, "in"), "*.jsonl")
        .loadJsonl<{ id: number }>()
        .filter((r) => r.id > 0)
        .map((r) => {
          if (r.id === 123_456) throw new RangeError(`id ${r.id} is out of range`);
          return r;
        })
        .writeJsonl(path.join(tmp.path, "out", "{basename}.jsonl")),
    );
    const err = await taskError(stage, tasks[0]!);
    expect(err.input).toBe(file);
    expect(err.line).toBe(badLine);
    expect(err.shard).toBe(0);
    expect(err.totalShards).toBe(1);
    expect(err.stage).toBe(0);
    expect(err.attempt).toBe(1);
    expect(err.retryable).toBe(true);
    expect(err.stageLabel).toBe("fromFiles → loadJsonl → filter → map → writeJsonl; failed in map");
    expect(err.cause).toBeInstanceOf(RangeError);
    expect((err.cause as Error).message).toBe("id 123456 is out of range");
    expect((err.cause as Error).stack).toContain("run-task.test.ts");
    expect(err.message).toBe(
      `stage 0 (fromFiles → loadJsonl → filter → map → writeJsonl; failed in map), shard 1/1, input ${file}:${badLine}, attempt 1: RangeError: id 123456 is out of range`,
    );
    // and nothing was written
    expect(fs.readdirSync(path.join(tmp.path, "out"))).toEqual([]);
  });

  it("a malformed JSONL line gives a non-retryable TaskError naming file and line", async () => {
    const file = writeJsonl(path.join(tmp.path, "bad.jsonl"), ['{"a":1}', '{"a":2}', "", '{"a": 3,,}', '{"a":4}']);
    const { stage, tasks } = await planned(Dataset.fromFiles(tmp.path, "*.jsonl").loadJsonl());
    const err = await taskError(stage, tasks[0]!);
    expect(err.retryable).toBe(false);
    expect(err.input).toBe(file);
    expect(err.line).toBe(4);
    expect(err.cause).toBeInstanceOf(InputError);
    expect((err.cause as InputError).file).toBe(file);
    expect((err.cause as InputError).line).toBe(4);
    expect(err.message).toContain(`input ${file}:4`);
    expect(err.message).toContain(`malformed JSON in ${file} line 4`);
    expect(err.message).toContain('use loadJsonl({ onBadLine: "skip" })');
    expect(err.message).toContain('(line starts "{\\"a\\": 3,,}")');
  });

  it("a malformed line inside a .gz file is reported with its line too", async () => {
    const file = path.join(tmp.path, "bad.jsonl.gz");
    fs.writeFileSync(file, zlib.gzipSync(Buffer.from(`${'{"ok":true}\n'.repeat(99)}not json\n`)));
    const { stage, tasks } = await planned(Dataset.fromFiles(tmp.path, "*.gz").loadJsonl());
    const err = await taskError(stage, tasks[0]!);
    expect([err.input, err.line, err.retryable]).toEqual([file, 100, false]);
  });

  it('onBadLine "skip" skips malformed lines and counts them in stats', async () => {
    writeJsonl(path.join(tmp.path, "mixed.jsonl"), ['{"a":1}', "{oops", '{"a":2}', "", "[1,", '{"a":3}']);
    const { stage, tasks } = await planned(Dataset.fromFiles(tmp.path, "*.jsonl").loadJsonl({ onBadLine: "skip" }));
    const r = await ok(stage, tasks[0]!);
    expect(r.rows).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(r.stats.malformedLines).toBe(2);
    expect(r.stats.rowsIn).toBe(3);
  });

  it("a malformed line read through mapShard is still bad input: not retryable, with its line", async () => {
    const file = writeJsonl(path.join(tmp.path, "ms.jsonl"), ['{"a":1}', '{"a":2}', "not json"]);
    const { stage, tasks } = await planned(
      Dataset.fromFiles(tmp.path, "*.jsonl")
        .loadJsonl()
        .mapShard(async function* (rows) {
          for await (const r of rows) yield r;
        }),
    );
    const err = await taskError(stage, tasks[0]!);
    expect(err.input).toBe(file);
    expect(err.message).toContain(`malformed JSON in ${file} line 3`);
    expect(err.retryable).toBe(false);
    expect(err.line).toBe(3);
  });

  it("a corrupt .zst input gives a non-retryable TaskError naming the file", async () => {
    const file = path.join(tmp.path, "broken.jsonl.zst");
    const z = await zstdCompress(Buffer.from('{"a":1}\n'.repeat(10_000)), 3);
    fs.writeFileSync(file, z.subarray(0, z.length - 40));
    const { stage, tasks } = await planned(Dataset.fromFiles(tmp.path, "*.zst").loadJsonl());
    const err = await taskError(stage, tasks[0]!);
    expect(err.input).toBe(file);
    expect(err.cause).toBeInstanceOf(InputError);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`could not decompress ${file} as zstd`);
  });

  it("an error sirocco raises inside a step's function is reported as the cause", async () => {
    const { stage, tasks } = await planned(
      Dataset.fromList([1]).map(() => {
        context().counters.inc("x", Number.NaN);
        return 1;
      }),
    );
    const err = await taskError(stage, tasks[0]!);
    expect(err.stageLabel).toContain("failed in map");
    expect(err.cause).toBeInstanceOf(PlanError);
    expect((err.cause as Error).message).toBe('counters.inc("x", by): by must be a finite number');
  });

  it("runTask itself rejects (the outcome wrapper is what names the task)", async () => {
    const { stage, tasks } = await planned(Dataset.fromList([1]).map(() => {
      throw new Error("raw");
    }));
    await expect(runTask(stage, tasks[0]!)).rejects.toThrow("map failed");
  });
});

describe("writeJsonl sink", () => {
  const tmp = useTempDir();

  it("writes one JSON line per row and commits the file; bytesWritten counts them", async () => {
    const out = path.join(tmp.path, "out", "part-{shard}.jsonl");
    const { stage, tasks } = await planned(Dataset.fromList([{ a: 1 }, { b: "é" }, [1, 2], "s", 3, null], { shards: 1 }).writeJsonl(out));
    const r = await ok(stage, tasks[0]!);
    const final = path.join(tmp.path, "out", "part-0.jsonl");
    const expected = '{"a":1}\n{"b":"é"}\n[1,2]\n"s"\n3\nnull\n';
    expect(r.outputs).toEqual([final]);
    expect(fs.readFileSync(final, "utf8")).toBe(expected);
    expect(r.stats.bytesWritten).toBe(Buffer.byteLength(expected));
    expect(fs.readdirSync(path.dirname(final))).toEqual(["part-0.jsonl"]);
  });

  it("commits against the generation planned by the driver: a duplicate attempt is fine, other bytes are a non-retryable conflict", async () => {
    const out = path.join(tmp.path, "gen", "part-{shard}.jsonl");
    const final = path.join(tmp.path, "gen", "part-0.jsonl");
    const { stage, tasks } = await planned(Dataset.fromList([{ a: 1 }, { a: 2 }], { shards: 1 }).writeJsonl(out));
    expect(tasks[0]!.outputGenerations).toEqual({ [final]: "0" });
    await ok(stage, tasks[0]!);
    // The same task again (a duplicated or retried attempt planned when nothing was there).
    await ok(stage, { ...tasks[0]!, attempt: 2 });
    expect(fs.readFileSync(final, "utf8")).toBe('{"a":1}\n{"a":2}\n');
    fs.writeFileSync(final, "someone else's bytes\n");
    const err = await taskError(stage, { ...tasks[0]!, attempt: 3 });
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`commit conflict at ${final}`);
    expect(fs.readFileSync(final, "utf8")).toBe("someone else's bytes\n");
    expect(fs.readdirSync(path.dirname(final))).toEqual(["part-0.jsonl"]);
    // Planned again, the task records the current generation and replaces the file.
    const again = await planned(Dataset.fromList([{ a: 1 }, { a: 2 }], { shards: 1 }).writeJsonl(out));
    expect(again.tasks[0]!.outputGenerations![final]).not.toBe("0");
    await ok(again.stage, again.tasks[0]!);
    expect(fs.readFileSync(final, "utf8")).toBe('{"a":1}\n{"a":2}\n');
  });

  it("compresses by the output extension (.gz, .zst) and writes an empty shard as an empty file", async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ i }));
    const expected = rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
    for (const ext of ["gz", "zst"]) {
      const { stage, tasks } = await planned(Dataset.fromList(rows, { shards: 1 }).writeJsonl(path.join(tmp.path, `o.jsonl.${ext}`)));
      await ok(stage, tasks[0]!);
      const bytes = fs.readFileSync(path.join(tmp.path, `o.jsonl.${ext}`));
      const text = ext === "gz" ? zlib.gunzipSync(bytes).toString() : (await import("@mongodb-js/zstd")).decompress(bytes).then((b) => b.toString());
      expect(await text).toBe(expected);
    }
    const { stage, tasks } = await planned(Dataset.fromList([1, 2], { shards: 1 }).filter(() => false).writeJsonl(path.join(tmp.path, "empty.jsonl")));
    await ok(stage, tasks[0]!);
    expect(fs.readFileSync(path.join(tmp.path, "empty.jsonl"), "utf8")).toBe("");
  });

  it("a row that is not JSON-serializable fails naming the step and the line", async () => {
    writeJsonl(path.join(tmp.path, "in", "u.jsonl"), ['{"a":1}', '{"a":2}']);
    const { stage, tasks } = await planned(
      Dataset.fromFiles(path.join(tmp.path, "in"))
        .loadJsonl<{ a: number }>()
        .map((r) => (r.a === 2 ? undefined : r))
        .writeJsonl(path.join(tmp.path, "out", "{basename}.jsonl")),
    );
    const err = await taskError(stage, tasks[0]!);
    expect(err.line).toBe(2);
    expect(err.stageLabel).toContain("failed in writeJsonl");
    expect(err.cause).toBeInstanceOf(TypeError);
    expect((err.cause as Error).message).toBe("writeJsonl cannot write undefined as a JSON line (did a map step return nothing?)");
    expect(fs.readdirSync(path.join(tmp.path, "out"))).toEqual([]);
  });

  it("after a task throws midway, nothing is at the final path and no temporary file is left", async () => {
    const out = path.join(tmp.path, "out");
    const rows = Array.from({ length: 50_000 }, (_, i) => ({ i, text: "x".repeat(50) }));
    for (const ext of ["jsonl", "jsonl.gz", "jsonl.zst"]) {
      const { stage, tasks } = await planned(
        Dataset.fromList(rows, { shards: 1 })
          .map((r) => {
            if (r.i === 40_000) throw new Error("late failure");
            return r;
          })
          .writeJsonl(path.join(out, `part.${ext}`)),
      );
      const err = await taskError(stage, tasks[0]!);
      expect((err.cause as Error).message).toBe("late failure");
      expect(fs.existsSync(path.join(out, `part.${ext}`))).toBe(false);
      expect(fs.readdirSync(out), ext).toEqual([]);
    }
  });

  it("a task that throws on its first row leaves no temporary file, every time", async () => {
    // The sink opens its temporary file and the first row fails at once; the abort must not
    // race the file's creation. Repeated because the race is timing-dependent.
    const out = path.join(tmp.path, "out");
    // plain files hit the race most often, so they get most of the attempts
    const exts = ["jsonl", "jsonl", "jsonl", "jsonl.gz", "jsonl.zst"];
    const stages = await Promise.all(
      exts.map((ext) =>
        planned(
          Dataset.fromList([1, 2, 3], { shards: 1 })
            .map((x) => {
              throw new Error(`boom ${x}`);
            })
            .writeJsonl(path.join(out, `first.${ext}`)),
        ),
      ),
    );
    let failures = 0;
    const attempts = 2500;
    for (let k = 0; k < attempts; k++) {
      const { stage, tasks } = stages[k % stages.length]!;
      const outcome = await runTaskToOutcome(stage, { ...tasks[0]!, attempt: k + 1 });
      if (!outcome.ok) failures++;
    }
    expect(failures).toBe(attempts);
    await new Promise((r) => setTimeout(r, 50)); // let any late file creation land
    const left = fs.readdirSync(out);
    expect(left.length, `${left.length} of ${attempts} failed attempts left a temporary file, e.g. ${left.slice(0, 3).join(", ")}`).toBe(0);
  });
});

describe("mapFiles sink", () => {
  const tmp = useTempDir();

  it("calls fn(input, tempOutput) per file and renames the output into place", async () => {
    const raw = path.join(tmp.path, "raw");
    writeJsonl(path.join(raw, "a", "1.txt"), ["hello"]);
    writeJsonl(path.join(raw, "2.txt"), ["world"]);
    const clean = path.join(tmp.path, "clean");
    const sink = Dataset.fromFiles(raw, "**/*.txt").mapFiles((i, o) => fs.promises.writeFile(o, fs.readFileSync(i, "utf8").toUpperCase()), { outputDir: clean });
    const { stage, tasks } = await planned(sink);
    const results = [];
    for (const t of tasks) results.push(await ok(stage, t));
    expect(results.flatMap((r) => r.outputs)).toEqual([path.join(clean, "2.txt"), path.join(clean, "a", "1.txt")]);
    expect(fs.readFileSync(path.join(clean, "a", "1.txt"), "utf8")).toBe("HELLO\n");
    expect(fs.readFileSync(path.join(clean, "2.txt"), "utf8")).toBe("WORLD\n");
  });

  it("a throwing fn leaves nothing at the final path and no temporary file", async () => {
    const raw = path.join(tmp.path, "raw");
    const input = writeJsonl(path.join(raw, "x.txt"), ["x"]);
    const clean = path.join(tmp.path, "clean");
    const sink = Dataset.fromFiles(raw).mapFiles(
      async (_i, o) => {
        await fs.promises.writeFile(o, "partial");
        throw new Error("converter crashed");
      },
      { outputDir: clean },
    );
    const { stage, tasks } = await planned(sink);
    const err = await taskError(stage, tasks[0]!);
    expect(err.input).toBe(input);
    expect(err.stageLabel).toContain("failed in mapFiles");
    expect((err.cause as Error).message).toBe("converter crashed");
    expect(fs.readdirSync(clean)).toEqual([]);
  });

  it("an fn that resolves without writing its output fails with a message saying where to write", async () => {
    const raw = path.join(tmp.path, "raw");
    writeJsonl(path.join(raw, "y.txt"), ["y"]);
    const clean = path.join(tmp.path, "clean");
    const { stage, tasks } = await planned(Dataset.fromFiles(raw).mapFiles(() => {}, { outputDir: clean }));
    const err = await taskError(stage, tasks[0]!);
    expect((err.cause as Error).message).toMatch(/^mapFiles function resolved without writing its outputPath \(.*\.sirocco-tmp-.*y\.txt\); write the output there and sirocco moves it to /);
    expect((err.cause as Error).message).toContain(path.join(clean, "y.txt"));
  });
});
