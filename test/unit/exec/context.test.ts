import { describe, expect, it } from "vitest";
import { PlanError } from "../../../src/core/errors.js";
import { context, Counters, withTaskContext, type TaskContext } from "../../../src/exec/context.js";

describe("Counters", () => {
  it("adds to named counters, 1 by default, and serializes them", () => {
    const c = new Counters();
    c.inc("a");
    c.inc("a");
    c.inc("b", 2.5);
    c.inc("c", -1);
    expect([c.get("a"), c.get("b"), c.get("c"), c.get("missing")]).toEqual([2, 2.5, -1, 0]);
    expect(c.toJSON()).toEqual({ a: 2, b: 2.5, c: -1 });
  });

  it("rejects non-finite increments with a PlanError naming the counter", () => {
    const c = new Counters();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, "3" as unknown as number]) {
      expect(() => c.inc("rows", bad)).toThrow(PlanError);
      expect(() => c.inc("rows", bad)).toThrow('counters.inc("rows", by): by must be a finite number');
    }
    expect(c.toJSON()).toEqual({});
  });

  it("merges one task's counters into a total", () => {
    const total: Record<string, number> = { a: 1 };
    Counters.merge(total, { a: 2, b: 3 });
    Counters.merge(total, { b: 4 });
    expect(total).toEqual({ a: 3, b: 7 });
  });
});

describe("context()", () => {
  it("is a PlanError outside a task", () => {
    expect(() => context()).toThrow(PlanError);
    expect(() => context()).toThrow("context() is only available inside a step's function while a task runs");
  });

  it("is the task's context inside withTaskContext, across awaits, and per task", async () => {
    const mk = (index: number): TaskContext => ({ counters: new Counters(), shard: { index, total: 2, stage: 0 }, attempt: 1 });
    const a = mk(0);
    const b = mk(1);
    const seen = await Promise.all([
      withTaskContext(a, async () => {
        await new Promise((r) => setTimeout(r, 5));
        context().counters.inc("x");
        return context().shard.index;
      }),
      withTaskContext(b, async () => {
        context().counters.inc("x", 10);
        await new Promise((r) => setTimeout(r, 1));
        return context().shard.index;
      }),
    ]);
    expect(seen).toEqual([0, 1]);
    expect(a.counters.toJSON()).toEqual({ x: 1 });
    expect(b.counters.toJSON()).toEqual({ x: 10 });
    expect(() => context()).toThrow(PlanError);
  });
});
