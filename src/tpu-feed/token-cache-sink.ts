/**
 * The task side of `.writeTokenCache()`: writes one input shard as parts of up to
 * `shardRows` documents (tokens + offsets), then the shard's manifest, each committed
 * atomically through the object store. The ledger is not touched here: only the driver
 * writes it (see ledger-writer.ts), so concurrent tasks finishing out of order can never
 * make it go backwards.
 */
import fsp from "node:fs/promises";
import os from "node:os";
import { InternalError, PlanError } from "../core/errors.js";
import { StepFailure, type Chunk } from "../exec/operators/chunk.js";
import type { TaskSpec } from "../exec/task-spec.js";
import { FileWriter } from "../io/file-writer.js";
import { storeFor } from "../io/store-for.js";
import type { SinkNode } from "../plan/nodes.js";
import { CACHE_FORMAT, CACHE_VERSION, manifestPath, offsetsPath, partName, tokensPath, type CachePart, type ShardManifest } from "./cache-format.js";
import { fingerprintOf } from "./tokenizer.js";

if (os.endianness() !== "LE") throw new InternalError("the token cache writer needs a little-endian machine");

/**
 * Writes `bytes` to `finalPath` atomically; returns the bytes written. `ifGeneration` ("0":
 * must not exist) makes the commit conditional; an identical object already there counts as
 * written (a duplicate attempt of a deterministic task).
 */
export async function writeObject(finalPath: string, bytes: Uint8Array | string, tag: string, ifGeneration?: string): Promise<number> {
  const pending = await storeFor(finalPath).beginWrite(finalPath, tag, ifGeneration === undefined ? {} : { ifGeneration });
  try {
    await fsp.writeFile(pending.tempPath, bytes);
    await pending.commit();
  } catch (e) {
    await pending.abort();
    throw e;
  }
  return typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.byteLength;
}

class PartWriter {
  private readonly offsets: number[] = [0];
  private tokens = 0;
  private constructor(
    readonly name: string,
    private readonly pending: Awaited<ReturnType<ReturnType<typeof storeFor>["beginWrite"]>>,
    private readonly writer: FileWriter,
  ) {}

  static async open(uri: string, name: string, tag: string): Promise<PartWriter> {
    const p = tokensPath(uri, name);
    const pending = await storeFor(p).beginWrite(p, tag);
    return new PartWriter(name, pending, new FileWriter(pending.tempPath, `${p}.bin`));
  }

  get rows(): number {
    return this.offsets.length - 1;
  }

  async add(docs: Uint32Array[]): Promise<void> {
    let n = 0;
    for (const d of docs) n += d.length;
    const buf = new Uint32Array(n);
    let at = 0;
    for (const d of docs) {
      buf.set(d, at);
      at += d.length;
      this.tokens += d.length;
      this.offsets.push(this.tokens);
    }
    if (n > 0) await this.writer.write(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  }

  /** Commits tokens then offsets; returns the part and the bytes written. */
  async commit(uri: string, tag: string): Promise<{ part: CachePart; bytes: number }> {
    const tokenBytes = await this.writer.close();
    await this.pending.commit();
    const off = new BigUint64Array(this.offsets.length);
    for (let i = 0; i < this.offsets.length; i++) off[i] = BigInt(this.offsets[i]!);
    const offBytes = await writeObject(offsetsPath(uri, this.name), new Uint8Array(off.buffer), tag);
    return { part: { name: this.name, rows: this.rows, tokens: this.tokens }, bytes: tokenBytes + offBytes };
  }

  async abort(): Promise<void> {
    await this.writer.destroy();
    await this.pending.abort();
  }
}

function asTokens(row: unknown, c: Chunk, i: number): Uint32Array {
  if (row instanceof Uint32Array) return row;
  if (Array.isArray(row) && row.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) return Uint32Array.from(row as number[]);
  throw new StepFailure(
    new TypeError(`writeTokenCache needs rows of token ids (Uint32Array, as .tokenize() makes), got ${row === null ? "null" : typeof row}`),
    "writeTokenCache",
    c.file,
    c.lines?.[i],
  );
}

/** Runs in the task: writes input shard `spec.shard` of the cache. */
export async function writeTokenCacheShard(chunks: AsyncIterable<Chunk>, node: SinkNode, spec: TaskSpec): Promise<{ outputs: string[]; bytesWritten: number }> {
  if (node.kind !== "writeTokenCache") throw new InternalError(`writeTokenCacheShard got ${node.kind}`);
  const { uri, shardRows } = node;
  const tag = spec.runId;
  const fingerprint = await fingerprintOf(node.tokenizer.encoding, node.tokenizer.appendEos);
  const parts: CachePart[] = [];
  let bytes = 0;
  let cur: PartWriter | undefined;
  try {
    for await (const c of chunks) {
      let batch: Uint32Array[] = [];
      for (let i = 0; i < c.rows.length; i++) {
        cur ??= await PartWriter.open(uri, partName(spec.shard, parts.length), tag);
        batch.push(asTokens(c.rows[i], c, i));
        if (cur.rows + batch.length === shardRows) {
          await cur.add(batch);
          batch = [];
          const r = await cur.commit(uri, tag);
          parts.push(r.part);
          bytes += r.bytes;
          cur = undefined;
        }
      }
      if (batch.length > 0) await cur!.add(batch);
    }
    if (cur) {
      const r = await cur.commit(uri, tag);
      parts.push(r.part);
      bytes += r.bytes;
      cur = undefined;
    }
  } catch (e) {
    await cur?.abort();
    throw e;
  }
  const manifest: ShardManifest = { format: CACHE_FORMAT, version: CACHE_VERSION, shard: spec.shard, fingerprint, parts };
  const out = manifestPath(uri, spec.shard);
  // The manifest commits against the generation task planning saw ("0": absent), so two
  // jobs racing on one cache cannot silently replace each other's shard.
  bytes += await writeObject(out, `${JSON.stringify(manifest, null, 1)}\n`, tag, spec.outputGenerations?.[out]);
  return { outputs: [out], bytesWritten: bytes };
}

export function checkManifest(m: ShardManifest, shard: number, path: string): void {
  if (m.format !== CACHE_FORMAT || m.shard !== shard || !Array.isArray(m.parts)) {
    throw new PlanError(`${path} is not the manifest of token cache shard ${shard}`);
  }
}
