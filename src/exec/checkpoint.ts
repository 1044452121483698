/**
 * Stage checkpoints for `--resume`: which plan (fingerprint) last wrote a stage's output
 * folders. A run records it when a stage starts and clears it when the run succeeds, so
 * after a killed or failed run the checkpoint says what made the outputs already there.
 * Resuming with the same plan skips the committed shards; with a changed plan it starts the
 * stage over, saying why (the committed outputs of the old plan are replaced).
 *
 * Where: in Redis (`sirocco:checkpoint:<hash of the output folders>`) on the redis executor,
 * so a driver restarted on another machine finds it; otherwise in a file under
 * `$XDG_CACHE_HOME/sirocco/checkpoints` (default `~/.cache/…`).
 */
import { createHash } from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ResolvedRunOptions } from "../core/options.js";
import type { PhysicalPlan, Stage } from "../plan/stage.js";
import { makeTasks, type PlannedStage, type TaskIds } from "./make-tasks.js";
import type { MapOutput } from "./task-spec.js";

interface Checkpoint {
  fingerprint: string;
  script?: string;
  startedAt: string;
}

interface CheckpointStore {
  get(key: string): Promise<Checkpoint | undefined>;
  set(key: string, c: Checkpoint): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

async function storeFor(o: ResolvedRunOptions): Promise<CheckpointStore> {
  if (o.executor === "redis" && o.redis) {
    const { Redis } = await import("ioredis");
    const r = new Redis(o.redis.url, { maxRetriesPerRequest: null, lazyConnect: true });
    r.on("error", () => {});
    const k = (key: string) => `sirocco:checkpoint:${key}`;
    return {
      get: async (key) => {
        const v = await r.get(k(key));
        return v ? (JSON.parse(v) as Checkpoint) : undefined;
      },
      set: async (key, c) => void (await r.set(k(key), JSON.stringify(c), "EX", 30 * 24 * 3600)),
      delete: async (key) => void (await r.del(k(key))),
      close: async () => r.disconnect(),
    };
  }
  const dir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "sirocco", "checkpoints");
  const file = (key: string) => path.join(dir, `${key}.json`);
  return {
    get: async (key) => {
      try {
        return JSON.parse(await fsp.readFile(file(key), "utf8")) as Checkpoint;
      } catch {
        return undefined;
      }
    },
    set: async (key, c) => {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(file(key), JSON.stringify(c));
    },
    delete: (key) => fsp.rm(file(key), { force: true }),
    close: async () => {},
  };
}

const keyOf = (planned: PlannedStage, stage: Stage): string | undefined =>
  planned.outputDirs.length === 0 ? undefined : createHash("sha256").update(`${stage.id}\n${[...planned.outputDirs].sort().join("\n")}`).digest("hex").slice(0, 32);

/**
 * makeTasks, with `--resume` checked against the stage's checkpoint: a different plan wrote
 * these outputs, so nothing is skipped. Records this run's checkpoint.
 */
export async function planStageWithCheckpoint(
  stage: Stage,
  ids: TaskIds,
  o: ResolvedRunOptions,
  warn: (msg: string) => void,
  shuffle?: { partitions: number; maps: readonly MapOutput[] },
): Promise<PlannedStage> {
  let planned = await makeTasks(stage, ids, o.resume, shuffle);
  const key = keyOf(planned, stage);
  if (!key) return planned;
  const store = await storeFor(o);
  try {
    if (o.resume) {
      const prev = await store.get(key);
      if (prev && prev.fingerprint !== ids.fingerprint) {
        warn(
          `sirocco: --resume: the outputs in ${planned.outputDirs.join(", ")} were written by a different plan (fingerprint ${prev.fingerprint}, started ${prev.startedAt}; ` +
            `this plan is ${ids.fingerprint}): the script or its arguments changed, so stage ${stage.id} starts over and replaces them`,
        );
        planned = await makeTasks(stage, ids, false, shuffle);
      }
    }
    await store.set(key, { fingerprint: ids.fingerprint, script: process.argv[1], startedAt: new Date().toISOString() });
  } finally {
    await store.close();
  }
  return planned;
}

/** The run succeeded: its stages' checkpoints are no longer needed. */
export async function clearCheckpoints(keys: Array<{ stage: Stage; planned: PlannedStage }>, o: ResolvedRunOptions): Promise<void> {
  const ks = keys.map(({ stage, planned }) => keyOf(planned, stage)).filter((k): k is string => k !== undefined);
  if (ks.length === 0) return;
  const store = await storeFor(o);
  try {
    await Promise.all(ks.map((k) => store.delete(k)));
  } finally {
    await store.close();
  }
}
