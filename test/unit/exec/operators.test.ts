import { describe, expect, it } from "vitest";
import type { ShardInfo } from "../../../src/core/types.js";
import { CHUNK_ROWS, StepFailure, type Chunk } from "../../../src/exec/operators/chunk.js";
import { filterStep } from "../../../src/exec/operators/filter.js";
import { flatMapStep } from "../../../src/exec/operators/flat-map.js";
import { mapShardStep } from "../../../src/exec/operators/map-shard.js";
import { mapStep } from "../../../src/exec/operators/map.js";
import { takeStep } from "../../../src/exec/operators/take.js";
import { windowStep } from "../../../src/exec/operators/window.js";

/** A source of chunks that records how many it produced and whether it was closed. */
function source(chunks: Chunk[]): AsyncIterable<Chunk> & { produced: number; closed: boolean } {
  const s = {
    produced: 0,
    closed: false,
    async *[Symbol.asyncIterator](): AsyncGenerator<Chunk> {
      try {
        for (const c of chunks) {
          s.produced++;
          yield c;
        }
      } finally {
        s.closed = true;
      }
    },
  };
  return s;
}

/** Chunks of consecutive integers starting at 0, with line numbers starting at `firstLine`. */
function numbered(sizes: number[], file = "in/a.jsonl", firstLine = 1): Chunk[] {
  let next = 0;
  return sizes.map((n) => {
    const rows = Array.from({ length: n }, () => next++);
    return { rows, lines: rows.map((r) => r + firstLine), file };
  });
}

async function drain(it: AsyncIterable<Chunk>): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

const rowsOf = (cs: Chunk[]) => cs.flatMap((c) => c.rows);
const linesOf = (cs: Chunk[]) => cs.flatMap((c) => c.lines ?? []);

async function stepFailure(it: AsyncIterable<Chunk>): Promise<StepFailure> {
  try {
    await drain(it);
  } catch (e) {
    expect(e).toBeInstanceOf(StepFailure);
    return e as StepFailure;
  }
  throw new Error("expected a StepFailure, the step finished");
}

describe("mapStep", () => {
  it("maps with a sync function, keeping chunking, line numbers and file", async () => {
    const out = await drain(mapStep(source(numbered([3, 2])), (x) => (x as number) * 10, "map"));
    expect(out).toEqual([
      { rows: [0, 10, 20], lines: [1, 2, 3], file: "in/a.jsonl" },
      { rows: [30, 40], lines: [4, 5], file: "in/a.jsonl" },
    ]);
  });

  it("awaits an async function and keeps row order", async () => {
    const out = await drain(
      mapStep(
        source(numbered([4])),
        async (x) => {
          await new Promise((r) => setTimeout(r, 4 - (x as number)));
          return `v${x as number}`;
        },
        "map",
      ),
    );
    expect(rowsOf(out)).toEqual(["v0", "v1", "v2", "v3"]);
    expect(linesOf(out)).toEqual([1, 2, 3, 4]);
  });

  it("wraps a throw (sync or async) in StepFailure with step, file and the row's line", async () => {
    const boom = new RangeError("bad row 3");
    const f1 = await stepFailure(
      mapStep(source(numbered([2, 3], "in/x.jsonl", 100)), (x) => {
        if (x === 3) throw boom;
        return x;
      }, "map"),
    );
    expect([f1.step, f1.file, f1.line, f1.cause]).toEqual(["map", "in/x.jsonl", 103, boom]);
    const f2 = await stepFailure(
      mapStep(source(numbered([5])), async (x) => {
        if (x === 4) throw new Error("async boom");
        return x;
      }, "map"),
    );
    expect(f2.line).toBe(5);
    expect((f2.cause as Error).message).toBe("async boom");
  });

  it("works on chunks without line numbers", async () => {
    const out = await drain(mapStep(source([{ rows: ["a", "b"] }]), (s) => (s as string).toUpperCase(), "map"));
    expect(out).toEqual([{ rows: ["A", "B"], lines: undefined, file: undefined }]);
  });
});

