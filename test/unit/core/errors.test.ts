import { describe, expect, it } from "vitest";
import {
  deserializeError,
  InputError,
  InternalError,
  IoError,
  PlanError,
  ResourceError,
  serializeError,
  SiroccoError,
  TaskError,
  WorkerLostError,
  type SerializedError,
} from "../../../src/core/errors.js";

/** Through structured clone (threads) and JSON (Redis), as errors really travel. */
function viaClone(e: unknown): Error {
  return deserializeError(structuredClone(serializeError(e)));
}
function viaJson(e: unknown): Error {
  return deserializeError(JSON.parse(JSON.stringify(serializeError(e))) as SerializedError);
}

function userError(): TypeError {
  try {
    (null as unknown as { x: number }).x;
  } catch (e) {
    return e as TypeError;
  }
  throw new Error("unreachable");
}

describe("error classes", () => {
  it("form a hierarchy with names set", () => {
    for (const [e, name] of [
      [new PlanError("p"), "PlanError"],
      [new InputError("i"), "InputError"],
      [new IoError("io", { uri: "u", op: "read", retryable: true }), "IoError"],
      [new ResourceError("r"), "ResourceError"],
      [new WorkerLostError("w"), "WorkerLostError"],
      [new InternalError("x"), "InternalError"],
    ] as const) {
      expect(e).toBeInstanceOf(SiroccoError);
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe(name);
      expect(String(e)).toMatch(new RegExp(`^${name}: `));
    }
  });

  it("InternalError asks for a bug report", () => {
    expect(new InternalError("lost a shard").message).toBe("lost a shard (this is a bug in sirocco; please report it)");
  });

  it("TaskError describes stage, shard (1-based), input:line, attempt and the cause", () => {
    const cause = new RangeError("index 9 out of range");
    const e = new TaskError({ stage: 0, stageLabel: "fromFiles → map", shard: 2, totalShards: 5, input: "in/a.jsonl", line: 42, attempt: 2, retryable: true }, { cause });
    expect(e.message).toBe("stage 0 (fromFiles → map), shard 3/5, input in/a.jsonl:42, attempt 2: RangeError: index 9 out of range");
    expect(e.cause).toBe(cause);
    const bare = new TaskError({ stage: 1, shard: 0, totalShards: 1, attempt: 1, retryable: false }, { cause: "a string" });
    expect(bare.message).toBe("stage 1, shard 1/1, attempt 1: a string");
  });
});

