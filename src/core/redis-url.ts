import { PlanError } from "./errors.js";

/** A validated Redis address: `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. */
export interface RedisAddress {
  /** The URL as given (ioredis accepts it as is). */
  url: string;
  tls: boolean;
  host: string;
  port: number;
  db: number;
  /** The URL with the password masked, for messages and logs. */
  display: string;
}

const FORM = "redis://[user:pass@]host:port[/db] (or rediss:// for TLS)";

/**
 * Parses and checks a Redis URL, failing with a PlanError that shows the expected form.
 *
 * @example parseRedisUrl("redis://127.0.0.1:6379/0").port // 6379
 */
export function parseRedisUrl(value: unknown, what = "options.redis"): RedisAddress {
  if (typeof value !== "string" || value.trim() === "") {
    throw new PlanError(`${what} must be a Redis URL like ${FORM}, got ${JSON.stringify(value)}`);
  }
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new PlanError(`${what} must be a Redis URL like ${FORM}, got ${JSON.stringify(value)}`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new PlanError(`${what} must start with redis:// or rediss:// (${FORM}), got ${JSON.stringify(value)}`);
  }
  if (!u.hostname) throw new PlanError(`${what} has no host: ${JSON.stringify(value)}; expected ${FORM}`);
  const port = u.port === "" ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PlanError(`${what} has a bad port in ${JSON.stringify(value)}; expected ${FORM}`);
  const dbText = u.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || !Number.isInteger(db)) {
    throw new PlanError(`${what} names database ${JSON.stringify(dbText)}, which is not a number, in ${JSON.stringify(value)}; expected ${FORM}`);
  }
  const masked = new URL(u.href);
  if (masked.password) masked.password = "***";
  return { url: value, tls: u.protocol === "rediss:", host: u.hostname, port, db, display: masked.href };
}

/** Queue names become parts of Redis keys: letters, digits, `_`, `-` and `.` only. */
export function checkQueueName(value: unknown, what = "options.queue"): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9_.-]{1,100}$/.test(value)) {
    throw new PlanError(`${what} must be 1-100 letters, digits, "_", "-" or ".", got ${JSON.stringify(value)}`);
  }
  return value;
}
