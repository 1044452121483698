import { nodeLabel } from "./describe-node.js";
import { defaultListShards, lineage, type PlanNode } from "./nodes.js";
import { compilePlan } from "./compile-plan.js";

/** The logical plan, the optimized plan and the stages, as `Dataset.explain()` prints them. */
export function explainPlan(terminal: PlanNode): string {
  const chain = lineage(terminal);
  const plan = compilePlan(terminal);
  const out: string[] = ["== logical plan =="];
  chain.forEach((n, i) => out.push(`${"  ".repeat(i)}${i ? "└─ " : ""}${nodeLabel(n)}`));
  out.push("", "== optimized plan (rule: fuse-narrow-steps) ==");
  for (const st of plan.stages) {
    const steps = [st.source, ...st.ops, ...(st.sink ? [st.sink] : [])];
    out.push(`stage ${st.id} [${st.ops.length} narrow step${st.ops.length === 1 ? "" : "s"} fused into one pass per shard]`);
    for (const s of steps) out.push(`  ${nodeLabel(s)}`);
    if (!st.sink) out.push("  → rows returned to the driver");
  }
  out.push("", "== stages ==");
  for (const st of plan.stages) {
    const shards =
      st.source.kind === "fromFiles"
        ? "one shard per input file (listed when the run starts)"
        : `${st.source.shards ?? defaultListShards(st.source.items.length)} shards over ${st.source.items.length} items`;
    out.push(`stage ${st.id}: ${st.label}`, `  shards: ${shards}`);
  }
  out.push("", `fingerprint: ${plan.fingerprint}`);
  return out.join("\n");
}
