import { PlanError } from "../core/errors.js";
import { isNarrow, loadStepName, isSink, isSource, isWide, type NarrowNode, type PlanNode, type SinkNode } from "./nodes.js";
import type { ShuffleEnd, ShuffleSource, Stage } from "./stage.js";

/**
 * Optimizer rule: consecutive narrow steps (load, map, flatMap, filter, mapShard, window,
 * take) fuse into the stage of their source, so each shard is read, transformed and written
 * in one streaming pass with no materialization in between. A stage ends at a sink, at the
 * driver (collect), or at a shuffle (groupBy, dedupe, countBy, reduce, reshard, join): the
 * stage before a wide step writes its rows hash-partitioned, and a new stage reads one
 * partition per shard. Stages are numbered in dependency order (inputs first; for a join,
 * left before right).
 */
export function fuseNarrowSteps(terminalOrChain: PlanNode | readonly PlanNode[]): Stage[] {
  // A chain (source first, as `lineage` gives it) is accepted too: its last node is the terminal.
  const terminal = Array.isArray(terminalOrChain) ? terminalOrChain[terminalOrChain.length - 1] : (terminalOrChain as PlanNode);
  if (!terminal) throw new PlanError("a pipeline must start with Dataset.fromList or Dataset.fromFiles");
  const stages: Stage[] = [];
  interface Open {
    source: Stage["source"];
    ops: NarrowNode[];
  }
  const close = (o: Open, end: { sink?: SinkNode; shuffle?: ShuffleEnd }): number => {
    const id = stages.length;
    const names = [o.source.kind === "shuffleRead" ? o.source.node.kind : o.source.kind, ...o.ops.map(opName), end.sink ? end.sink.kind : end.shuffle ? `shuffle(${end.shuffle.node.kind}${end.shuffle.node.kind === "join" ? end.shuffle.side === 0 ? " left" : " right" : ""})` : "collect"];
    stages.push({ id, source: o.source, ops: o.ops, ...(end.sink ? { sink: end.sink } : {}), ...(end.shuffle ? { shuffle: end.shuffle } : {}), label: names.join(" → ") });
    return id;
  };
  const build = (n: PlanNode): Open => {
    if (isSource(n)) return { source: n, ops: [] };
    if (isNarrow(n)) {
      const o = build(n.parent);
      o.ops.push(n);
      return o;
    }
    if (isWide(n)) {
      const inputs = [close(build(n.parent), { shuffle: { node: n, side: 0 } })];
      if (n.kind === "join") inputs.push(close(build(n.right), { shuffle: { node: n, side: 1 } }));
      const source: ShuffleSource = { kind: "shuffleRead", node: n, inputs };
      return { source, ops: [] };
    }
    if (isSink(n)) throw new PlanError(`nothing can follow the sink ${n.kind}; a write step must be the last step`);
    throw new PlanError(`unexpected ${(n as PlanNode).kind} in a pipeline`);
  };
  const first = planRoot(terminal);
  if (!first || !isSource(first)) throw new PlanError("a pipeline must start with Dataset.fromList or Dataset.fromFiles");
  if (isSink(terminal)) close(build(terminal.parent), { sink: terminal });
  else close(build(terminal), {});
  return stages;
}

function planRoot(n: PlanNode): PlanNode {
  let cur = n;
  while ("parent" in cur) cur = cur.parent;
  return cur;
}

function opName(n: NarrowNode): string {
  return n.kind === "load" ? loadStepName(n) : n.kind;
}
