import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { context, Dataset, PlanError, run, TaskError, type RunOptions } from "../../../src/index.js";
import { useTempDir } from "../../support/use-temp-dir.js";

// Inside vitest only the inline executor can run: worker threads would import vitest's own
// entry as "the script". Threads are covered by subprocess-based integration tests.
const INLINE: RunOptions = { executor: "inline", progress: "none" };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected the run to fail");
    },
    (e: unknown) => e,
  );
}

describe("run() inline", () => {
  const tmp = useTempDir();

  it("returns the rows in shard order with stats", async () => {
    const ds = Dataset.fromList(Array.from({ length: 100 }, (_, i) => i), { shards: 7 })
      .filter((x) => x % 2 === 0)
      .map((x) => x * 10);
    const r = await run(ds, INLINE);
    expect(r.rows).toEqual(Array.from({ length: 50 }, (_, i) => i * 20));
    expect(r.outputs).toEqual([]);
    expect(r.stats.executor).toBe("inline");
    expect(r.stats.workers).toBe(1);
    expect(r.stats.tasks).toBe(7);
    expect(r.stats.retries).toBe(0);
    expect(r.stats.stages).toHaveLength(1);
    expect(r.stats.stages[0]).toMatchObject({
      id: 0,
      label: "fromList → filter → map → collect",
      shards: 7,
      skippedShards: 0,
      rowsIn: 100,
      rowsOut: 50,
      steps: [
        { step: "fromList", rowsOut: 100 },
        { step: "filter", rowsOut: 50 },
        { step: "map", rowsOut: 50 },
      ],
      malformedLines: 0,
      bytesWritten: 0,
    });
  });

  it("collect() returns the rows", async () => {
    const words = await Dataset.fromList(["a b", "c", "d e f"])
      .flatMap((l) => l.split(" "))
      .collect(INLINE);
    expect(words).toEqual(["a", "b", "c", "d", "e", "f"]);
  });

  it("collect() reads files: text lines across files in path order, take(n) per shard", async () => {
    fs.writeFileSync(path.join(tmp.path, "b.txt"), "b1\nb2\nb3\n");
    fs.writeFileSync(path.join(tmp.path, "a.txt"), "a1\r\na2\r\n");
    expect(await Dataset.fromFiles(tmp.path, "*.txt").loadText().collect(INLINE)).toEqual(["a1", "a2", "b1", "b2", "b3"]);
    expect(await Dataset.fromFiles(tmp.path, "*.txt").loadText().take(1).collect(INLINE)).toEqual(["a1", "b1"]);
  });

  it("writes JSONL shards and lists the outputs in shard order", async () => {
    const out = path.join(tmp.path, "out");
    const r = await run(
      Dataset.fromList([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }], { shards: 3 })
        .map((d) => ({ ...d, sq: d.id * d.id }))
        .writeJsonl(path.join(out, "part-{shard:05d}-of-{total:05d}.jsonl")),
      INLINE,
    );
    expect(r.outputs).toEqual([0, 1, 2].map((s) => path.join(out, `part-0000${s}-of-00003.jsonl`)));
    const text = r.outputs.map((p) => fs.readFileSync(p, "utf8")).join("");
    expect(text).toBe([1, 2, 3, 4, 5].map((id) => `{"id":${id},"sq":${id * id}}\n`).join(""));
    expect(r.stats.stages[0]!.bytesWritten).toBe(Buffer.byteLength(text));
    expect(fs.readdirSync(out).sort()).toEqual(r.outputs.map((p) => path.basename(p)).sort());
  });

  it("sums context().counters over all shards", async () => {
    const r = await run(
      Dataset.fromList(Array.from({ length: 30 }, (_, i) => i), { shards: 4 }).filter((x) => {
        const c = context().counters;
        c.inc("seen");
        if (x % 3 === 0) c.inc("div3");
        c.inc("sum", x);
        c.inc(`shard-${context().shard.index}`);
        return true;
      }),
      INLINE,
    );
    expect(r.counters).toEqual({ seen: 30, div3: 10, sum: 435, "shard-0": 7, "shard-1": 8, "shard-2": 7, "shard-3": 8 });
  });

  it('counts malformed lines skipped with onBadLine "skip" over all files', async () => {
    fs.writeFileSync(path.join(tmp.path, "1.jsonl"), '{"a":1}\nbad\n{"a":2}\n');
    fs.writeFileSync(path.join(tmp.path, "2.jsonl"), "{\n{}\n");
    const r = await run(Dataset.fromFiles(tmp.path, "*.jsonl").loadJsonl({ onBadLine: "skip" }), INLINE);
    expect(r.rows).toEqual([{ a: 1 }, { a: 2 }, {}]);
    expect(r.stats.stages[0]!.malformedLines).toBe(2);
    expect(r.stats.stages[0]!.rowsIn).toBe(3);
  });

  it("resume skips shards whose output exists and still lists them", async () => {
    const out = path.join(tmp.path, "out");
    const sink = Dataset.fromList([1, 2, 3, 4], { shards: 4 }).writeJsonl(path.join(out, "p-{shard}.jsonl"));
    const first = await run(sink, INLINE);
    fs.rmSync(path.join(out, "p-2.jsonl"));
    fs.writeFileSync(path.join(out, "p-0.jsonl"), "kept\n");
    const second = await run(sink, { ...INLINE, resume: true });
    expect(second.outputs).toEqual(first.outputs);
    expect(second.stats.tasks).toBe(1);
    expect(second.stats.stages[0]!.skippedShards).toBe(3);
    expect(fs.readFileSync(path.join(out, "p-2.jsonl"), "utf8")).toBe("3\n");
    expect(fs.readFileSync(path.join(out, "p-0.jsonl"), "utf8")).toBe("kept\n");
  });

  it("rejects what is not a Dataset or Sink, and bad options before running anything", async () => {
    const e1 = await rejection(run({} as never, INLINE));
    expect(e1).toBeInstanceOf(PlanError);
    expect((e1 as Error).message).toBe("run() takes a Dataset or the Sink returned by a write step, got object");
    let calls = 0;
    const ds = Dataset.fromList([1]).map((x) => {
      calls++;
      return x;
    });
    const e2 = await rejection(run(ds, { ...INLINE, workers: 0 }));
    expect(e2).toBeInstanceOf(PlanError);
    expect((e2 as Error).message).toBe("options.workers must be a positive integer, got 0");
    expect(calls).toBe(0);
  });

  it("says the redis executor needs a Redis URL, and checks its form, before running anything", async () => {
    const e = await rejection(run(Dataset.fromList([1]), { executor: "redis", progress: "none" }));
    expect(e).toBeInstanceOf(PlanError);
    expect((e as Error).message).toBe('the redis executor needs a Redis server: pass --redis redis://host:6379 to `sirocco run` (or { redis: "redis://host:6379" } to run())');
    const e2 = await rejection(run(Dataset.fromList([1]), { executor: "redis", redis: "http://localhost:6379", progress: "none" }));
    expect((e2 as Error).message).toBe('options.redis must start with redis:// or rediss:// (redis://[user:pass@]host:port[/db] (or rediss:// for TLS)), got "http://localhost:6379"');
  });
});

