import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import type { RedisAddress } from "../core/redis-url.js";
import { Autoscaler } from "../autoscale/autoscaler.js";
import { ConcurrencyActuator } from "../autoscale/concurrency.js";
import { ThreadsExecutor } from "./executors/threads.js";
import { decodeValue, encodeValue, KEY_PREFIX, readQueueSnapshot, recordTaskMs, waitConnected, runCancelKey, runMetaKey, type JobReturn, type RunMeta } from "./redis-protocol.js";
import { prepareScript } from "./script-loader.js";
import type { TaskOutcome, TaskSpec } from "./task-spec.js";

export interface RedisWorkerOptions {
  /** The pipeline script (the same one the driver runs). */
  script: string;
  address: RedisAddress;
  queue: string;
  /** Tasks run at once (worker threads). Default: one per core. */
  concurrency?: number;
  /** A task's lock lives this long without renewal before the task counts as stalled. Default 15 000 ms. */
  lockMs?: number;
  /** How often this worker looks for stalled tasks (of any worker). Default 5 000 ms. */
  stalledIntervalMs?: number;
  /**
   * Grow and shrink the worker's threads (1 … concurrency) with the queue, by the autoscaling
   * policy, instead of running `concurrency` tasks at once from the start. Default false.
   */
  elastic?: boolean;
  log?: (line: string) => void;
}

/** A worker's thread pool for one run: the script re-imported, plan rebuilt and fingerprint-checked. */
interface RunPool {
  executor: ThreadsExecutor;
  active: number;
  lastUsed: number;
  cancelled: boolean;
}

/** Pools idle this long are closed (their run has probably ended). */
const POOL_IDLE_MS = 60_000;

/**
 * `sirocco worker`: pulls task attempts from the queue and runs each on a thread pool that
 * rebuilt the run's plan from the same script (as worker threads do). Several runs may
 * share a worker; each gets its own pool (ESM caches modules, so a script is imported once
 * per thread). SIGTERM: take no new task, finish the ones in flight, exit 0; a second
 * SIGTERM/SIGINT exits at once (the queue then re-runs those tasks elsewhere).
 *
 * @example await runRedisWorker({ script: "clean.ts", address: parseRedisUrl("redis://127.0.0.1:6379"), queue: "sirocco" })
 */
