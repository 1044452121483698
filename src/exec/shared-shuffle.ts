import { sharedBytes, writeSharedSpills } from "../shuffle/spill-writer.js";
import type { SpillIndex } from "../shuffle/spill-index.js";
import { stageScratch } from "./operators/shuffle-write.js";
import type { TaskResult, TaskSpec } from "./task-spec.js";

/**
 * How much shuffle data a run keeps in shared memory between a map stage and the stage
 * reading it, on one machine (inline and threads executors): map tasks hand their last
 * flush over as a `SharedArrayBuffer`; while the run holds less than `limitBytes` of them it
 * keeps them, and writes any beyond that to the scratch store itself (the bytes as they are,
 * so the index stays valid). Reducers then read their partitions in place. What a stage's
 * readers are done with is released with {@link release}.
 *
 * The limit is half of the memory the run's tasks may use at once (`memory × workers / 2`):
 * the reduce tasks, which hold views of these bytes rather than copies, run within the rest.
 */
export class SharedShuffleMemory {
  private held = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes of shuffle data held in shared memory now. */
  get heldBytes(): number {
    return this.held;
  }

  /** A map task's result, its shared spill kept (counted) or written to scratch. */
  async keep(result: TaskResult, task: TaskSpec): Promise<TaskResult> {
    const index = result.shuffleIndex;
    if (index === undefined || typeof index === "string") return result;
    const bytes = sharedBytes(index);
    if (bytes === 0 || this.held + bytes <= this.limitBytes) {
      this.held += bytes;
      return result;
    }
    const onDisk = await writeSharedSpills(index, stageScratch(task), `m${String(task.shard).padStart(5, "0")}-a${task.attempt}`, task.runId);
    return { ...result, shuffleIndex: onDisk, stats: { ...result.stats, spillFiles: (result.stats.spillFiles ?? 0) + 1 } };
  }

  /** Forgets indexes whose readers are done (the memory is freed once nothing refers to it). */
  release(indexes: ReadonlyArray<string | SpillIndex>): void {
    for (const i of indexes) if (typeof i !== "string") this.held -= sharedBytes(i);
  }
}