describe("run() inline: failures and retries", () => {
  const tmp = useTempDir();

  it("retries shards whose user code failed on the first attempt; stats.retries counts them", async () => {
    const attemptsSeen: Record<number, number[]> = {};
    const r = await run(
      Dataset.fromList(Array.from({ length: 12 }, (_, i) => i), { shards: 6 }).map((x) => {
        const { attempt, shard } = context();
        (attemptsSeen[shard.index] ??= []).push(attempt);
        if (shard.index % 2 === 0 && attempt === 1) throw new Error(`flaky shard ${shard.index}`);
        context().counters.inc("ok");
        return x;
      }),
      INLINE,
    );
    expect(r.rows).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(r.stats.retries).toBe(3);
    // only successful attempts' counters count
    expect(r.counters).toEqual({ ok: 12 });
    expect(attemptsSeen[0]).toEqual([1, 2, 2]);
    expect(attemptsSeen[1]).toEqual([1, 1]);
  });

  it("fails after retries + 1 attempts with a TaskError whose attempt says so", async () => {
    const attempts: number[] = [];
    const ds = Dataset.fromList([1, 2, 3], { shards: 1 }).map((x) => {
      if (x === 2) {
        attempts.push(context().attempt);
        throw new TypeError(`cannot handle ${x}`);
      }
      return x;
    });
    const e = await rejection(run(ds, { ...INLINE, retries: 2 }));
    expect(e).toBeInstanceOf(TaskError);
    const t = e as TaskError;
    expect(attempts).toEqual([1, 2, 3]);
    expect(t.attempt).toBe(3);
    expect(t.retryable).toBe(true);
    expect(t.shard).toBe(0);
    expect(t.cause).toBeInstanceOf(TypeError);
    expect((t.cause as Error).message).toBe("cannot handle 2");
    expect(t.message).toBe("stage 0 (fromList → map → collect; failed in map), shard 1/1, attempt 3: TypeError: cannot handle 2");
  });

  it("with retries: 0 a failing task fails on its first attempt", async () => {
    let calls = 0;
    const e = await rejection(
      run(
        Dataset.fromList([1]).map(() => {
          calls++;
          throw new Error("no");
        }),
        { ...INLINE, retries: 0 },
      ),
    );
    expect((e as TaskError).attempt).toBe(1);
    expect(calls).toBe(1);
  });

  it("does not retry bad input: a malformed line fails the run on the first attempt, naming file and line", async () => {
    const file = path.join(tmp.path, "in.jsonl");
    // the bad line comes after the first 1 MiB read, so rows before it reach map() first
    const good = Array.from({ length: 100_000 }, (_, i) => `{"a":${i + 1}}\n`).join("");
    expect(good.length).toBeGreaterThan(1024 * 1024);
    fs.writeFileSync(file, `${good}{"a":\n`);
    let firstRowSeen = 0;
    const e = await rejection(
      run(
        Dataset.fromFiles(tmp.path, "*.jsonl")
          .loadJsonl<{ a: number }>()
          .map((r) => {
            if (r.a === 1) firstRowSeen++;
            return r;
          }),
        INLINE,
      ),
    );
    expect(e).toBeInstanceOf(TaskError);
    expect((e as TaskError).retryable).toBe(false);
    expect((e as TaskError).attempt).toBe(1);
    expect((e as TaskError).input).toBe(file);
    expect((e as TaskError).line).toBe(100_001);
    expect(firstRowSeen).toBe(1);
  });

  it("a failing writeJsonl run leaves no file at the final paths and no temporary files", async () => {
    const out = path.join(tmp.path, "out");
    const e = await rejection(
      run(
        Dataset.fromList(Array.from({ length: 20 }, (_, i) => i), { shards: 4 })
          .map((x) => {
            if (x === 12) throw new Error("shard 2 fails");
            return { x };
          })
          .writeJsonl(path.join(out, "p-{shard}.jsonl.gz")),
        { ...INLINE, retries: 1 },
      ),
    );
    expect((e as TaskError).shard).toBe(2);
    // shards before the failure were committed; the failing one left nothing behind
    expect(fs.readdirSync(out).sort()).toEqual(["p-0.jsonl.gz", "p-1.jsonl.gz"]);
  });
});
