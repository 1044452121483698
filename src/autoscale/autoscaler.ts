import { desiredWorkers, type QueueSnapshot, type ScaleDecision, type ScalePolicyOptions } from "./policy.js";

/** Something that can run N workers: local processes, a Kubernetes Deployment, a thread pool. */
export interface Actuator {
  /** Workers it has now (not counting ones retiring). */
  current(): Promise<number>;
  /** Makes it `n`. Shrinking must let workers finish their tasks in flight. */
  scaleTo(n: number): Promise<void>;
}

/**
 * Applies the policy to an actuator every `intervalMs`: reads the queue, decides, scales.
 * One loop at a time; a failing read or scale is reported to `onError` and tried again on
 * the next tick.
 *
 * @example
 * const a = new Autoscaler(actuator, () => queueSnapshot(), { minWorkers: 0, maxWorkers: 8 });
 * a.start(); … await a.stop();
 */
export class Autoscaler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastUp?: number;
  private lastDown?: number;
  /** Decisions taken (changes only), for logs and tests. */
  readonly decisions: Array<ScaleDecision & { from: number; atMs: number }> = [];

  constructor(
    private readonly actuator: Actuator,
    private readonly read: () => Promise<QueueSnapshot>,
    private readonly policy: ScalePolicyOptions,
    private readonly opts: { intervalMs?: number; now?: () => number; onError?: (e: unknown) => void; onDecision?: (d: ScaleDecision & { from: number }) => void } = {},
  ) {}

  /** One decision, applied. */
  async tick(): Promise<void> {
    const now = (this.opts.now ?? performance.now.bind(performance))();
    const current = await this.actuator.current();
    const d = desiredWorkers(await this.read(), { current, nowMs: now, lastScaleUpMs: this.lastUp, lastScaleDownMs: this.lastDown }, this.policy);
    if (d.desired === current) return;
    await this.actuator.scaleTo(d.desired);
    if (d.desired > current) this.lastUp = now;
    else this.lastDown = now;
    this.decisions.push({ ...d, from: current, atMs: now });
    this.opts.onDecision?.({ ...d, from: current });
  }

  start(): void {
    const loop = () => {
      this.ticking = this.tick()
        .catch((e: unknown) => this.opts.onError?.(e))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.opts.intervalMs ?? 1000);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
  }
}
