import type { NarrowNode, SinkNode, SourceNode, WideNode } from "./nodes.js";

/**
 * The source of a stage that reads a shuffle: partition p of the map outputs of `inputs`
 * (stage ids; two for a join: left, right), reduced as `node` says.
 */
export interface ShuffleSource {
  readonly kind: "shuffleRead";
  readonly node: WideNode;
  readonly inputs: readonly number[];
}

/** A stage that ends in a shuffle write: its rows are hash-partitioned for `node`, as input `side`. */
export interface ShuffleEnd {
  readonly node: WideNode;
  /** 0, or 1 for the right side of a join. */
  readonly side: number;
}

/**
 * A physical stage: one streaming pass per shard from a source (input files or a list, or
 * one partition of a shuffle) through fused narrow steps into a sink, a shuffle write, or
 * back to the driver. Stages end at shuffles and sinks; `id` is the stage's index in
 * `PhysicalPlan.stages`, and every stage comes after the stages it reads.
 */
export interface Stage {
  readonly id: number;
  readonly source: SourceNode | ShuffleSource;
  readonly ops: readonly NarrowNode[];
  readonly sink?: SinkNode;
  readonly shuffle?: ShuffleEnd;
  /** e.g. `fromFiles → loadJsonl → map → filter → writeJsonl` */
  readonly label: string;
}

/** What `run()` executes: the stages in dependency order, and the identity of the plan. */
export interface PhysicalPlan {
  readonly stages: readonly Stage[];
  /** Hash of every node's identity; workers check theirs against the driver's. */
  readonly fingerprint: string;
  /** Identity string of each logical node, source first (for mismatch reports). */
  readonly identities: readonly string[];
}

/** The user-facing name of a stage's source (`fromFiles`, `fromList`, `groupBy`, …). */
export function sourceName(s: Stage["source"]): string {
  return s.kind === "shuffleRead" ? s.node.kind : s.kind;
}
