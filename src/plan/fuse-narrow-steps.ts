import { PlanError } from "../core/errors.js";
import { isNarrow, loadStepName, isSink, isSource, type NarrowNode, type PlanNode, type SinkNode } from "./nodes.js";
import type { Stage } from "./stage.js";

/**
 * Optimizer rule: consecutive narrow steps (load, map, flatMap, filter, mapShard, window,
 * take) fuse into the stage of their source, so each shard is read, transformed and written
 * in one streaming pass with no materialization in between. A stage ends at a sink (or, in
 * later issues, at a shuffle).
 */
export function fuseNarrowSteps(chain: readonly PlanNode[]): Stage[] {
  const [source, ...rest] = chain;
  if (!source || !isSource(source)) throw new PlanError("a pipeline must start with Dataset.fromList or Dataset.fromFiles");
  const ops: NarrowNode[] = [];
  let sink: SinkNode | undefined;
  for (const node of rest) {
    if (sink) throw new PlanError(`nothing can follow the sink ${sink.kind}; found ${node.kind} after it`);
    if (isNarrow(node)) ops.push(node);
    else if (isSink(node)) sink = node;
    else throw new PlanError(`unexpected ${node.kind} in the middle of a pipeline`);
  }
  const names = [source.kind, ...ops.map(opName), ...(sink ? [sink.kind] : ["collect"])];
  return [{ id: 0, source, ops, sink, label: names.join(" → ") }];
}

function opName(n: NarrowNode): string {
  return n.kind === "load" ? loadStepName(n) : n.kind;
}
