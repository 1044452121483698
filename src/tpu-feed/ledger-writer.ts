/**
 * The driver side of `.writeTokenCache()`: the only writer of `<uri>/ledger.json`.
 *
 * Protocol. A task commits its parts, then its shard manifest, and returns. The driver
 * (one process, one writer) records each finished shard, computes the contiguous prefix of
 * finished shards 0…k-1, and when k grew rewrites the ledger atomically (temporary + rename
 * / upload). Writes are serialized through one promise chain, and k only grows, so the
 * ledger never goes backwards even when tasks finish out of order (shard 5 finishing before
 * shard 3 is recorded but not published until 3 is). On a resumed run the driver rebuilds
 * its state from the manifests of the shards it skips and refuses to publish less than the
 * existing ledger (which would mean the inputs changed). Two jobs writing one cache at once
 * are not supported.
 */
import pLimit from "p-limit";
import { PlanError } from "../core/errors.js";
import type { PlannedStage } from "../exec/make-tasks.js";
import type { SinkDriver } from "../exec/extensions.js";
import type { SinkNode } from "../plan/nodes.js";
import {
  CACHE_FORMAT,
  CACHE_VERSION,
  fingerprintDiff,
  fingerprintString,
  ledgerPath,
  manifestPath,
  readJsonIfExists,
  readLedger,
  type CacheFingerprint,
  type CachePart,
  type Ledger,
  type LedgerShard,
  type ShardManifest,
} from "./cache-format.js";
import { checkManifest, writeObject } from "./token-cache-sink.js";
import { fingerprintOf } from "./tokenizer.js";

export async function tokenCacheDriver(node: SinkNode, planned: PlannedStage, runId: string): Promise<SinkDriver> {
  if (node.kind !== "writeTokenCache") throw new PlanError(`tokenCacheDriver got ${node.kind}`);
  const uri = node.uri;
  const fingerprint = await fingerprintOf(node.tokenizer.encoding, node.tokenizer.appendEos);
  const existing = await readLedger(uri);
  if (existing) {
    const diff = fingerprintDiff(existing.fingerprint, fingerprint);
    if (diff.length > 0) {
      throw new PlanError(
        `token cache ${uri} was written with ${fingerprintString(existing.fingerprint)}, this job tokenizes with ${fingerprintString(fingerprint)} (${diff.join("; ")}); write to another location or delete the cache`,
      );
    }
    if (existing.inputShards !== planned.totalShards) {
      throw new PlanError(`token cache ${uri} was written from ${existing.inputShards} input shards, this job has ${planned.totalShards}; the inputs changed: write to another location or delete the cache`);
    }
  }
  const writer = new LedgerWriter(uri, fingerprint, planned.totalShards, runId);
  const limit = pLimit(32); // on gs:// every manifest is a request
  await Promise.all(planned.skipped.map((s) => limit(() => writer.record(s.shard))));
  if (existing && (writer.published < existing.publishedShards || !samePrefix(existing.parts, writer.parts()))) {
    throw new PlanError(
      `token cache ${uri}: its ledger publishes ${existing.publishedShards} shards but only ${writer.published} matching shard manifests were found; the cache was modified or the inputs changed: delete it and run again`,
    );
  }
  await writer.write();
  return {
    taskDone: (shard) => writer.record(shard).then(() => writer.write()),
    stageEnd: () => writer.write(),
  };
}

function samePrefix(old: readonly LedgerShard[], now: readonly LedgerShard[]): boolean {
  if (now.length < old.length) return false;
  return old.every((p, i) => p.name === now[i]!.name && p.rows === now[i]!.rows && p.tokens === now[i]!.tokens);
}

class LedgerWriter {
  private readonly done = new Map<number, readonly CachePart[]>();
  published = 0;
  private written = -1;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly uri: string,
    private readonly fingerprint: CacheFingerprint,
    private readonly total: number,
    private readonly tag: string,
  ) {}

  /** Reads shard `shard`'s manifest (committed by its task) and advances the published prefix. */
  async record(shard: number): Promise<void> {
    const p = manifestPath(this.uri, shard);
    const m = await readJsonIfExists<ShardManifest>(p);
    if (!m) throw new PlanError(`token cache shard ${shard} finished but its manifest ${p} is missing`);
    checkManifest(m, shard, p);
    const diff = fingerprintDiff(m.fingerprint, this.fingerprint);
    if (diff.length > 0) throw new PlanError(`${p} was written with a different tokenizer (${diff.join("; ")}); delete the cache and run again`);
    this.done.set(shard, m.parts);
    while (this.done.has(this.published)) this.published++;
  }

  parts(): LedgerShard[] {
    const out: LedgerShard[] = [];
    for (let s = 0; s < this.published; s++) for (const p of this.done.get(s)!) out.push({ shard: s, ...p });
    return out;
  }

  /** Publishes the current prefix if it grew since the last write (serialized, monotonic). */
  write(): Promise<void> {
    this.chain = this.chain.then(async () => {
      const k = this.published;
      if (k === this.written) return;
      const parts = this.parts();
      const ledger: Ledger = {
        format: CACHE_FORMAT,
        version: CACHE_VERSION,
        fingerprint: this.fingerprint,
        inputShards: this.total,
        publishedShards: k,
        parts,
        rows: parts.reduce((a, p) => a + p.rows, 0),
        tokens: parts.reduce((a, p) => a + p.tokens, 0),
        finished: k === this.total,
      };
      await writeObject(ledgerPath(this.uri), `${JSON.stringify(ledger, null, 1)}\n`, this.tag);
      this.written = k;
    });
    return this.chain;
  }
}
