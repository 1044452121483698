import type { Actuator } from "./autoscaler.js";

/** Anything whose number of tasks at once can change while it runs (a BullMQ Worker's `concurrency`). */
export interface ConcurrencyTarget {
  concurrency: number;
}

/**
 * The local thread pool as an actuator: sets how many tasks a worker process takes at once.
 * Its piscina pool starts threads on demand up to its maximum and retires threads idle for
 * a while, so the pool grows and shrinks with this number; a thread is never stopped with a
 * task on it (lowering the number only stops taking new tasks).
 *
 * @example new Autoscaler(new ConcurrencyActuator(bullWorker), snapshot, { minWorkers: 1, maxWorkers: 8 })
 */
export class ConcurrencyActuator implements Actuator {
  constructor(private readonly target: ConcurrencyTarget) {}

  async current(): Promise<number> {
    return this.target.concurrency;
  }

  async scaleTo(n: number): Promise<void> {
    this.target.concurrency = Math.max(1, n);
  }
}