export async function runRedisWorker(o: RedisWorkerOptions): Promise<void> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const concurrency = o.concurrency ?? os.availableParallelism();
  const file = path.resolve(o.script);
  const prepared = await prepareScript(file);
  const entry = pathToFileURL(prepared.entry).href;
  const name = `${os.hostname()}:${process.pid}`;
  const conn = new Redis(o.address.url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 100, 2000) });
  conn.on("error", () => {});
  try {
    await waitConnected(conn, o.address.display);
  } catch (e) {
    conn.disconnect();
    throw e;
  }
  const pools = new Map<string, Promise<RunPool>>();

  const poolFor = (runId: string): Promise<RunPool> => {
    let p = pools.get(runId);
    if (!p) {
      p = (async () => {
        const raw = await conn.getBuffer(runMetaKey(o.queue, runId));
        if (!raw) throw new Error(`the metadata of run ${runId} is not in Redis (the run ended, or Redis lost it)`);
        const meta = decodeValue<RunMeta>(raw.toString());
        const executor = new ThreadsExecutor(concurrency, {
          entry,
          // The driver's arguments; its script path only if it exists here too (another
          // machine's checkout may live elsewhere: then this worker's script path).
          argv: meta.argv[1] && fs.existsSync(meta.argv[1]) ? meta.argv : [meta.argv[0] ?? process.execPath, file, ...meta.argv.slice(2)],
          runIndex: meta.runIndex,
          runId,
          fingerprint: meta.fingerprint,
          identities: meta.identities,
          history: meta.history,
        }, undefined, o.elastic ? { minThreads: 1, idleTimeoutMs: 10_000 } : undefined);
        return { executor, active: 0, lastUsed: Date.now(), cancelled: false };
      })();
      pools.set(runId, p);
      p.catch(() => pools.delete(runId));
    }
    return p;
  };

  let activeTasks = 0;
  const processor = async (job: Job<TaskSpec>): Promise<string> => {
    const spec = job.data;
    const pool = await poolFor(spec.runId);
    if (pool.cancelled) throw new Error(`run ${spec.runId} was cancelled`);
    pool.active++;
    activeTasks++;
    const started = performance.now();
    // Stop this run's threads when the driver cancels it (the run failed elsewhere).
    const watch = setInterval(() => {
      void conn.exists(runCancelKey(o.queue, spec.runId)).then(
        (n) => {
          if (n > 0 && !pool.cancelled) {
            pool.cancelled = true;
            void pool.executor.close();
          }
        },
        () => {},
      );
    }, 1000);
    let outcome: TaskOutcome;
    try {
      outcome = await pool.executor.runTask(spec);
    } finally {
      clearInterval(watch);
      pool.active--;
      activeTasks--;
      pool.lastUsed = Date.now();
    }
    if (process.env.SIROCCO_DEBUG) log(`sirocco worker ${name}: shard ${spec.shard} attempt ${spec.attempt} in ${Math.round(performance.now() - started)} ms (process age ${Math.round(performance.now())} ms)`);
    const taskMs = performance.now() - started;
    void recordTaskMs(conn, o.queue, taskMs).catch(() => {});
    const ret: JobReturn = { outcome, taskMs, worker: name };
    return encodeValue(ret);
  };

  const worker = new Worker<TaskSpec, string>(o.queue, processor, {
    connection: conn,
    prefix: KEY_PREFIX,
    concurrency: o.elastic ? 1 : concurrency,
    name,
    lockDuration: o.lockMs ?? 15_000,
    stalledInterval: o.stalledIntervalMs ?? 5_000,
    // A stalled task (its worker died or hung) fails at once; the driver retries it under the
    // infrastructure budget with a new attempt number.
    maxStalledCount: 0,
  });
  worker.on("error", (e) => {
    if (!/ECONNREFUSED|ECONNRESET|Connection is closed|EPIPE/.test(e.message)) log(`sirocco worker: ${e.message}`);
  });

  // The local thread pool follows the queue: the same policy as every actuator, applied to
  // this worker's concurrency (its pools start threads on demand and retire idle ones).
  const threadScaler = o.elastic
    ? new Autoscaler(new ConcurrencyActuator(worker), () => readQueueSnapshot(conn, o.queue), { minWorkers: 1, maxWorkers: concurrency, tasksPerWorker: 1, targetDrainMs: 10_000, scaleUpCooldownMs: 500, scaleDownCooldownMs: 15_000 }, {
        intervalMs: 1000,
        onDecision: (d) => process.env.SIROCCO_DEBUG && log(`sirocco worker ${name}: threads ${d.from} → ${d.desired} (${d.reason})`),
      })
    : undefined;
  threadScaler?.start();

  const sweep = setInterval(() => {
    for (const [runId, p] of pools) {
      void p.then(async (pool) => {
        if (pool.active > 0) return;
        const ended = Date.now() - pool.lastUsed > POOL_IDLE_MS || (await conn.exists(runMetaKey(o.queue, runId)).catch(() => 1)) === 0;
        if (ended && pool.active === 0 && pools.get(runId) === p) {
          pools.delete(runId);
          await pool.executor.close();
        }
      }, () => {});
    }
  }, 5_000);

  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      if (stopping && sig === "driver gone") return;
      if (stopping) {
        log(`sirocco worker: ${sig} again, exiting now; tasks in flight will run again elsewhere`);
        process.exit(130);
      }
      stopping = true;
      // If Redis is unreachable, close() would wait for it forever: once no task is in
      // flight, give it 5 s more, then exit anyway (nothing of ours is left to hand back).
      let idleSince = activeTasks === 0 ? Date.now() : Infinity;
      setInterval(() => {
        if (activeTasks > 0) idleSince = Infinity;
        else if (idleSince === Infinity) idleSince = Date.now();
        else if (Date.now() - idleSince > 5_000) process.exit(0);
      }, 500).unref();
      void (async () => {
        // close() waits for the tasks in flight to finish (their locks are kept meanwhile).
        await threadScaler?.stop();
        await worker.close();
        clearInterval(sweep);
        await Promise.all([...pools.values()].map((p) => p.then((pool) => pool.executor.close(), () => {})));
        conn.disconnect();
        prepared.cleanup();
        resolve();
      })();
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    // A worker started by a driver (--autoscale local) retires when that driver goes away.
    if (process.channel) {
      process.on("disconnect", () => stop("driver gone"));
      process.channel.unref();
    }
    process.on("SIGINT", () => stop("SIGINT"));
  });
  await worker.waitUntilReady();
  if (process.env.SIROCCO_DEBUG) log(`sirocco worker ${name}: serving queue ${o.queue} (${Math.round(performance.now())} ms after process start)`);
  await stopped;
}
