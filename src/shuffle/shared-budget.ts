/**
 * A budget of shared memory that the threads of one process draw on: a counter (KiB, in a
 * `SharedArrayBuffer`) changed with `Atomics`, so a map task on any thread can claim room
 * for its last flush without asking the driver, and the sum of what is claimed never goes
 * over `limitKb`.
 *
 * @example
 * const b = sharedBudget(512e6);
 * if (tryClaim(b, bytes)) keepInMemory(); else writeToScratch();
 */
export interface SharedBudget {
  /** One Int32 over a SharedArrayBuffer: KiB claimed. */
  readonly counter: Int32Array;
  readonly limitKb: number;
}

export function sharedBudget(limitBytes: number): SharedBudget {
  return { counter: new Int32Array(new SharedArrayBuffer(4)), limitKb: Math.max(0, Math.min(2 ** 31 - 1, Math.floor(limitBytes / 1024))) };
}

/** KiB a claim of `bytes` takes. */
export function claimKb(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

/** Claims `kb` KiB if they fit under the limit; true when claimed. */
export function tryClaim(b: SharedBudget, kb: number): boolean {
  if (Atomics.add(b.counter, 0, kb) + kb <= b.limitKb) return true;
  Atomics.sub(b.counter, 0, kb);
  return false;
}

/** Gives back `kb` KiB claimed earlier. */
export function releaseClaim(b: SharedBudget, kb: number): void {
  Atomics.sub(b.counter, 0, kb);
}

/** KiB claimed now. */
export function claimedKb(b: SharedBudget): number {
  return Atomics.load(b.counter, 0);
}