describe("filterStep", () => {
  it("keeps matching rows with their own line numbers", async () => {
    const out = await drain(filterStep(source(numbered([4, 4], "f.jsonl", 10)), (x) => (x as number) % 3 === 0, "filter"));
    expect(rowsOf(out)).toEqual([0, 3, 6]);
    expect(linesOf(out)).toEqual([10, 13, 16]);
    for (const c of out) expect(c.lines).toHaveLength(c.rows.length);
  });

  it("awaits async predicates and treats truthy values as keep", async () => {
    const out = await drain(filterStep(source(numbered([5])), async (x) => ((x as number) > 2 ? "yes" : 0), "filter"));
    expect(rowsOf(out)).toEqual([3, 4]);
    expect(linesOf(out)).toEqual([4, 5]);
  });

  it("drops chunks that become empty", async () => {
    const out = await drain(filterStep(source(numbered([2, 2, 2])), (x) => x === 5, "filter"));
    expect(out).toEqual([{ rows: [5], lines: [6], file: "in/a.jsonl" }]);
  });

  it("names the row's line when the predicate throws", async () => {
    const f = await stepFailure(
      filterStep(source(numbered([3, 3], "g.jsonl", 1)), (x) => {
        if (x === 4) throw new TypeError("cannot judge 4");
        return true;
      }, "filter"),
    );
    expect([f.step, f.file, f.line]).toEqual(["filter", "g.jsonl", 5]);
    expect(f.cause).toBeInstanceOf(TypeError);
    expect((f.cause as Error).message).toBe("cannot judge 4");
  });
});

describe("flatMapStep", () => {
  it("flattens arrays and repeats each row's line number for its outputs", async () => {
    const out = await drain(flatMapStep(source(numbered([3], "h.jsonl", 7)), (x) => Array.from({ length: x as number }, () => x), "flatMap"));
    expect(rowsOf(out)).toEqual([1, 2, 2]);
    expect(linesOf(out)).toEqual([8, 9, 9]);
  });

  it("flattens generators, async generators, Sets and promises of arrays", async () => {
    const gen = await drain(
      flatMapStep(source(numbered([2])), function* (x) {
        yield `${x as number}a`;
        yield `${x as number}b`;
      }, "flatMap"),
    );
    expect(rowsOf(gen)).toEqual(["0a", "0b", "1a", "1b"]);
    expect(linesOf(gen)).toEqual([1, 1, 2, 2]);

    const agen = await drain(
      flatMapStep(source(numbered([2])), async function* (x) {
        await Promise.resolve();
        yield x;
        yield (x as number) + 100;
      }, "flatMap"),
    );
    expect(rowsOf(agen)).toEqual([0, 100, 1, 101]);
    expect(linesOf(agen)).toEqual([1, 1, 2, 2]);

    const set = await drain(flatMapStep(source(numbered([1])), () => new Set(["p", "q"]), "flatMap"));
    expect(rowsOf(set)).toEqual(["p", "q"]);

    const prom = await drain(flatMapStep(source(numbered([2])), async (x) => [x, x], "flatMap"));
    expect(rowsOf(prom)).toEqual([0, 0, 1, 1]);
  });

  it("drops rows mapped to an empty array", async () => {
    const out = await drain(flatMapStep(source(numbered([4])), (x) => ((x as number) % 2 ? [x] : []), "flatMap"));
    expect(rowsOf(out)).toEqual([1, 3]);
    expect(linesOf(out)).toEqual([2, 4]);
  });

  it("rejects a non-iterable return with a TypeError wrapped in StepFailure naming the line", async () => {
    for (const [bad, what] of [
      [42, "number"],
      [null, "null"],
      [undefined, "undefined"],
      [{ a: 1 }, "object"],
    ] as const) {
      const f = await stepFailure(flatMapStep(source(numbered([3], "k.jsonl", 20)), (x) => (x === 2 ? bad : [x]), "flatMap"));
      expect(f.step).toBe("flatMap");
      expect(f.file).toBe("k.jsonl");
      expect(f.line).toBe(22);
      expect(f.cause).toBeInstanceOf(TypeError);
      expect((f.cause as TypeError).message).toBe(`flatMap function must return an iterable or async iterable, got ${what}`);
    }
  });

  it("wraps a throw inside an async generator with the line of the row that produced it", async () => {
    const f = await stepFailure(
      flatMapStep(source(numbered([2, 2], "m.jsonl", 1)), async function* (x) {
        yield x;
        if (x === 3) throw new Error("gen failed");
      }, "flatMap"),
    );
    expect(f.line).toBe(4);
    expect((f.cause as Error).message).toBe("gen failed");
  });

  it("re-chunks one row exploding through an async generator into chunks of CHUNK_ROWS", async () => {
    const n = CHUNK_ROWS * 3 + 5;
    const out = await drain(
      flatMapStep(source([{ rows: ["x"], lines: [9], file: "z" }]), async function* () {
        for (let i = 0; i < n; i++) yield i;
      }, "flatMap"),
    );
    expect(out.map((c) => c.rows.length)).toEqual([CHUNK_ROWS, CHUNK_ROWS, CHUNK_ROWS, 5]);
    expect(rowsOf(out)).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const c of out) expect(c.lines).toEqual(new Array(c.rows.length).fill(9));
  });

  it("streams one row exploding through an async generator: take() stops the generator early", async () => {
    let pulled = 0;
    const out = await drain(
      takeStep(
        flatMapStep(source([{ rows: ["x"] }]), async function* () {
          for (let i = 0; i < 1_000_000; i++) {
            pulled++;
            yield i;
          }
        }, "flatMap"),
        10,
      ),
    );
    expect(rowsOf(out)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pulled).toBeLessThanOrEqual(CHUNK_ROWS + 1);
  });

  it("streams one row exploding through a sync generator: take() stops the generator early", async () => {
    // The step's doc: "Output is re-chunked so one row exploding into millions stays streaming."
    let pulled = 0;
    const out = await drain(
      takeStep(
        flatMapStep(source([{ rows: ["x"] }]), function* () {
          for (let i = 0; i < 200_000; i++) {
            pulled++;
            yield i;
          }
        }, "flatMap"),
        10,
      ),
    );
    expect(rowsOf(out)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pulled).toBeLessThanOrEqual(CHUNK_ROWS + 1);
  });
});

