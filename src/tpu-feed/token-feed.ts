/**
 * The per-host training feed over a token cache.
 *
 * Algorithm (the Python reader in clients/python/sirocco_feed.py implements the same):
 *
 * 1. The stream is the concatenation of every published part's tokens in ledger order
 *    (documents already end with EOS when the cache was made with `appendEos`).
 * 2. Window w is stream tokens [w·seqLen, (w+1)·seqLen). Only whole windows exist; once the
 *    cache is finished it has W = floor(tokens / seqLen) windows (the tail is dropped).
 * 3. Step s of the global schedule holds samples g = s·globalBatch + j, j = 0…globalBatch-1.
 *    While the cache is finished, an epoch has E = floor(W / globalBatch) steps; step s is
 *    step s mod E of epoch e = floor(s / E) (`epochs` bounds e; the feed ends after them).
 *    Before the cache is finished, step s is in epoch 0 and waits until windows
 *    0 … (s+1)·globalBatch − 1 are published (rounded up to whole blocks when shuffled), for
 *    the whole global batch, not only this host's rows.
 * 4. Sample g maps to a window: `shuffle: "none"` → w = g. `shuffle: "window"` → with block
 *    size B = `shuffleWindow`, block b = floor(g / B), position p = g mod B,
 *    w = b·B + perm(n_b, key(seed, e, b))[p], where n_b = B, or W − b·B for the last, partial
 *    block of a finished cache (see window-permutation.ts). Because of the wait in 3, a step
 *    computed while the cache grows equals the same step computed after it finished.
 * 5. Host h of H takes rows h·L … (h+1)·L − 1 of the global batch, L = globalBatch / H.
 */
import { PlanError, SiroccoError } from "../core/errors.js";
import {
  cacheRoot,
  fingerprintDiff,
  fingerprintString,
  readBytes,
  readLedger,
  tokensPath,
  type CacheFingerprint,
  type Ledger,
  type LedgerShard,
} from "./cache-format.js";
import { permutationKey, windowPermutation } from "./window-permutation.js";

export interface TokenFeedOptions {
  /** Tokens per row. */
  seqLen: number;
  /** Rows per step across all hosts; must be divisible by `hostCount`. */
  globalBatch: number;
  /** This host's index; default `TPU_WORKER_ID`, else 0. */
  hostIndex?: number;
  /** Hosts in the gang; default the number of `TPU_WORKER_HOSTNAMES` (comma-separated), else 1. */
  hostCount?: number;
  /** uint32 seed of the window permutation (default 0). */
  seed?: number;
  /** First step to yield (default 0): resume after a restart. */
  startStep?: number;
  /** `"window"` (default): permute within blocks of `shuffleWindow` windows; `"none"`: stream order. */
  shuffle?: "none" | "window";
  /** Windows per permutation block (default 4096). Larger mixes more but waits for more data. */
  shuffleWindow?: number;
  /** Epochs over a finished cache before the feed ends (default 1; `Infinity` never ends). */
  epochs?: number;
  /** Steps computed ahead of the consumer (default 2). */
  prefetch?: number;
  /** Fail when the cache's fingerprint differs from these fields (e.g. `{ tokenizer: "cl100k_base" }`). */
  fingerprint?: Partial<CacheFingerprint>;
  /** First wait between ledger polls while data is unpublished (default 200 ms; doubles up to `maxPollMs`). */
  pollMs?: number;
  /** Longest wait between polls (default 5000 ms). */
  maxPollMs?: number;
  /** Give up waiting for data after this long (default: wait forever). */
  waitTimeoutMs?: number;
  /** Bytes of token parts kept in memory (default 1 GiB; least recently used dropped first). */
  cacheBytes?: number;
}

export interface TokenBatch {
  step: number;
  /** This host's rows, row-major: `localBatch × seqLen` token ids. */
  tokens: Uint32Array;
}

