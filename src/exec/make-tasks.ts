import path from "node:path";
import pLimit from "p-limit";
import { PlanError } from "../core/errors.js";
import type { FileRef } from "../core/types.js";
import { formatPattern, inputBasename, patternTokens } from "../io/output-pattern.js";
import { storeFor } from "../io/store-for.js";
import { defaultListShards } from "../plan/nodes.js";
import type { Stage } from "../plan/stage.js";
import { rebase } from "./sinks/map-files.js";
import { splitParquetByRowGroup } from "./split-row-groups.js";
import type { MapOutput, TaskInput, TaskSpec } from "./task-spec.js";

export interface PlannedStage {
  /** Tasks to run, in shard order. */
  tasks: TaskSpec[];
  totalShards: number;
  /** Shards whose output exists already, with those outputs. */
  skipped: Array<{ shard: number; outputs: string[] }>;
  /** Folders the stage's tasks write into (where their temporary files live). */
  outputDirs: string[];
}

export interface TaskIds {
  runId: string;
  runIndex: number;
  fingerprint: string;
  memoryBytes?: number;
}

/**
 * Turns a stage into tasks at run time: lists input files (never while building the plan),
 * splits in-memory lists, resolves each shard's output path, checks that no two shards
 * write one file, and leaves out shards whose output exists when skipping is on.
 */
export async function makeTasks(stage: Stage, ids: TaskIds, resume: boolean, shuffle?: { partitions: number; maps: readonly MapOutput[] }): Promise<PlannedStage> {
  const inputs = await splitParquetByRowGroup(stage, await stageInputs(stage, shuffle));
  const total = inputs.length;
  const outputFor = outputResolver(stage, inputs);
  const skip = resume || (stage.sink?.skipExisting ?? false);

  const tasks: TaskSpec[] = [];
  const skipped: PlannedStage["skipped"] = [];
  const outputDirs = new Set<string>();
  // One stat per expected output (in parallel: on gs:// each is a request): it decides
  // skipping and gives the generation each task commits against.
  const generations = await outputGenerations(Array.from({ length: total }, (_, shard) => outputFor.expected(shard) ?? []));
  for (let shard = 0; shard < total; shard++) {
    const input = inputs[shard]!;
    const outputPath = outputFor.path(shard);
    const expected = outputFor.expected(shard) ?? [];
    for (const p of expected) outputDirs.add(path.dirname(p));
    if (skip && expected.length > 0 && expected.every((p) => generations.get(p) !== "0")) {
      skipped.push({ shard, outputs: expected });
      continue;
    }
    const outputGenerations = expected.length > 0 ? Object.fromEntries(expected.map((p) => [p, generations.get(p) ?? "0"])) : undefined;
    tasks.push({ ...ids, stage: stage.id, shard, totalShards: total, input, outputPath, ...(outputGenerations ? { outputGenerations } : {}), attempt: 1 });
  }
  return { tasks, totalShards: total, skipped, outputDirs: [...outputDirs] };
}

/** The current generation of every path ("0" when absent), at most 32 stats at a time. */
async function outputGenerations(perShard: string[][]): Promise<Map<string, string>> {
  const limit = pLimit(32);
  const paths = [...new Set(perShard.flat())];
  const gens = await Promise.all(paths.map((p) => limit(async () => (await storeFor(p).stat(p))?.generation ?? "0")));
  return new Map(paths.map((p, i) => [p, gens[i]!]));
}

async function stageInputs(stage: Stage, shuffle?: { partitions: number; maps: readonly MapOutput[] }): Promise<TaskInput[]> {
  const src = stage.source;
  if (src.kind === "shuffleRead") {
    if (!shuffle) throw new PlanError(`stage ${stage.id} reads a shuffle but no map outputs were given (this is a bug in sirocco; please report it)`);
    return Array.from({ length: shuffle.partitions }, (_, partition) => ({ kind: "shuffle" as const, partition, maps: shuffle.maps }));
  }
  if (src.kind === "fromFiles") {
    const files = await storeFor(src.root).list(src.root, src.pattern);
    if (files.length === 0 && !src.allowEmpty) {
      throw new PlanError(
        `Dataset.fromFiles(${JSON.stringify(src.root)}, ${JSON.stringify(src.pattern)}) matched no files; check the folder and the glob, or pass { allowEmpty: true }`,
      );
    }
    return files.map((f: FileRef) => ({ kind: "files", root: src.root, files: [f] }));
  }
  const n = src.items.length;
  const shards = src.shards ?? defaultListShards(n);
  return Array.from({ length: shards }, (_, i) => ({
    kind: "list" as const,
    start: Math.floor((i * n) / shards),
    end: Math.floor(((i + 1) * n) / shards),
  }));
}

function outputResolver(stage: Stage, inputs: TaskInput[]): { path(shard: number): string | undefined; expected(shard: number): string[] | undefined } {
  const sink = stage.sink;
  const total = inputs.length;
  const fileOf = (shard: number): string | undefined => {
    const inp = inputs[shard]!;
    return inp.kind === "files" ? inp.files[0]?.path : undefined;
  };
  if (!sink) return { path: () => undefined, expected: () => undefined };
  if (sink.kind === "mapFiles") {
    if (stage.source.kind !== "fromFiles") throw new PlanError("mapFiles needs a Dataset.fromFiles source");
    const root = stage.source.root;
    return {
      path: () => undefined,
      expected: (shard) => {
        const f = fileOf(shard);
        return f ? [rebase(root, f, sink.outputDir, sink.rename as never)] : undefined;
      },
    };
  }
  const tokens = patternTokens(sink.pattern);
  if (total > 1 && !tokens.has("shard") && !tokens.has("basename")) {
    throw new PlanError(
      `output pattern ${JSON.stringify(sink.pattern)} must contain {shard} (or {basename}) when writing ${total} shards; e.g. "part-{shard:05d}-of-{total:05d}.jsonl.gz"`,
    );
  }
  const paths = inputs.map((_, shard) => {
    const f = fileOf(shard);
    return formatPattern(sink.pattern, { shard, total, basename: f === undefined ? undefined : inputBasename(f) });
  });
  const seen = new Map<string, number>();
  paths.forEach((p, shard) => {
    const prev = seen.get(p);
    if (prev !== undefined) {
      throw new PlanError(
        `output pattern ${JSON.stringify(sink.pattern)} gives the same file ${p} to shard ${prev} (${fileOf(prev) ?? "list"}) and shard ${shard} (${fileOf(shard) ?? "list"}); add {shard} to the pattern`,
      );
    }
    seen.set(p, shard);
  });
  return { path: (shard) => paths[shard], expected: (shard) => [paths[shard]!] };
}