describe("serializeError / deserializeError", () => {
  it("keeps a TaskError's class, fields, message, stack and a user TypeError as cause", () => {
    const cause = userError();
    const e = new TaskError(
      { stage: 0, stageLabel: "fromFiles → loadJsonl → map → writeJsonl", shard: 4, totalShards: 10, input: "/data/in/p-4.jsonl.gz", line: 1234, attempt: 3, retryable: true },
      { cause },
    );
    for (const back of [viaClone(e), viaJson(e)]) {
      expect(back).toBeInstanceOf(TaskError);
      expect(back).toBeInstanceOf(SiroccoError);
      expect(back).toBeInstanceOf(Error);
      const t = back as TaskError;
      expect(t.name).toBe("TaskError");
      expect(t.message).toBe(e.message);
      expect(t.stack).toBe(e.stack);
      expect({ stage: t.stage, stageLabel: t.stageLabel, shard: t.shard, totalShards: t.totalShards, input: t.input, line: t.line, attempt: t.attempt, retryable: t.retryable }).toEqual({
        stage: 0,
        stageLabel: "fromFiles → loadJsonl → map → writeJsonl",
        shard: 4,
        totalShards: 10,
        input: "/data/in/p-4.jsonl.gz",
        line: 1234,
        attempt: 3,
        retryable: true,
      });
      expect(t.cause).toBeInstanceOf(TypeError);
      expect((t.cause as TypeError).name).toBe("TypeError");
      expect((t.cause as TypeError).message).toBe(cause.message);
      expect((t.cause as TypeError).stack).toBe(cause.stack);
      expect(String(t.cause)).toBe(String(cause));
    }
  });

  it("keeps InputError's file and line", () => {
    const back = viaJson(new InputError("malformed JSON in a.jsonl line 3", { file: "a.jsonl", line: 3 }));
    expect(back).toBeInstanceOf(InputError);
    expect((back as InputError).file).toBe("a.jsonl");
    expect((back as InputError).line).toBe(3);
    expect(back.message).toBe("malformed JSON in a.jsonl line 3");
  });

  it("keeps IoError's uri, op and retryable, and its cause's code", () => {
    const cause = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT", errno: -2 });
    const back = viaClone(new IoError("input root /x does not exist", { uri: "/x", op: "list", retryable: false }, { cause }));
    expect(back).toBeInstanceOf(IoError);
    const io = back as IoError;
    expect([io.uri, io.op, io.retryable]).toEqual(["/x", "list", false]);
    expect(io.cause).toBeInstanceOf(Error);
    expect((io.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
    expect((io.cause as NodeJS.ErrnoException).errno).toBe(-2);
  });

  it("keeps a long cause chain in order and the class of each link", () => {
    const e = new TaskError({ stage: 0, shard: 0, totalShards: 1, attempt: 1, retryable: false }, { cause: new PlanError("outer", { cause: new SyntaxError("inner") }) });
    const back = viaJson(e);
    expect(back).toBeInstanceOf(TaskError);
    expect(back.cause).toBeInstanceOf(PlanError);
    expect((back.cause as Error).message).toBe("outer");
    expect((back.cause as Error).cause).toBeInstanceOf(SyntaxError);
    expect(((back.cause as Error).cause as Error).message).toBe("inner");
  });

  it("survives two hops (worker → driver → another process)", () => {
    const e = new IoError("could not commit out.jsonl", { uri: "out.jsonl", op: "commit", retryable: true }, { cause: new RangeError("r") });
    const twice = viaJson(viaClone(e));
    expect(twice).toBeInstanceOf(IoError);
    expect((twice as IoError).op).toBe("commit");
    expect((twice as IoError).retryable).toBe(true);
    expect(twice.message).toBe(e.message);
    expect(twice.stack).toBe(e.stack);
    expect(twice.cause).toBeInstanceOf(RangeError);
  });

  it("re-creates a user's own error class as an Error that keeps its name and fields", () => {
    class QuotaError extends Error {
      override name = "QuotaError";
      constructor(readonly limit: number) {
        super(`over quota ${limit}`);
      }
    }
    const back = viaJson(new QuotaError(5));
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe("QuotaError");
    expect(back.message).toBe("over quota 5");
    expect((back as unknown as { limit: number }).limit).toBe(5);
  });

  it("turns thrown non-errors into plain data", () => {
    expect(serializeError("just a string")).toEqual({ name: "Error", message: "just a string" });
    expect(serializeError({ code: 7 })).toEqual({ name: "Error", message: '{"code":7}' });
    expect(serializeError(42)).toEqual({ name: "Error", message: "42" });
    const back = deserializeError(serializeError(undefined));
    expect(back).toBeInstanceOf(Error);
    expect(back.message).toBe("undefined");
  });

  it("stringifies fields that cannot be cloned and drops functions", () => {
    const e = Object.assign(new Error("with fields"), { handler: () => 1, sym: Symbol("s"), ok: [1, 2] });
    const s = serializeError(e);
    expect(s.fields).toEqual({ sym: "Symbol(s)", ok: [1, 2] });
    expect(() => structuredClone(s)).not.toThrow();
  });

  it("stops a cyclic cause chain", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    const s = serializeError(a);
    let depth = 0;
    for (let cur: SerializedError | undefined = s; cur; cur = cur.cause) depth++;
    expect(depth).toBeGreaterThan(2);
    expect(depth).toBeLessThanOrEqual(20);
    expect(() => JSON.stringify(s)).not.toThrow();
  });
});
