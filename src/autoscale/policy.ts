/**
 * The one autoscaling policy: how many workers a queue needs now. Pure (no clock, no I/O),
 * so the same function drives every actuator (local processes, a Kubernetes Deployment,
 * the local thread pool) and is tested on its own.
 *
 * The rule: enough task slots to drain the outstanding work (waiting + running) within
 * `targetDrainMs`, judged from recent task durations (one slot per task while none is
 * known yet), never fewer workers than are busy, within [min, max]. Growing waits
 * `scaleUpCooldownMs` after any change, shrinking waits `scaleDownCooldownMs`: starting a
 * worker costs seconds, so flapping costs more than a short idle spell.
 */
export interface ScalePolicyOptions {
  minWorkers: number;
  maxWorkers: number;
  /** Tasks one worker runs at once (its concurrency). Default 1. */
  tasksPerWorker?: number;
  /** Aim to finish the outstanding work within this time. Default 30 000 ms. */
  targetDrainMs?: number;
  /** Minimum time after a change before growing again. Default 2 000 ms. */
  scaleUpCooldownMs?: number;
  /** Minimum time after a change before shrinking. Default 30 000 ms. */
  scaleDownCooldownMs?: number;
}

/** What the queue looks like now. */
export interface QueueSnapshot {
  /** Tasks waiting for a worker. */
  backlog: number;
  /** Tasks running on a worker. */
  inFlight: number;
  /** Durations of recently finished tasks, ms (any order; empty when none finished yet). */
  recentTaskMs: readonly number[];
}

/** What the actuator has and when it last changed, in ms on any monotonic clock. */
export interface ScaleState {
  current: number;
  nowMs: number;
  lastScaleUpMs?: number;
  lastScaleDownMs?: number;
}

export interface ScaleDecision {
  desired: number;
  /** The number the policy wants without cool-downs. */
  target: number;
  reason: string;
}

/**
 * @example
 * desiredWorkers({ backlog: 40, inFlight: 2, recentTaskMs: [1500] }, { current: 2, nowMs: 1e6 }, { minWorkers: 0, maxWorkers: 8 })
 * // → { desired: 3, target: 3, reason: "42 tasks × 1500 ms within 30000 ms" }
 */
export function desiredWorkers(q: QueueSnapshot, s: ScaleState, o: ScalePolicyOptions): ScaleDecision {
  const per = o.tasksPerWorker ?? 1;
  const drainMs = o.targetDrainMs ?? 30_000;
  const outstanding = Math.max(0, q.backlog) + Math.max(0, q.inFlight);
  const taskMs = median(q.recentTaskMs);
  let slots: number;
  let why: string;
  if (outstanding === 0) {
    slots = 0;
    why = "queue empty";
  } else if (taskMs === undefined) {
    slots = outstanding;
    why = `${outstanding} tasks, durations unknown yet`;
  } else {
    slots = Math.ceil((outstanding * taskMs) / drainMs);
    why = `${outstanding} tasks × ${Math.round(taskMs)} ms within ${drainMs} ms`;
  }
  const busy = Math.ceil(Math.max(0, q.inFlight) / per);
  let target = Math.max(Math.ceil(slots / per), busy, outstanding > 0 ? 1 : 0);
  target = Math.min(o.maxWorkers, Math.max(o.minWorkers, target));
  const lastChange = Math.max(s.lastScaleUpMs ?? -Infinity, s.lastScaleDownMs ?? -Infinity);
  if (target > s.current && s.nowMs - lastChange < (o.scaleUpCooldownMs ?? 2_000)) {
    return { desired: s.current, target, reason: `${why}; scale-up cool-down` };
  }
  if (target < s.current && s.nowMs - lastChange < (o.scaleDownCooldownMs ?? 30_000)) {
    return { desired: s.current, target, reason: `${why}; scale-down cool-down` };
  }
  return { desired: target, target, reason: why };
}

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Checks policy options, naming the bad one. */
export function checkPolicyOptions(o: ScalePolicyOptions): ScalePolicyOptions {
  const int = (v: unknown, name: string, min: number) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new RangeError(`autoscale ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  int(o.minWorkers, "minWorkers", 0);
  int(o.maxWorkers, "maxWorkers", 1);
  if (o.minWorkers > o.maxWorkers) throw new RangeError(`autoscale minWorkers (${o.minWorkers}) must not exceed maxWorkers (${o.maxWorkers})`);
  if (o.tasksPerWorker !== undefined) int(o.tasksPerWorker, "tasksPerWorker", 1);
  for (const k of ["targetDrainMs", "scaleUpCooldownMs", "scaleDownCooldownMs"] as const) if (o[k] !== undefined) int(o[k], k, 0);
  return o;
}
