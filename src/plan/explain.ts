import { nodeLabel } from "./describe-node.js";
import { defaultListShards, type PlanNode } from "./nodes.js";
import { compilePlan } from "./compile-plan.js";
import { sourceName, type Stage } from "./stage.js";

/** The logical plan, the optimized plan and the stages, as `Dataset.explain()` prints them. */
export function explainPlan(terminal: PlanNode): string {
  const plan = compilePlan(terminal);
  const out: string[] = ["== logical plan =="];
  let depth = 0;
  const tree = (n: PlanNode): void => {
    // Printed from the source down, one node per line, indented as a chain; a join's right
    // input is printed on one line above the join.
    if ("parent" in n) tree(n.parent);
    const pad = (d: number) => `${"  ".repeat(d)}${d ? "└─ " : ""}`;
    if (n.kind === "join") out.push(`${pad(depth)}right input: ${chainOf(n.right).map(nodeLabel).join(" → ")}`);
    out.push(`${pad(depth)}${nodeLabel(n)}`);
    depth++;
  };
  tree(terminal);
  out.push("", "== optimized plan (rule: fuse-narrow-steps) ==");
  for (const st of plan.stages) {
    out.push(`stage ${st.id} [${st.ops.length} narrow step${st.ops.length === 1 ? "" : "s"} fused into one pass per shard]`);
    out.push(`  ${sourceLabel(st)}`);
    for (const s of [...st.ops, ...(st.sink ? [st.sink] : [])]) out.push(`  ${nodeLabel(s)}`);
    if (st.shuffle) out.push(`  → shuffle write: rows hash-partitioned by key for ${st.shuffle.node.kind}${st.shuffle.node.kind === "join" ? (st.shuffle.side === 0 ? " (left side)" : " (right side)") : ""} (spill files + index in the scratch store)`);
    else if (!st.sink) out.push("  → rows returned to the driver");
  }
  out.push("", "== stages ==");
  for (const st of plan.stages) out.push(`stage ${st.id}: ${st.label}`, `  shards: ${shardsLabel(st)}`);
  out.push("", `fingerprint: ${plan.fingerprint}`);
  return out.join("\n");
}

function chainOf(n: PlanNode): PlanNode[] {
  const out: PlanNode[] = [];
  let cur: PlanNode | undefined = n;
  while (cur) {
    out.unshift(cur);
    cur = "parent" in cur ? cur.parent : undefined;
  }
  return out;
}

function sourceLabel(st: Stage): string {
  const s = st.source;
  if (s.kind !== "shuffleRead") return nodeLabel(s);
  return `read shuffle of stage${s.inputs.length > 1 ? "s" : ""} ${s.inputs.join(" + ")} → ${nodeLabel(s.node)}`;
}

function shardsLabel(st: Stage): string {
  const s = st.source;
  if (s.kind === "fromFiles") return "one shard per input file (listed when the run starts)";
  if (s.kind === "fromList") return `${s.shards ?? defaultListShards(s.items.length)} shards over ${s.items.length} items`;
  const n = s.node;
  if (n.kind === "reduce") return "1 (one row)";
  if (n.kind === "reshard") return String(n.n);
  return n.numShards !== undefined ? `${n.numShards} partitions` : `one partition per shard of stage ${s.inputs.join("/")} (the larger), decided when the run starts`;
}

export { sourceName };
