import { describe, expect, it } from "vitest";
import { checkPolicyOptions, desiredWorkers, type ScalePolicyOptions } from "../../../src/autoscale/policy.js";

const P: ScalePolicyOptions = { minWorkers: 0, maxWorkers: 8, tasksPerWorker: 1, targetDrainMs: 30_000, scaleUpCooldownMs: 2_000, scaleDownCooldownMs: 30_000 };
const LONG_AGO = { nowMs: 1_000_000 };

describe("desiredWorkers (the one autoscaling policy)", () => {
  it("asks for one slot per outstanding task while no duration is known, within max", () => {
    expect(desiredWorkers({ backlog: 3, inFlight: 0, recentTaskMs: [] }, { current: 0, ...LONG_AGO }, P)).toEqual({ desired: 3, target: 3, reason: "3 tasks, durations unknown yet" });
    expect(desiredWorkers({ backlog: 100, inFlight: 0, recentTaskMs: [] }, { current: 0, ...LONG_AGO }, P).desired).toBe(8);
  });

  it("sizes from the median task duration: enough slots to drain the work within targetDrainMs", () => {
    // 42 tasks × 1500 ms = 63 s of work; 30 s target → 3 workers
    const d = desiredWorkers({ backlog: 40, inFlight: 2, recentTaskMs: [1500, 100, 90_000] }, { current: 2, ...LONG_AGO }, P);
    expect(d).toEqual({ desired: 3, target: 3, reason: "42 tasks × 1500 ms within 30000 ms" });
    // short tasks: one worker drains them in time
    expect(desiredWorkers({ backlog: 10, inFlight: 0, recentTaskMs: [50, 60] }, { current: 0, ...LONG_AGO }, P).desired).toBe(1);
  });

  it("counts concurrency: tasksPerWorker slots per worker", () => {
    expect(desiredWorkers({ backlog: 10, inFlight: 6, recentTaskMs: [] }, { current: 0, ...LONG_AGO }, { ...P, tasksPerWorker: 4 }).desired).toBe(4);
  });

  it("never goes below the workers busy with tasks in flight, nor below min; scales to min when empty", () => {
    expect(desiredWorkers({ backlog: 0, inFlight: 5, recentTaskMs: [10] }, { current: 6, ...LONG_AGO }, P).desired).toBe(5);
    expect(desiredWorkers({ backlog: 0, inFlight: 0, recentTaskMs: [10] }, { current: 6, ...LONG_AGO }, { ...P, minWorkers: 2 })).toEqual({ desired: 2, target: 2, reason: "queue empty" });
    expect(desiredWorkers({ backlog: 0, inFlight: 0, recentTaskMs: [] }, { current: 0, ...LONG_AGO }, P).desired).toBe(0);
  });

  it("holds during cool-downs: growth 2 s after any change, shrinking 30 s after any change", () => {
    const q = { backlog: 6, inFlight: 0, recentTaskMs: [] };
    expect(desiredWorkers(q, { current: 2, nowMs: 10_000, lastScaleUpMs: 9_000 }, P)).toEqual({ desired: 2, target: 6, reason: "6 tasks, durations unknown yet; scale-up cool-down" });
    expect(desiredWorkers(q, { current: 2, nowMs: 11_000, lastScaleUpMs: 9_000 }, P).desired).toBe(6);
    const idle = { backlog: 0, inFlight: 0, recentTaskMs: [100] };
    expect(desiredWorkers(idle, { current: 6, nowMs: 30_000, lastScaleUpMs: 11_000 }, P)).toMatchObject({ desired: 6, target: 0, reason: "queue empty; scale-down cool-down" });
    expect(desiredWorkers(idle, { current: 6, nowMs: 41_000, lastScaleUpMs: 11_000 }, P).desired).toBe(0);
    // a recent scale-down also delays the next one
    expect(desiredWorkers(idle, { current: 3, nowMs: 50_000, lastScaleUpMs: 0, lastScaleDownMs: 41_000 }, P).desired).toBe(3);
  });

  it("rejects bad options naming them", () => {
    expect(() => checkPolicyOptions({ minWorkers: 3, maxWorkers: 2 })).toThrow("autoscale minWorkers (3) must not exceed maxWorkers (2)");
    expect(() => checkPolicyOptions({ minWorkers: 0, maxWorkers: 0 })).toThrow("autoscale maxWorkers must be an integer >= 1, got 0");
    expect(() => checkPolicyOptions({ minWorkers: 0, maxWorkers: 2, targetDrainMs: -1 })).toThrow("autoscale targetDrainMs must be an integer >= 0, got -1");
  });
});
