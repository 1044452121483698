import type { PlanNode } from "../plan/nodes.js";
import type { RunResult } from "./run-result.js";

/**
 * Process-wide state of sirocco, kept on `globalThis` so that every copy of the module
 * graph in one thread (the CLI's and the script's) shares it.
 *
 * - `runCount` numbers the script's `run()` calls; a worker that re-imports the script uses
 *   it to find the pipeline a task belongs to.
 * - `history` holds the results of finished runs, which a worker replays so that a script
 *   whose later pipelines depend on earlier results rebuilds them identically.
 * - `workerMode` is set in worker threads/processes: `run()` then hands its plan to the
 *   worker instead of running it, and never settles (the script stops there).
 * - `explainMode` is set by `sirocco explain`: `run()` prints the plan and returns an empty
 *   result.
 */
export interface WorkerMode {
  targetRun: number;
  history: ReadonlyArray<RunResult | undefined>;
  onPlan(terminal: PlanNode): void;
}

export interface Runtime {
  runCount: number;
  history: Array<RunResult | undefined>;
  workerMode?: WorkerMode;
  explainMode?: { print(text: string): void };
}

const KEY = Symbol.for("sirocco.runtime");

export function runtime(): Runtime {
  const g = globalThis as unknown as Record<symbol, Runtime | undefined>;
  return (g[KEY] ??= { runCount: 0, history: [] });
}

/** True inside a sirocco worker (thread or process) that re-imported the script. */
export function isWorker(): boolean {
  return runtime().workerMode !== undefined;
}
