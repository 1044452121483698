import os from "node:os";
import { PlanError } from "./errors.js";
import { checkQueueName, parseRedisUrl, type RedisAddress } from "./redis-url.js";

export type ExecutorName = "inline" | "threads" | "redis";
export type ProgressMode = "auto" | "bar" | "log" | "none";
/** Who starts workers for the redis executor: nobody (`"off"`, workers are started by you) or the driver (`"local"`). */
export type AutoscaleMode = "off" | "local";

/** Options of `run()`; the CLI's flags become their defaults. */
export interface RunOptions {
  /** Where tasks run. Default `"threads"`. */
  executor?: ExecutorName;
  /** Worker threads (or processes). Default: one per core (`os.availableParallelism()`). */
  workers?: number;
  /** Memory budget per task, bytes or a string like `"2GB"`. Default `"1GB"`. */
  memory?: number | string;
  /** Scratch space for spills and temporary data. Default: a fresh folder under the OS temp dir. */
  scratch?: string;
  /** Re-attempts of a task whose user code threw, before the run fails. Default 3. */
  retries?: number;
  /** Re-attempts of a task whose worker died (infrastructure failures). Default 20. */
  infraRetries?: number;
  /** Skip shards whose final output already exists (like `skipExisting` on every sink). Default false. */
  resume?: boolean;
  /** Progress display: a bar on a TTY, log lines otherwise (`"auto"`, the default), or forced. */
  progress?: ProgressMode;
  /**
   * The module that builds this pipeline, which worker threads import to rebuild the plan.
   * Default: the script given to `sirocco run`, else `process.argv[1]`. Pass
   * `import.meta.url` when the pipeline is built in a module that is not the main script.
   */
  entry?: string;
  /** The Redis server of the redis executor: `redis://[user:pass@]host:port[/db]` or `rediss://…`. */
  redis?: string;
  /**
   * The BullMQ queue the redis executor uses; workers must serve the same one. Default
   * `"sirocco"`, or a queue private to the run with `autoscale: "local"`.
   */
  queue?: string;
  /** With the redis executor, `"local"` starts and retires `sirocco worker` processes on this machine (at most `workers`). Default `"off"`. */
  autoscale?: AutoscaleMode;
}

export interface ResolvedRunOptions {
  executor: ExecutorName;
  workers: number;
  memoryBytes: number;
  scratch?: string;
  retries: number;
  infraRetries: number;
  resume: boolean;
  progress: ProgressMode;
  entry?: string;
  redis?: RedisAddress;
  /** Set only when given; the redis executor picks its default. */
  queue?: string;
  autoscale: AutoscaleMode;
}

/** Environment variable through which `sirocco run` hands its flags to every `run()`. */
export const DEFAULTS_ENV = "SIROCCO_RUN_DEFAULTS";

const UNITS: Record<string, number> = { "": 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** Parses `"2GB"`, `"512MiB"`, `"1.5 GB"` or a byte count. */
export function parseBytes(value: number | string, what = "memory"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || Math.floor(value) <= 0) throw new PlanError(`${what} must be a positive number of bytes, got ${value}`);
    return Math.floor(value);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? UNITS[m[2]!.toUpperCase()] : undefined;
  if (!m || unit === undefined) {
    throw new PlanError(`${what} must look like "2GB", "512MiB" or a byte count, got ${JSON.stringify(value)}`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes <= 0) throw new PlanError(`${what} must be positive, got ${JSON.stringify(value)}`);
  return bytes;
}

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new PlanError(`options.${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function nonNegativeInt(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new PlanError(`options.${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Reads the defaults `sirocco run` put in the environment (empty when run without the CLI). */
export function envDefaults(): RunOptions {
  const raw = process.env[DEFAULTS_ENV];
  if (!raw) return {};
  try {
    return JSON.parse(raw) as RunOptions;
  } catch {
    throw new PlanError(`${DEFAULTS_ENV} is not valid JSON: ${raw}`);
  }
}

const EXECUTORS: ExecutorName[] = ["inline", "threads", "redis"];
const PROGRESS: ProgressMode[] = ["auto", "bar", "log", "none"];

/** Merges CLI defaults with the call's options and validates them; throws PlanError on bad values. */
export function resolveRunOptions(opts: RunOptions = {}): ResolvedRunOptions {
  const o: RunOptions = { ...envDefaults(), ...stripUndefined(opts) };
  const executor = o.executor ?? "threads";
  if (!EXECUTORS.includes(executor)) {
    throw new PlanError(`options.executor must be one of ${EXECUTORS.join(", ")}, got ${JSON.stringify(executor)}`);
  }
  const progress = o.progress ?? "auto";
  if (!PROGRESS.includes(progress)) {
    throw new PlanError(`options.progress must be one of ${PROGRESS.join(", ")}, got ${JSON.stringify(progress)}`);
  }
  return {
    executor,
    workers: o.workers === undefined ? os.availableParallelism() : positiveInt(o.workers, "workers"),
    memoryBytes: parseBytes(o.memory ?? "1GB", "options.memory"),
    scratch: o.scratch,
    retries: o.retries === undefined ? 3 : nonNegativeInt(o.retries, "retries"),
    infraRetries: o.infraRetries === undefined ? 20 : nonNegativeInt(o.infraRetries, "infraRetries"),
    resume: o.resume ?? false,
    progress,
    entry: o.entry,
    ...redisOptions(executor, o),
  };
}

function redisOptions(executor: ExecutorName, o: RunOptions): Pick<ResolvedRunOptions, "redis" | "queue" | "autoscale"> {
  const autoscale = o.autoscale ?? "off";
  if (autoscale !== "off" && autoscale !== "local") throw new PlanError(`options.autoscale must be "off" or "local", got ${JSON.stringify(autoscale)}`);
  if (executor !== "redis") return { autoscale };
  if (o.redis === undefined) {
    throw new PlanError('the redis executor needs a Redis server: pass --redis redis://host:6379 to `sirocco run` (or { redis: "redis://host:6379" } to run())');
  }
  return { redis: parseRedisUrl(o.redis), ...(o.queue === undefined ? {} : { queue: checkQueueName(o.queue) }), autoscale };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
