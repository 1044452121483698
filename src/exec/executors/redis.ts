import { fileURLToPath } from "node:url";
import { Job, Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { serializeError, WorkerLostError } from "../../core/errors.js";
import type { AutoscaleMode } from "../../core/options.js";
import type { RedisAddress } from "../../core/redis-url.js";
import { Autoscaler } from "../../autoscale/autoscaler.js";
import { LocalProcessActuator } from "../../autoscale/local-processes.js";
import type { ScalePolicyOptions } from "../../autoscale/policy.js";
import { DEFAULT_QUEUE, decodeReturn, readQueueSnapshot, taskMsKey, waitConnected, encodeValue, jobIdFor, KEY_PREFIX, runCancelKey, runMetaKey, RUN_META_TTL_S, type RunMeta } from "../redis-protocol.js";
import { onRunEnd } from "../run-scope.js";
import type { TaskOutcome, TaskSpec } from "../task-spec.js";
import type { Executor } from "./executor.js";

export interface RedisRunConfig {
  address: RedisAddress;
  /** The queue workers serve; default "sirocco", or a queue private to the run with autoscale "local". */
  queue?: string;
  autoscale: AutoscaleMode;
  /** With autoscale "local": at most this many worker processes. */
  maxWorkers: number;
  /** The script local workers import (a path or file URL). */
  script: string;
  meta: Omit<RunMeta, "version">;
}

/** How often the driver checks its pending tasks against Redis (lost jobs, missed events). */
const RECONCILE_MS = 2_000;
/** After this long without any worker on the queue, the driver says how to start one. */
const NO_WORKER_HINT_MS = 30_000;

const runs = new Map<string, Promise<RedisRun>>();

/**
 * The executor for one stage of a run on the redis executor. The run's connections (and its
 * local workers) are shared by all its stages and released when the run ends.
 */
export async function redisExecutorFor(cfg: RedisRunConfig): Promise<Executor> {
  const runId = cfg.meta.runId;
  let r = runs.get(runId);
  if (!r) {
    r = RedisRun.open(cfg);
    runs.set(runId, r);
    const opened = r;
    onRunEnd(runId, async (failed) => {
      runs.delete(runId);
      await (await opened.catch(() => undefined))?.close(failed);
    });
  }
  const run = await r;
  return { runTask: (spec) => run.runTask(spec), close: () => run.stageClosed() };
}

interface Pending {
  spec: TaskSpec;
  resolve(o: TaskOutcome): void;
  /** When the job was known to be in Redis (Infinity until then). */
  addedAt: number;
}

/**
 * One run's link to Redis: enqueues task attempts as BullMQ jobs, settles them from the
 * queue's events (and, as a safety net, by reading the jobs themselves every few seconds),
 * and, with autoscale "local", keeps the right number of worker processes.
 */
export class RedisRun {
  private readonly pending = new Map<string, Pending>();
  private readonly unsettled = new Set<string>();
  private toAdd: Array<{ name: string; data: TaskSpec; opts: { jobId: string; lifo?: boolean } }> = [];
  private flushing = false;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private cancelled = false;
  private lastWorkerSeen = Date.now();
  private hinted = false;
  private closing: Promise<void> | undefined;
  private connectionLost = false;

  private constructor(
    private readonly cfg: RedisRunConfig,
    readonly queueName: string,
    private readonly conn: Redis,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly eventsConn: Redis,
    private autoscaler?: Autoscaler,
    readonly actuator?: LocalProcessActuator,
  ) {}

  static async open(cfg: RedisRunConfig): Promise<RedisRun> {
    const queueName = cfg.queue ?? (cfg.autoscale === "local" ? `local-${cfg.meta.runId}` : DEFAULT_QUEUE);
    const conn = connect(cfg.address);
    conn.on("error", () => {});
    try {
      await waitConnected(conn, cfg.address.display, envInt("SIROCCO_REDIS_CONNECT_TIMEOUT_MS", 10_000));
    } catch (e) {
      conn.disconnect();
      throw e;
    }
    const eventsConn = connect(cfg.address);
    eventsConn.on("error", () => {});
    const queue = new Queue(queueName, {
      connection: conn,
      prefix: KEY_PREFIX,
      // Each attempt is one job; the driver retries (two budgets), not BullMQ. Finished jobs
      // stay for a while so the driver can read results it missed while disconnected.
      defaultJobOptions: { attempts: 1, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } },
    });
    const events = new QueueEvents(queueName, { connection: eventsConn, prefix: KEY_PREFIX });
    queue.on("error", () => {});
    events.on("error", () => {});
    await conn.set(runMetaKey(queueName, cfg.meta.runId), encodeValue({ version: 1, ...cfg.meta } satisfies RunMeta), "EX", RUN_META_TTL_S);
    await events.waitUntilReady();

    let actuator: LocalProcessActuator | undefined;
    if (cfg.autoscale === "local") {
      const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
      const script = cfg.script.startsWith("file:") ? fileURLToPath(cfg.script) : cfg.script;
      const env = { ...process.env };
      delete env.SIROCCO_RUN_DEFAULTS;
      actuator = new LocalProcessActuator({
        command: process.execPath,
        args: [cli, "worker", script, "--redis", cfg.address.url, "--queue", queueName, "--concurrency", "1"],
        env,
      });
    }
    const run = new RedisRun(cfg, queueName, conn, queue, events, eventsConn, undefined, actuator);
    if (actuator) {
      const policy: ScalePolicyOptions = {
        minWorkers: Math.min(envInt("SIROCCO_AUTOSCALE_MIN", 0), cfg.maxWorkers),
        maxWorkers: cfg.maxWorkers,
        tasksPerWorker: 1,
        targetDrainMs: envInt("SIROCCO_AUTOSCALE_TARGET_DRAIN_MS", 10_000),
        scaleUpCooldownMs: envInt("SIROCCO_AUTOSCALE_UP_COOLDOWN_MS", 1_000),
        scaleDownCooldownMs: envInt("SIROCCO_AUTOSCALE_DOWN_COOLDOWN_MS", 30_000),
      };
      run.autoscaler = new Autoscaler(actuator, () => run.snapshot(), policy, {
        intervalMs: 250,
        onError: () => {},
      });
      run.autoscaler!.start();
    }
    events.on("completed", ({ jobId, returnvalue }) => run.settleReturn(jobId, returnvalue));
    events.on("failed", ({ jobId, failedReason }) => run.settleLost(jobId, failedReason));
    for (const c of [conn, eventsConn]) {
      c.on("error", () => {});
      c.on("close", () => (run.connectionLost = true));
      c.on("ready", () => {
        if (run.connectionLost) {
          run.connectionLost = false;
          void run.reconcile();
        }
      });
    }
    run.reconcileTimer = setInterval(() => void run.reconcile(), RECONCILE_MS);
    return run;
  }

  /** Queue depth and recent task durations, for the autoscaling policy. */
  async snapshot(): Promise<{ backlog: number; inFlight: number; recentTaskMs: readonly number[] }> {
    return readQueueSnapshot(this.conn, this.queueName);
  }

  runTask(spec: TaskSpec): Promise<TaskOutcome> {
    if (this.cancelled) return Promise.resolve(lost(spec, "the run was cancelled"));
    return new Promise((resolve) => {
      const jobId = jobIdFor(spec);
      this.pending.set(jobId, { spec, resolve, addedAt: Infinity });
      this.unsettled.add(jobId);
      // A retried attempt goes to the head of the queue (lifo): a lost task should not wait
      // behind the rest of the stage, which would stretch the stage's tail.
      this.toAdd.push({ name: `stage-${spec.stage}`, data: spec, opts: { jobId, ...(spec.attempt > 1 ? { lifo: true } : {}) } });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Adds the tasks given since the last flush in one round trip. */
  private async flush(): Promise<void> {
    while (this.toAdd.length > 0) {
      const batch = this.toAdd.splice(0, 1000);
      try {
        await this.queue.addBulk(batch);
        const now = Date.now();
        for (const j of batch) {
          const p = this.pending.get(j.opts.jobId);
          if (p) p.addedAt = now;
        }
      } catch (e) {
        for (const j of batch) this.settle(j.opts.jobId, lost(j.data, `could not enqueue the task on ${this.cfg.address.display}: ${(e as Error).message}`));
      }
    }
    this.flushing = false;
  }

  private settle(jobId: string, outcome: TaskOutcome): void {
    const p = this.pending.get(jobId);
    if (!p) return;
    this.pending.delete(jobId);
    this.unsettled.delete(jobId);
    p.resolve(outcome);
  }

  settleReturn(jobId: string, raw: unknown): void {
    if (!this.pending.has(jobId)) return;
    let r;
    try {
      r = decodeReturn(raw);
    } catch (e) {
      this.settle(jobId, lost(this.pending.get(jobId)!.spec, (e as Error).message));
      return;
    }
    this.lastWorkerSeen = Date.now();
    this.settle(jobId, r.outcome);
  }

  /** BullMQ failed the job: the processor never throws for user errors, so this is infrastructure (a stalled or lost worker). */
  settleLost(jobId: string, reason: string): void {
    const p = this.pending.get(jobId);
    if (p) this.settle(jobId, lost(p.spec, reason));
  }

  /** Reads pending jobs that events may have missed: finished, failed, or gone from Redis. */
  async reconcile(): Promise<void> {
    if (this.closing) return;
    const old = [...this.pending.entries()].filter(([, p]) => p.addedAt < Date.now() - RECONCILE_MS);
    try {
      if (old.length > 0 && (await this.conn.exists(runMetaKey(this.queueName, this.cfg.meta.runId))) === 0) {
        // Redis lost its data (restarted without persistence): write the run's metadata again.
        await this.conn.set(runMetaKey(this.queueName, this.cfg.meta.runId), encodeValue({ version: 1, ...this.cfg.meta } satisfies RunMeta), "EX", RUN_META_TTL_S);
      }
      for (let i = 0; i < old.length; i += 500) {
        const chunk = old.slice(i, i + 500);
        const jobs = await Promise.all(chunk.map(([id]) => Job.fromId(this.queue, id)));
        chunk.forEach(([id, p], k) => {
          const job = jobs[k];
          if (!job) this.settle(id, lost(p.spec, `the task disappeared from Redis (${this.cfg.address.display} restarted without persistence?)`));
          else if (job.finishedOn && job.failedReason) this.settleLost(id, job.failedReason);
          else if (job.finishedOn) this.settleReturn(id, job.returnvalue);
        });
      }
      if (this.pending.size > 0 && this.cfg.autoscale !== "local") {
        if ((await this.queue.getWorkersCount()) > 0) this.lastWorkerSeen = Date.now();
        else if (!this.hinted && Date.now() - this.lastWorkerSeen > NO_WORKER_HINT_MS) {
          this.hinted = true;
          process.stderr.write(
            `sirocco: no worker has served queue "${this.queueName}" on ${this.cfg.address.display} for ${NO_WORKER_HINT_MS / 1000} s; ` +
              `start workers with \`sirocco worker ${this.cfg.meta.argv[1] ?? "<script>"} --redis ${this.cfg.address.display} --queue ${this.queueName}\`, or pass --autoscale local\n`,
          );
        }
      }
    } catch {
      // Redis unreachable: the next tick tries again.
    }
  }

  /** A stage ended. With tasks still pending the stage failed: stop the run's work in flight. */
  async stageClosed(): Promise<void> {
    if (this.pending.size > 0 || this.cancelling) await this.cancel();
  }

  private cancelling: Promise<void> | undefined;

  /**
   * Cancels the run: settles what the driver waits for, removes its waiting jobs, tells
   * workers to stop its tasks in flight, and waits (up to 10 s) until those have stopped, so
   * the driver's clean-up of temporaries after the stage comes after their last write.
   */
  private cancel(): Promise<void> {
    this.cancelling ??= (async () => {
      this.cancelled = true;
      const ids = [...this.unsettled];
      for (const [id, p] of [...this.pending]) this.settle(id, lost(p.spec, "the run was cancelled"));
      try {
        await this.conn.set(runCancelKey(this.queueName, this.cfg.meta.runId), "1", "EX", 3600);
        await Promise.all(ids.map((id) => this.queue.remove(id).catch(() => 0)));
        const until = Date.now() + 10_000;
        let running = ids;
        while (running.length > 0 && Date.now() < until) {
          const jobs = await Promise.all(running.map((id) => Job.fromId(this.queue, id)));
          running = running.filter((_, i) => jobs[i] !== undefined && !jobs[i]!.finishedOn);
          if (running.length > 0) await new Promise((r) => setTimeout(r, 100));
        }
      } catch {
        // best effort: workers also drop a cancelled run's tasks when they see the key
      }
    })();
    return this.cancelling;
  }

  /** Ends the run: cancels leftovers, retires local workers, drops the run's keys, disconnects. */
  close(failed: boolean): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.reconcileTimer);
      await this.autoscaler?.stop();
      if (failed || this.pending.size > 0) await this.cancel();
      await this.conn.del(runMetaKey(this.queueName, this.cfg.meta.runId)).catch(() => 0);
      await this.actuator?.shutdown();
      if (this.cfg.autoscale === "local" && this.cfg.queue === undefined) {
        // The queue was private to this run: remove all of it.
        await this.queue.obliterate({ force: true }).catch(() => undefined);
        await this.conn.del(runCancelKey(this.queueName, this.cfg.meta.runId), taskMsKey(this.queueName)).catch(() => 0);
      }
      await this.events.close().catch(() => undefined);
      await this.queue.close().catch(() => undefined);
      this.conn.disconnect();
      this.eventsConn.disconnect();
    })();
    return this.closing;
  }
}

function connect(a: RedisAddress): Redis {
  // Commands wait through a reconnection instead of failing (BullMQ needs this for its blocking reads).
  return new Redis(a.url, { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (n) => Math.min(n * 100, 2000) });
}

function lost(spec: TaskSpec, why: string): TaskOutcome {
  const e = new WorkerLostError(`shard ${spec.shard + 1}/${spec.totalShards} (attempt ${spec.attempt}) was lost on the redis executor: ${why}`);
  return { ok: false, error: serializeError(e), infra: true };
}

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}
