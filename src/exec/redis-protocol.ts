/**
 * What the driver and `sirocco worker` processes share through Redis (the redis executor's
 * protocol; ARCHITECTURE.md describes it):
 *
 * - one BullMQ queue, keys `sirocco:<queue>:…` (BullMQ's own layout; the waiting tasks are
 *   the Redis list `sirocco:<queue>:wait`, which external scalers such as KEDA can watch);
 * - one job per task attempt: data = the TaskSpec (plain JSON), id = `<runId>.<stage>.<shard>.<attempt>`,
 *   return value = the TaskOutcome, v8-serialized and base64-encoded (the same structured
 *   clone the threads executor uses, so rows keep their types);
 * - per run, the key `sirocco:<queue>:run:<runId>` holds what a worker needs to rebuild the
 *   plan (argv, run index, fingerprint, plan identities, results of earlier runs), written
 *   once by the driver instead of into every job; `sirocco:<queue>:cancel:<runId>` is set
 *   when the run failed, so workers stop its tasks in flight;
 * - `sirocco:<queue>:task-ms` lists the durations of the last 50 tasks (workers push them),
 *   which autoscalers read along with the queue depth.
 */
import v8 from "node:v8";
import type { Redis } from "ioredis";
import type { QueueSnapshot } from "../autoscale/policy.js";
import { IoError } from "../core/errors.js";
import type { RunResult } from "./run-result.js";
import type { TaskOutcome, TaskSpec } from "./task-spec.js";

/** BullMQ key prefix of every queue sirocco uses. */
export const KEY_PREFIX = "sirocco";
/** The queue used when none is given. */
export const DEFAULT_QUEUE = "sirocco";
/** Run metadata outlives a crashed driver by this much, then Redis drops it. */
export const RUN_META_TTL_S = 7 * 24 * 3600;

/** What a worker needs to rebuild a run's plan (the threads executor's workerData minus the script). */
export interface RunMeta {
  version: 1;
  runId: string;
  runIndex: number;
  fingerprint: string;
  identities: readonly string[];
  /** The driver's process.argv: scripts that read arguments rebuild the same plan. */
  argv: string[];
  /** The driver's script (for messages; workers import their own copy). */
  script: string;
  history: ReadonlyArray<RunResult | undefined>;
}

export const runMetaKey = (queue: string, runId: string): string => `${KEY_PREFIX}:${queue}:run:${runId}`;
export const runCancelKey = (queue: string, runId: string): string => `${KEY_PREFIX}:${queue}:cancel:${runId}`;
/** The Redis list of tasks waiting for a worker: its length is the queue depth. */
export const waitListKey = (queue: string): string => `${KEY_PREFIX}:${queue}:wait`;

export function jobIdFor(spec: TaskSpec): string {
  return `${spec.runId}.${spec.stage}.${spec.shard}.${spec.attempt}`;
}

export function encodeValue(value: unknown): string {
  return v8.serialize(value).toString("base64");
}

export function decodeValue<T>(text: string): T {
  return v8.deserialize(Buffer.from(text, "base64")) as T;
}

/** A job's return value: the outcome and how long the task ran in the worker. */
export interface JobReturn {
  outcome: TaskOutcome;
  taskMs: number;
  worker: string;
}

/** Reads a job's return value as BullMQ hands it back (the string itself, or its JSON). */
export function decodeReturn(raw: unknown): JobReturn {
  let s = raw;
  if (typeof s === "string" && s.startsWith('"')) s = JSON.parse(s) as string;
  if (typeof s !== "string") throw new Error(`unexpected task result from Redis: ${JSON.stringify(raw)?.slice(0, 200)}`);
  return decodeValue<JobReturn>(s);
}

/** Recent task durations (ms), newest first, capped at 50. */
export const taskMsKey = (queue: string): string => `${KEY_PREFIX}:${queue}:task-ms`;

/** Records a finished task's duration for autoscalers. */
export async function recordTaskMs(conn: Redis, queue: string, ms: number): Promise<void> {
  await conn.multi().lpush(taskMsKey(queue), String(Math.round(ms))).ltrim(taskMsKey(queue), 0, 49).exec();
}

/**
 * The queue as the autoscaling policy sees it, read straight from BullMQ's keys in one
 * round trip: waiting tasks (the `wait` list plus the `prioritized` set), running tasks
 * (the `active` list) and recent durations.
 */
export async function readQueueSnapshot(conn: Redis, queue: string): Promise<QueueSnapshot> {
  const k = (s: string) => `${KEY_PREFIX}:${queue}:${s}`;
  const res = await conn.multi().llen(k("wait")).zcard(k("prioritized")).llen(k("active")).lrange(taskMsKey(queue), 0, 49).exec();
  if (!res) throw new Error(`could not read queue ${queue}`);
  for (const [err] of res) if (err) throw err;
  const [wait, prio, active, ms] = res.map(([, v]) => v) as [number, number, number, string[]];
  return { backlog: wait + prio, inFlight: active, recentTaskMs: ms.map(Number) };
}

/**
 * Waits until `conn` is connected, failing after `timeoutMs` with an error that names the
 * server and the last connection error (a wrong --redis, or no redis-server running), rather
 * than waiting forever as commands do once connected (they retry through reconnections).
 */
export async function waitConnected(conn: Redis, display: string, timeoutMs = 10_000): Promise<void> {
  if (conn.status === "ready") return;
  let last = "";
  const onError = (e: Error) => (last = e.message);
  conn.on("error", onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.off("ready", ready);
        reject(new IoError(`cannot reach Redis at ${display} within ${timeoutMs / 1000} s${last ? ` (${last})` : ""}; check the --redis URL and that the server is running`, { uri: display, op: "connect", retryable: false }));
      }, timeoutMs);
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      conn.once("ready", ready);
    });
  } finally {
    conn.off("error", onError);
  }
}
