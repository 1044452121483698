import { PlanError } from "../core/errors.js";
import { contentHash, sha256 } from "../core/hash.js";
import type { Schema } from "apache-arrow";
import { loadStepName, type AnyFn, type PlanNode, type TokenizerEncoding } from "./nodes.js";

/** A function's source on one line, shortened for display. */
export function fnLabel(fn: AnyFn, max = 60): string {
  const src = Function.prototype.toString.call(fn).replace(/\s+/g, " ").trim();
  return src.length > max ? `${src.slice(0, max - 1)}…` : src;
}

function fnIdentity(fn: AnyFn): string {
  return sha256(Function.prototype.toString.call(fn)).slice(0, 12);
}

function listHash(items: readonly unknown[]): string {
  try {
    return contentHash(items);
  } catch (e) {
    throw new PlanError(
      `Dataset.fromList items must be plain data (structured-cloneable: no functions, class instances with private state, or sockets): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

function encodingLabel(e: TokenizerEncoding): string {
  return typeof e === "string" ? e : `tokenizerJson=${JSON.stringify(e.tokenizerJson)}${e.eosToken ? `, eosToken=${JSON.stringify(e.eosToken)}` : ""}`;
}

function schemaLabel(s: Schema | undefined): string {
  return s ? `, schema={${s.fields.map(String).join(", ")}}` : "";
}

function shardsLabel(n: number | undefined): string {
  return n === undefined ? "" : `, numShards=${n}`;
}

/** Short human label of a node, as `explain()` prints it. */
export function nodeLabel(n: PlanNode): string {
  switch (n.kind) {
    case "fromList":
      return `fromList(${n.items.length} items${n.shards ? `, shards=${n.shards}` : ""})`;
    case "fromFiles":
      return `fromFiles(${JSON.stringify(n.root)}, ${JSON.stringify(n.pattern)}${n.allowEmpty ? ", allowEmpty" : ""})`;
    case "load":
      return `${loadStepName(n)}(${n.onBadLine === "skip" ? "onBadLine=skip" : ""}${n.columns ? `columns=${JSON.stringify(n.columns)}` : ""}${n.shardBytes !== undefined ? ` shardBytes=${n.shardBytes}` : ""})`;
    case "map":
    case "flatMap":
    case "filter":
    case "mapShard":
      return `${n.kind}(${fnLabel(n.fn)})`;
    case "window":
      return `window(${n.size})`;
    case "take":
      return `take(${n.n})`;
    case "writeJsonl":
      return `writeJsonl(${JSON.stringify(n.pattern)}${n.skipExisting ? ", skipExisting" : ""})`;
    case "writeParquet":
      return `writeParquet(${JSON.stringify(n.pattern)}, compression=${n.compression}, rowGroupRows=${n.rowGroupRows}${schemaLabel(n.schema)}${n.skipExisting ? ", skipExisting" : ""})`;
    case "writeArrow":
      return `writeArrow(${JSON.stringify(n.pattern)}${schemaLabel(n.schema)}${n.skipExisting ? ", skipExisting" : ""})`;
    case "tokenize":
      return `tokenize(${encodingLabel(n.encoding)}, textField=${JSON.stringify(n.textField)}${n.appendEos ? ", appendEos" : ""})`;
    case "writeTokenCache":
      return `writeTokenCache(${JSON.stringify(n.uri)}, shardRows=${n.shardRows})`;
    case "groupBy":
      return `groupBy(${fnLabel(n.key, 40)}, ${fnLabel(n.reducer, 40)}${n.combiner ? `, combiner=${fnLabel(n.combiner, 40)}` : ""}${shardsLabel(n.numShards)})`;
    case "dedupe":
      return `dedupe(${n.key ? fnLabel(n.key, 40) : "whole row"}${shardsLabel(n.numShards)})`;
    case "countBy":
      return `countBy(${fnLabel(n.key, 40)}${shardsLabel(n.numShards)})`;
    case "reduce":
      return `reduce(${fnLabel(n.local, 40)}${n.global ? `, ${fnLabel(n.global, 40)}` : ""})`;
    case "reshard":
      return `reshard(${n.n})`;
    case "join":
      return `join(${n.how}, leftKey=${fnLabel(n.leftKey, 30)}, rightKey=${fnLabel(n.rightKey, 30)}${shardsLabel(n.numShards)})`;
    case "mapFiles":
      return `mapFiles(${fnLabel(n.fn)}, outputDir=${JSON.stringify(n.outputDir)}${n.rename ? `, rename=${fnLabel(n.rename, 40)}` : ""}${n.skipExisting ? ", skipExisting" : ""})`;
  }
}

/**
 * Canonical identity of a node for the plan fingerprint: its kind, parameters, a hash of
 * each function's source and of in-memory inputs. Two processes that build the same plan
 * from the same script produce the same strings; the first string that differs is what a
 * fingerprint mismatch reports.
 */
export function nodeIdentity(n: PlanNode): string {
  switch (n.kind) {
    case "fromList":
      return `fromList(items#${listHash(n.items)}, n=${n.items.length}, shards=${n.shards ?? "default"})`;
    case "map":
    case "flatMap":
    case "filter":
    case "mapShard":
      return `${nodeLabel(n)} fn#${fnIdentity(n.fn)}`;
    case "groupBy":
      return `${nodeLabel(n)} key#${fnIdentity(n.key)} reducer#${fnIdentity(n.reducer)}${n.combiner ? ` combiner#${fnIdentity(n.combiner)}` : ""}`;
    case "dedupe":
      return `${nodeLabel(n)}${n.key ? ` key#${fnIdentity(n.key)}` : ""}`;
    case "countBy":
      return `${nodeLabel(n)} key#${fnIdentity(n.key)}`;
    case "reduce":
      return `${nodeLabel(n)} local#${fnIdentity(n.local)}${n.global ? ` global#${fnIdentity(n.global)}` : ""}`;
    case "join":
      return `${nodeLabel(n)} leftKey#${fnIdentity(n.leftKey)} rightKey#${fnIdentity(n.rightKey)}`;
    case "mapFiles":
      return `${nodeLabel(n)} fn#${fnIdentity(n.fn)}${n.rename ? ` rename#${fnIdentity(n.rename)}` : ""}`;
    default:
      return nodeLabel(n);
  }
}