describe("takeStep", () => {
  it("stops pulling upstream once it has n rows, and closes the upstream", async () => {
    const src = source(numbered([3, 3, 3, 3, 3, 3, 3, 3, 3, 3]));
    const out = await drain(takeStep(src, 5));
    expect(rowsOf(out)).toEqual([0, 1, 2, 3, 4]);
    expect(linesOf(out)).toEqual([1, 2, 3, 4, 5]);
    expect(src.produced).toBe(2);
    expect(src.closed).toBe(true);
  });

  it("does not pull another chunk when a chunk ends exactly at n", async () => {
    const src = source(numbered([3, 3, 3, 3]));
    const out = await drain(takeStep(src, 6));
    expect(rowsOf(out)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(src.produced).toBe(2);
  });

  it("take(0) pulls nothing", async () => {
    const src = source(numbered([3, 3]));
    expect(await drain(takeStep(src, 0))).toEqual([]);
    expect(src.produced).toBe(0);
  });

  it("passes everything through when n exceeds the rows", async () => {
    const src = source(numbered([2, 2]));
    expect(rowsOf(await drain(takeStep(src, 100)))).toEqual([0, 1, 2, 3]);
    expect(src.produced).toBe(2);
  });

  it("stops a map step upstream too (only its rows are mapped)", async () => {
    const src = source(numbered([4, 4, 4, 4]));
    let mapped = 0;
    const out = await drain(
      takeStep(
        mapStep(src, (x) => {
          mapped++;
          return x;
        }, "map"),
        5,
      ),
    );
    expect(rowsOf(out)).toHaveLength(5);
    expect(mapped).toBe(8);
    expect(src.produced).toBe(2);
  });
});

describe("windowStep", () => {
  it("groups rows into windows of n across chunk boundaries, the last one partial", async () => {
    const out = await drain(windowStep(source(numbered([3, 2, 2], "w.jsonl", 1)), 3));
    expect(rowsOf(out)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6],
    ]);
    // each window carries the line of its first row
    expect(linesOf(out)).toEqual([1, 4, 7]);
    for (const c of out) expect(c.file).toBe("w.jsonl");
  });

  it("emits no partial window when rows divide evenly", async () => {
    const out = await drain(windowStep(source(numbered([4, 4])), 2));
    expect(rowsOf(out)).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
  });

  it("window(1) wraps every row; an empty input gives nothing", async () => {
    expect(rowsOf(await drain(windowStep(source(numbered([3])), 1)))).toEqual([[0], [1], [2]]);
    expect(await drain(windowStep(source([]), 5))).toEqual([]);
  });

  it("a window larger than the input gives one partial window", async () => {
    const out = await drain(windowStep(source([{ rows: ["a", "b"] }]), 10));
    expect(out).toEqual([{ rows: [["a", "b"]], lines: undefined, file: undefined }]);
  });
});

