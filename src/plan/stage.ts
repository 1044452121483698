import type { NarrowNode, SinkNode, SourceNode } from "./nodes.js";

/**
 * A physical stage: one streaming pass per shard from a source through fused narrow steps
 * into a sink (or back to the driver when there is no sink). Stages end at shuffles and sinks.
 */
export interface Stage {
  readonly id: number;
  readonly source: SourceNode;
  readonly ops: readonly NarrowNode[];
  readonly sink?: SinkNode;
  /** e.g. `fromFiles → loadJsonl → map → filter → writeJsonl` */
  readonly label: string;
}

/** What `run()` executes: the stages in order, and the identity of the plan. */
export interface PhysicalPlan {
  readonly stages: readonly Stage[];
  /** Hash of every node's identity; workers check theirs against the driver's. */
  readonly fingerprint: string;
  /** Identity string of each logical node, source first (for mismatch reports). */
  readonly identities: readonly string[];
}
