import { InternalError } from "../core/errors.js";
import type { PlanNode } from "./nodes.js";

/**
 * `Dataset.collect()` needs the executor, but `plan` must not import `exec`. The exec layer
 * registers its runner here when it loads (the package entry imports both).
 */
export type CollectRunner = (terminal: PlanNode, opts: unknown) => Promise<unknown[]>;

let runner: CollectRunner | undefined;

export function setCollectRunner(fn: CollectRunner): void {
  runner = fn;
}

export function getCollectRunner(): CollectRunner {
  if (!runner) throw new InternalError("no executor registered; import from the 'sirocco' package entry");
  return runner;
}
