/**
 * Steps and sinks implemented by a layer above `exec` (the training feed in `src/tpu-feed`)
 * register here when their module loads (the package entry loads them), so `exec` runs them
 * without importing that layer. A worker thread gets them the same way: it imports the
 * user's script, which imports the package.
 */
import { PlanError } from "../core/errors.js";
import type { ShardInfo } from "../core/types.js";
import type { NarrowNode, SinkNode } from "../plan/nodes.js";
import type { Chunk } from "./operators/chunk.js";
import type { PlannedStage } from "./make-tasks.js";
import type { TaskResult, TaskSpec } from "./task-spec.js";

export type StepExtension = (input: AsyncIterable<Chunk>, node: NarrowNode, shard: ShardInfo) => AsyncIterable<Chunk>;

/** The driver's side of a sink: sees the stage planned and every task that completes, in the driver only. */
export interface SinkDriver {
  taskDone(shard: number, result: TaskResult): Promise<void>;
  /** The stage completed (every task succeeded). */
  stageEnd(): Promise<void>;
}

export interface SinkExtension {
  /** Runs in the task (any thread): writes the shard; returns its outputs and bytes written. */
  write(chunks: AsyncIterable<Chunk>, node: SinkNode, spec: TaskSpec): Promise<{ outputs: string[]; bytesWritten: number }>;
  /** Runs in the driver before the stage's tasks start. */
  driver?(node: SinkNode, planned: PlannedStage, runId: string): Promise<SinkDriver>;
}

const steps = new Map<string, StepExtension>();
const sinks = new Map<string, SinkExtension>();

export function registerStep(kind: NarrowNode["kind"], impl: StepExtension): void {
  steps.set(kind, impl);
}

export function registerSink(kind: SinkNode["kind"], impl: SinkExtension): void {
  sinks.set(kind, impl);
}

export function stepExtension(kind: string): StepExtension {
  const s = steps.get(kind);
  if (!s) throw new PlanError(`no implementation registered for step ${kind}; import "sirocco" (the package entry) in the pipeline script`);
  return s;
}

export function sinkExtension(kind: string): SinkExtension | undefined {
  return sinks.get(kind);
}
