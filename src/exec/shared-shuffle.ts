import { claimedKb, releaseClaim, sharedBudget, type SharedBudget } from "../shuffle/shared-budget.js";
import type { SpillIndex } from "../shuffle/spill-index.js";

/**
 * How much shuffle data a run keeps in shared memory between a map stage and the stage
 * reading it, on one machine (inline and threads executors). Map tasks get the run's
 * {@link SharedBudget} in their spec; at its end a task claims room for its last flush
 * (atomically, from any thread) and hands the flush over as block columns in
 * `SharedArrayBuffer`s, or — when the budget is full — writes it to the scratch store like
 * its other flushes. Reducers read shared blocks in place. What a stage's readers are done
 * with is given back with {@link release}.
 *
 * The limit is half of the memory the run's tasks may use at once (`memory × workers / 2`):
 * the reduce tasks, which hold views of these bytes rather than copies, run within the rest.
 * A task whose thread dies after claiming never gives its claim back: later tasks of the run
 * then spill a little earlier, nothing worse.
 */
export class SharedShuffleMemory {
  readonly budget: SharedBudget;

  constructor(limitBytes: number) {
    this.budget = sharedBudget(limitBytes);
  }

  /** Bytes of shuffle data held in shared memory now. */
  get heldBytes(): number {
    return claimedKb(this.budget) * 1024;
  }

  /** Gives back the claims of map outputs whose readers are done (the memory is freed once nothing refers to it). */
  release(indexes: ReadonlyArray<string | SpillIndex>): void {
    for (const i of indexes) if (typeof i !== "string" && i.sharedKb) releaseClaim(this.budget, i.sharedKb);
  }
}
