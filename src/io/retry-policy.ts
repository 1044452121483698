import { setTimeout as sleep } from "node:timers/promises";
import { IoError } from "../core/errors.js";

/**
 * How a store retries transient failures: exponential backoff with full jitter (the delay
 * before retry `n` is uniform in `[0, min(maxDelayMs, baseDelayMs · 2^n))`), at most
 * `retries` extra attempts. Defaults come from the environment so every thread and process
 * of a run agrees: `SIROCCO_IO_RETRIES` (8), `SIROCCO_IO_RETRY_BASE_MS` (100),
 * `SIROCCO_IO_RETRY_MAX_MS` (10 000) — about 25 s of waiting in the worst case.
 */
export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** The policy from the environment (see {@link RetryPolicy}); invalid values fall back to the defaults. */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const num = (name: string, dflt: number) => {
    const v = env[name];
    if (v === undefined || v === "") return dflt;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? n : dflt;
  };
  return { retries: Math.floor(num("SIROCCO_IO_RETRIES", 8)), baseDelayMs: num("SIROCCO_IO_RETRY_BASE_MS", 100), maxDelayMs: num("SIROCCO_IO_RETRY_MAX_MS", 10_000) };
}

/** The delay before retry number `attempt` (0-based): full jitter. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * cap);
}

const RETRYABLE_CODES = new Set(["ECONNRESET", "ETIMEDOUT", "EPIPE", "ECONNREFUSED", "EAI_AGAIN", "ENOTFOUND", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE", "UND_ERR_SOCKET"]);

/** The HTTP status of an error from an HTTP client, if it carries one. */
export function httpStatusOf(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const o = e as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  if (typeof o.code === "number") return o.code;
  if (typeof o.status === "number") return o.status;
  if (typeof o.response?.status === "number") return o.response.status;
  // The client's resumable uploads report the last status only in the message.
  const m = e instanceof Error ? /^Retry (?:total time )?limit exceeded - status: (\d{3})\b/.exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

/** Whether a failure is transient: HTTP 408/429/5xx, connection resets and time-outs. */
export function isTransient(e: unknown): boolean {
  if (e instanceof IoError) return e.retryable;
  const status = httpStatusOf(e);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  const o = e as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (o && typeof o.code === "string" && RETRYABLE_CODES.has(o.code)) return true;
  const msg = typeof o?.message === "string" ? o.message : "";
  if (/socket hang up|ECONNRESET|ETIMEDOUT|EPIPE|premature close|other side closed|network|aborted/i.test(msg)) return true;
  return o?.cause !== undefined && o.cause !== e ? isTransient(o.cause) : false;
}

/**
 * Runs `fn` until it succeeds, it fails with a non-transient error, or the retries run out.
 * `fn` gets the 0-based attempt number. Transient failures are retried after
 * {@link backoffMs}; when retries run out the last error is thrown as it is, so the caller
 * can describe it (see {@link describeIoFailure}).
 *
 * @example const meta = await withRetries(policy, () => file.getMetadata());
 */
export async function withRetries<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>, onRetry?: (e: unknown, attempt: number) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isTransient(e) || attempt >= policy.retries) throw e;
      onRetry?.(e, attempt);
      await sleep(backoffMs(policy, attempt));
    }
  }
}