describe("mapShardStep", () => {
  const shard: ShardInfo = { index: 2, total: 5, stage: 0, input: "in/p-2.jsonl" };

  it("gives the function all rows of the shard as one stream, and the ShardInfo", async () => {
    let seen: ShardInfo | undefined;
    const out = await drain(
      mapShardStep(
        source(numbered([3, 3], "in/p-2.jsonl")),
        async function* (rows, info) {
          seen = info;
          let sum = 0;
          let i = 0;
          for await (const r of rows) {
            sum += r as number;
            yield { i: i++, r, shard: info.index };
          }
          yield { sum };
        },
        shard,
        "mapShard",
      ),
    );
    expect(seen).toEqual(shard);
    expect(rowsOf(out)).toEqual([
      { i: 0, r: 0, shard: 2 },
      { i: 1, r: 1, shard: 2 },
      { i: 2, r: 2, shard: 2 },
      { i: 3, r: 3, shard: 2 },
      { i: 4, r: 4, shard: 2 },
      { i: 5, r: 5, shard: 2 },
      { sum: 15 },
    ]);
    expect(out.every((c) => c.file === "in/p-2.jsonl")).toBe(true);
  });

  it("accepts a sync iterable and re-chunks large outputs", async () => {
    const out = await drain(mapShardStep(source(numbered([1])), () => Array.from({ length: CHUNK_ROWS + 10 }, (_, i) => i), shard, "mapShard"));
    expect(out.map((c) => c.rows.length)).toEqual([CHUNK_ROWS, 10]);
  });

  it("wraps a non-iterable return in a TypeError StepFailure", async () => {
    const f = await stepFailure(mapShardStep(source(numbered([1])), (() => 5) as never, shard, "mapShard"));
    expect(f.step).toBe("mapShard");
    expect(f.cause).toBeInstanceOf(TypeError);
    expect((f.cause as Error).message).toBe("mapShard function must return an iterable or async iterable (e.g. an async generator), got number");
  });

  it("wraps a throw from the user's generator, naming the file", async () => {
    const f = await stepFailure(
      mapShardStep(
        source(numbered([2], "in/q.jsonl")),
        async function* (rows) {
          for await (const r of rows) {
            if (r === 1) throw new Error("shard fn failed");
            yield r;
          }
        },
        shard,
        "mapShard",
      ),
    );
    expect(f.file).toBe("in/q.jsonl");
    expect((f.cause as Error).message).toBe("shard fn failed");
  });

  it("passes a StepFailure from an upstream step through unchanged (keeping its line)", async () => {
    const upstream = mapStep(source(numbered([3], "in/r.jsonl", 40)), (x) => {
      if (x === 2) throw new Error("upstream map failed");
      return x;
    }, "map");
    const f = await stepFailure(
      mapShardStep(
        upstream,
        async function* (rows) {
          for await (const r of rows) yield r;
        },
        shard,
        "mapShard",
      ),
    );
    expect(f.step).toBe("map");
    expect(f.line).toBe(42);
  });
});
