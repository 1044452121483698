import { expect } from "vitest";
import { PlanError } from "../../src/core/errors.js";

/** Runs `fn`, expects it to throw a PlanError, and returns it for assertions on its message. */
export function planError(fn: () => unknown): PlanError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PlanError);
    return e as PlanError;
  }
  throw new Error("expected a PlanError, nothing was thrown");
}
