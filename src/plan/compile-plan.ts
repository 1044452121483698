import { sha256 } from "../core/hash.js";
import { nodeIdentity } from "./describe-node.js";
import { fuseNarrowSteps } from "./fuse-narrow-steps.js";
import { planNodes, type PlanNode } from "./nodes.js";
import type { PhysicalPlan } from "./stage.js";

/** Logical chain → optimized stages, with the plan's fingerprint. Pure and deterministic. */
export function compilePlan(terminal: PlanNode): PhysicalPlan {
  const nodes = planNodes(terminal);
  const at = new Map(nodes.map((n, i) => [n, i]));
  // A join names the position of its right input, so the identities pin down the DAG's shape.
  const identities = nodes.map((n) => (n.kind === "join" ? `${nodeIdentity(n)} right=#${at.get(n.right)}` : nodeIdentity(n)));
  const stages = fuseNarrowSteps(terminal);
  return { stages, identities, fingerprint: sha256(identities.join("\n")).slice(0, 16) };
}

/**
 * Explains why two plans differ: the first node whose identity is not the same, or the
 * difference in length. Used when a worker rebuilds a plan that does not match the driver's.
 */
export function diffIdentities(expected: readonly string[], actual: readonly string[]): string {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    if (expected[i] !== actual[i]) {
      return `step ${i} differs:\n  driver: ${expected[i] ?? "(none)"}\n  worker: ${actual[i] ?? "(none)"}`;
    }
  }
  return "no step differs";
}