interface Resolved {
  seqLen: number;
  globalBatch: number;
  hostIndex: number;
  hostCount: number;
  localBatch: number;
  seed: number;
  startStep: number;
  shuffle: "none" | "window";
  shuffleWindow: number;
  epochs: number;
  prefetch: number;
  pollMs: number;
  maxPollMs: number;
  waitTimeoutMs: number;
  cacheBytes: number;
  fingerprint?: Partial<CacheFingerprint>;
}

function int(v: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new PlanError(`openTokenFeed options.${what} must be an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ""}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new PlanError(`environment variable ${name}=${JSON.stringify(v)} is not a host index`);
  return n;
}

/** Validates options and fills defaults (hosts from TPU_WORKER_ID / TPU_WORKER_HOSTNAMES). */
export function resolveFeedOptions(o: TokenFeedOptions): Resolved {
  if (!o || typeof o !== "object") throw new PlanError("openTokenFeed needs options { seqLen, globalBatch, … }");
  const seqLen = int(o.seqLen, "seqLen", 1);
  const globalBatch = int(o.globalBatch, "globalBatch", 1);
  const hostnames = process.env.TPU_WORKER_HOSTNAMES?.split(",").filter((h) => h.trim() !== "");
  const hostCount = int(o.hostCount ?? (hostnames && hostnames.length > 0 ? hostnames.length : 1), "hostCount", 1);
  const hostIndex = int(o.hostIndex ?? envInt("TPU_WORKER_ID") ?? 0, "hostIndex", 0);
  if (hostIndex >= hostCount) throw new PlanError(`openTokenFeed: hostIndex ${hostIndex} is not below hostCount ${hostCount}`);
  if (globalBatch % hostCount !== 0) {
    throw new PlanError(`openTokenFeed: globalBatch ${globalBatch} is not divisible by hostCount ${hostCount}; every host must get the same number of rows (e.g. globalBatch ${Math.ceil(globalBatch / hostCount) * hostCount})`);
  }
  const shuffle = o.shuffle ?? "window";
  if (shuffle !== "none" && shuffle !== "window") throw new PlanError(`openTokenFeed options.shuffle must be "none" or "window", got ${JSON.stringify(shuffle)}`);
  const epochs = o.epochs ?? 1;
  if (epochs !== Infinity) int(epochs, "epochs", 1);
  return {
    seqLen,
    globalBatch,
    hostIndex,
    hostCount,
    localBatch: globalBatch / hostCount,
    seed: int(o.seed ?? 0, "seed", 0, 0xffffffff),
    startStep: int(o.startStep ?? 0, "startStep", 0),
    shuffle,
    shuffleWindow: int(o.shuffleWindow ?? 4096, "shuffleWindow", 1, 1 << 24),
    epochs,
    prefetch: int(o.prefetch ?? 2, "prefetch", 0, 1024),
    pollMs: int(o.pollMs ?? 200, "pollMs", 1),
    maxPollMs: int(o.maxPollMs ?? 5000, "maxPollMs", 1),
    waitTimeoutMs: o.waitTimeoutMs === undefined ? Infinity : int(o.waitTimeoutMs, "waitTimeoutMs", 0),
    cacheBytes: int(o.cacheBytes ?? 1 << 30, "cacheBytes", 0),
    fingerprint: o.fingerprint,
  };
}

/** What a step needs: its windows in order, or "end" when the schedule is over. */
type StepPlan = { kind: "ready"; windows: Uint32Array | number[] } | { kind: "wait" } | { kind: "end" };

/**
 * A deterministic per-host feed of fixed-length token rows from a token cache; see the
 * module comment for the exact algorithm. Waits (polling the ledger with backoff) while the
 * data a step needs is not yet published.
 *
 * @example
 * for await (const { step, tokens } of openTokenFeed("cache/", { seqLen: 2048, globalBatch: 256, seed: 1 })) {
 *   train(step, tokens); // tokens: (globalBatch / hostCount) × seqLen uint32
 * }
 */
export function openTokenFeed(uri: string, options: TokenFeedOptions): TokenFeed {
  return new TokenFeed(uri, resolveFeedOptions(options));
}

export class TokenFeed implements AsyncIterable<TokenBatch> {
  private readonly root: string;
  private ledger: Ledger | undefined;
  private partStarts: number[] = [];
  private readonly parts = new Map<string, Promise<Uint32Array>>();
  private partsBytes = 0;
  private readonly perms = new Map<string, Uint32Array>();
  private refreshing: Promise<void> | undefined;

  /** @internal */
  constructor(
    uri: string,
    private readonly o: Resolved,
  ) {
    this.root = cacheRoot(uri);
  }

  /** Rows per step on this host. */
  get localBatch(): number {
    return this.o.localBatch;
  }

  /** The ledger as last read (undefined before the first read or while none exists). */
  get currentLedger(): Ledger | undefined {
    return this.ledger;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<TokenBatch> {
    const queue: Array<Promise<TokenBatch | undefined>> = [];
    let next = this.o.startStep;
    const stop = { stopped: false };
    const fill = (): void => {
      while (queue.length <= this.o.prefetch) {
        const p = this.batch(next++, stop);
        p.catch(() => {});
        queue.push(p);
      }
    };
    try {
      fill();
      for (;;) {
        const b = await queue.shift()!;
        if (!b) return;
        yield b;
        fill();
      }
    } finally {
      // The consumer stopped (or the feed ended): prefetches still waiting for data give up
      // at their next poll instead of keeping the process alive.
      stop.stopped = true;
    }
  }

  /**
   * This host's batch of step `step`, waiting until its data is published; undefined after
   * the last step (or once `stop.stopped` is set while waiting).
   */
  async batch(step: number, stop: { readonly stopped: boolean } = { stopped: false }): Promise<TokenBatch | undefined> {
    const started = Date.now();
    let wait = this.o.pollMs;
    for (;;) {
      if (stop.stopped) return undefined;
      await this.refresh(false);
      const plan = this.plan(step);
      if (plan.kind === "end") return undefined;
      if (plan.kind === "ready") return { step, tokens: await this.gather(plan.windows) };
      if (Date.now() - started + wait > this.o.waitTimeoutMs) {
        throw new SiroccoError(
          `openTokenFeed: step ${step} of ${this.root} was not published within ${this.o.waitTimeoutMs} ms (ledger: ${this.ledger ? `${this.ledger.publishedShards}/${this.ledger.inputShards} shards, ${this.ledger.tokens} tokens` : "none yet"})`,
        );
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, this.o.maxPollMs);
      await this.refresh(true);
    }
  }

  /** Reads the ledger (once, or again when `force`) and checks it only grew. */
  private refresh(force: boolean): Promise<void> {
    if (this.ledger?.finished || (this.ledger && !force)) return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        const l = await readLedger(this.root);
        if (!l) return;
        if (this.o.fingerprint) {
          const diff = fingerprintDiff(l.fingerprint, this.o.fingerprint);
          if (diff.length > 0) throw new PlanError(`token cache ${this.root} has ${fingerprintString(l.fingerprint)}, not what this reader asked for (${diff.join("; ")})`);
        }
        const old = this.ledger;
        if (old && (l.parts.length < old.parts.length || old.parts.some((p, i) => p.name !== l.parts[i]!.name || p.tokens !== l.parts[i]!.tokens))) {
          throw new PlanError(`token cache ${this.root} changed under the reader (its ledger went backwards or was rewritten); the cache was deleted or rebuilt`);
        }
        const starts: number[] = [];
        let at = 0;
        for (const p of l.parts) {
          starts.push(at);
          at += p.tokens;
        }
        this.partStarts = starts;
        this.ledger = l;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private plan(step: number): StepPlan {
    const l = this.ledger;
    if (!l) return { kind: "wait" };
    const { seqLen, globalBatch, localBatch, hostIndex, shuffle, shuffleWindow: B } = this.o;
    const available = Math.floor(l.tokens / seqLen);
    let epoch = 0;
    let inEpoch = step;
    if (l.finished) {
      const perEpoch = Math.floor(available / globalBatch);
      if (perEpoch === 0) {
        throw new PlanError(`token cache ${this.root} holds ${l.tokens} tokens = ${available} windows of ${seqLen}, fewer than one global batch of ${globalBatch}`);
      }
      epoch = Math.floor(step / perEpoch);
      if (epoch >= this.o.epochs) return { kind: "end" };
      inEpoch = step % perEpoch;
    }
    if (!l.finished) {
      // Wait until every window of the whole global batch (and, shuffled, of every block it
      // touches) is published: then the answer equals what a finished cache gives.
      const last = (inEpoch + 1) * globalBatch;
      const needed = shuffle === "none" ? last : Math.ceil(last / B) * B;
      if (available < needed) return { kind: "wait" };
    }
    const first = inEpoch * globalBatch + hostIndex * localBatch;
    const windows = new Array<number>(localBatch);
    for (let r = 0; r < localBatch; r++) {
      const g = first + r;
      if (shuffle === "none") {
        windows[r] = g;
        continue;
      }
      const b = Math.floor(g / B);
      const blockStart = b * B;
      const n = Math.min(B, available - blockStart); // partial only for the last block of a finished cache
      windows[r] = blockStart + this.perm(n, epoch, b)[g - blockStart]!;
    }
    return { kind: "ready", windows };
  }

  private perm(n: number, epoch: number, block: number): Uint32Array {
    const k = `${n}:${epoch}:${block}`;
    let p = this.perms.get(k);
    if (!p) {
      if (this.perms.size >= 64) this.perms.delete(this.perms.keys().next().value!);
      p = windowPermutation(n, permutationKey(this.o.seed, epoch, block));
      this.perms.set(k, p);
    }
    return p;
  }

  private async gather(windows: ArrayLike<number>): Promise<Uint32Array> {
    const { seqLen } = this.o;
    const out = new Uint32Array(windows.length * seqLen);
    for (let r = 0; r < windows.length; r++) {
      let pos = windows[r]! * seqLen;
      let dst = r * seqLen;
      let left = seqLen;
      let i = this.partIndex(pos);
      while (left > 0) {
        const part = this.ledger!.parts[i]!;
        const data = await this.part(part);
        const from = pos - this.partStarts[i]!;
        const n = Math.min(left, part.tokens - from);
        out.set(data.subarray(from, from + n), dst);
        dst += n;
        pos += n;
        left -= n;
        i++;
      }
    }
    return out;
  }

  /** Index of the part holding stream token `pos` (parts with 0 tokens are skipped). */
  private partIndex(pos: number): number {
    const s = this.partStarts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    while (this.ledger!.parts[lo]!.tokens === 0 || pos >= s[lo]! + this.ledger!.parts[lo]!.tokens) lo++;
    return lo;
  }

  private part(p: LedgerShard): Promise<Uint32Array> {
    const hit = this.parts.get(p.name);
    if (hit) {
      this.parts.delete(p.name);
      this.parts.set(p.name, hit); // most recently used last
      return hit;
    }
    const path = tokensPath(this.root, p.name);
    const load = readBytes(path).then((buf) => {
      if (buf.byteLength !== p.tokens * 4) {
        throw new PlanError(`${path} has ${buf.byteLength} bytes; the ledger says ${p.tokens} tokens (${p.tokens * 4} bytes): the cache is damaged`);
      }
      return buf.byteOffset % 4 === 0 ? new Uint32Array(buf.buffer, buf.byteOffset, p.tokens) : new Uint32Array(Uint8Array.prototype.slice.call(buf).buffer);
    });
    this.parts.set(p.name, load);
    this.partsBytes += p.tokens * 4;
    load.catch(() => {
      if (this.parts.get(p.name) === load) {
        this.parts.delete(p.name);
        this.partsBytes -= p.tokens * 4;
      }
    });
    for (const [name] of this.parts) {
      if (this.partsBytes <= this.o.cacheBytes || this.parts.size <= 2) break;
      const bytes = this.ledger!.parts.find((x) => x.name === name)?.tokens ?? 0;
      this.parts.delete(name);
      this.partsBytes -= bytes * 4;
    }
    return load;
  }
}
