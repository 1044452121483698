import { AsyncLocalStorage } from "node:async_hooks";
import { PlanError } from "../core/errors.js";
import type { ShardInfo } from "../core/types.js";

/** Named counters a task adds to; `run()` sums them over all tasks into `result.counters`. */
export class Counters {
  private readonly values = new Map<string, number>();

  /** Adds `by` (default 1) to the counter `name`. */
  inc(name: string, by = 1): void {
    if (typeof by !== "number" || !Number.isFinite(by)) throw new PlanError(`counters.inc(${JSON.stringify(name)}, by): by must be a finite number`);
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  /** Forgets every count (a task that runs its steps a second time counts afresh). */
  reset(): void {
    this.values.clear();
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.values);
  }

  /** Adds another task's counters into these. */
  static merge(into: Record<string, number>, from: Record<string, number>): void {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  }
}

/** What a step's function can reach while a task runs. */
export interface TaskContext {
  readonly counters: Counters;
  readonly shard: ShardInfo;
  readonly attempt: number;
}

const storage = new AsyncLocalStorage<TaskContext>();

/**
 * The context of the task running the current function: its counters and shard.
 *
 * @example ds.filter((d) => { if (!d.text) context().counters.inc("empty"); return !!d.text; })
 */
export function context(): TaskContext {
  const ctx = storage.getStore();
  if (!ctx) throw new PlanError("context() is only available inside a step's function while a task runs");
  return ctx;
}

/** Runs `fn` with `ctx` as the current task context. */
export function withTaskContext<R>(ctx: TaskContext, fn: () => R): R {
  return storage.run(ctx, fn);
}
