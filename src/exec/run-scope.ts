/**
 * Work to do when a `run()` call ends, whatever its outcome: executors that keep resources
 * for a whole run (the redis executor's connections and local worker processes) register
 * here, and the driver calls {@link endRun} once the run's last stage is over.
 */
const hooks = new Map<string, Array<(failed: boolean) => Promise<void>>>();

/** Registers `fn` to run when run `runId` ends; `failed` tells whether it failed. */
export function onRunEnd(runId: string, fn: (failed: boolean) => Promise<void>): void {
  const list = hooks.get(runId) ?? [];
  list.push(fn);
  hooks.set(runId, list);
}

/** Runs (and forgets) the hooks of `runId`; one failing does not stop the others. */
export async function endRun(runId: string, failed: boolean): Promise<void> {
  const list = hooks.get(runId) ?? [];
  hooks.delete(runId);
  await Promise.allSettled(list.map((fn) => fn(failed)));
}
