/**
 * The error hierarchy of sirocco. One class per category, each carrying the context a user
 * needs to act on it. Errors that cross a thread or machine boundary are serialized with
 * {@link serializeError} and re-created with {@link deserializeError}, keeping class,
 * fields and the `cause` chain (the user's own stack included).
 */

/** Base class of every error sirocco raises on purpose. */
export class SiroccoError extends Error {
  override name = "SiroccoError";
}

/** The pipeline itself is wrong: bad options, bad output pattern, non-deterministic plan. */
export class PlanError extends SiroccoError {
  override name = "PlanError";
}

/** Where a failing row came from. `line` is 1-based, set when the source is line-oriented. */
export interface InputPosition {
  file?: string;
  line?: number;
}

/**
 * Bad input data (a malformed JSONL line, an unreadable file). Deterministic: retrying the
 * same task cannot help, so the run fails on the first attempt.
 */
export class InputError extends SiroccoError {
  override name = "InputError";
  readonly file?: string;
  readonly line?: number;
  constructor(message: string, pos: InputPosition = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.file = pos.file;
    this.line = pos.line;
  }
}

export interface TaskErrorFields {
  stage: number;
  stageLabel?: string;
  shard: number;
  totalShards: number;
  input?: string;
  line?: number;
  attempt: number;
  /** false when retrying cannot help (bad input, bad plan). */
  retryable: boolean;
}

/**
 * A task failed: the user's function threw, the input was bad, or the worker died. Names the
 * stage, shard, input file and line where known; the original error is `cause`.
 */
export class TaskError extends SiroccoError {
  override name = "TaskError";
  readonly stage: number;
  readonly stageLabel?: string;
  readonly shard: number;
  readonly totalShards: number;
  readonly input?: string;
  readonly line?: number;
  readonly attempt: number;
  readonly retryable: boolean;
  constructor(fields: TaskErrorFields, options?: { cause?: unknown; message?: string }) {
    super(options?.message ?? TaskError.describe(fields, options?.cause), { cause: options?.cause });
    this.stage = fields.stage;
    this.stageLabel = fields.stageLabel;
    this.shard = fields.shard;
    this.totalShards = fields.totalShards;
    this.input = fields.input;
    this.line = fields.line;
    this.attempt = fields.attempt;
    this.retryable = fields.retryable;
  }

  static describe(f: TaskErrorFields, cause: unknown): string {
    const where = [`stage ${f.stage}${f.stageLabel ? ` (${f.stageLabel})` : ""}`, `shard ${f.shard + 1}/${f.totalShards}`];
    if (f.input) where.push(`input ${f.input}${f.line ? `:${f.line}` : ""}`);
    where.push(`attempt ${f.attempt}`);
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    return `${where.join(", ")}: ${why}`;
  }
}

/** Reading or writing a store failed. `retryable` says whether trying again may help. */
export class IoError extends SiroccoError {
  override name = "IoError";
  readonly uri: string;
  readonly op: string;
  readonly retryable: boolean;
  constructor(message: string, fields: { uri: string; op: string; retryable: boolean }, options?: { cause?: unknown }) {
    super(message, options);
    this.uri = fields.uri;
    this.op = fields.op;
    this.retryable = fields.retryable;
  }
}

/** A memory or disk budget cannot be met. */
export class ResourceError extends SiroccoError {
  override name = "ResourceError";
}

/** A worker thread or process died or stopped answering (infrastructure, not user code). */
export class WorkerLostError extends SiroccoError {
  override name = "WorkerLostError";
}

/** A bug in sirocco itself. */
export class InternalError extends SiroccoError {
  override name = "InternalError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(`${message} (this is a bug in sirocco; please report it)`, options);
  }
}

/** Plain-data form of an error, safe for structured clone, JSON and Redis. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields?: Record<string, unknown>;
  cause?: SerializedError;
}

const CLASSES: Record<string, new (...args: never[]) => Error> = {
  SiroccoError,
  PlanError,
  InputError,
  TaskError,
  IoError,
  ResourceError,
  WorkerLostError,
  InternalError,
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
};

/** Turns any thrown value into plain data, keeping own enumerable fields and the cause chain. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { name: "Error", message: typeof err === "string" ? err : safeString(err) };
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(err)) {
    if (key === "cause" || key === "name") continue;
    const v = (err as unknown as Record<string, unknown>)[key];
    if (v === undefined || typeof v === "function") continue;
    try {
      structuredClone(v);
      fields[key] = v;
    } catch {
      fields[key] = safeString(v);
    }
  }
  const out: SerializedError = { name: err.name, message: err.message, stack: err.stack, fields };
  if (err.cause !== undefined && depth < 8) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** Re-creates an error of the same class (for sirocco's and the built-in classes) with its fields. */
export function deserializeError(s: SerializedError): Error {
  const Cls = CLASSES[s.name];
  const proto = (Cls ?? Error).prototype;
  const err = Object.create(proto) as Error;
  Object.defineProperty(err, "message", { value: s.message, writable: true, configurable: true });
  Object.defineProperty(err, "name", { value: s.name, writable: true, configurable: true });
  if (s.stack) Object.defineProperty(err, "stack", { value: s.stack, writable: true, configurable: true });
  if (s.fields) Object.assign(err, s.fields);
  if (s.cause) Object.defineProperty(err, "cause", { value: deserializeError(s.cause), writable: true, configurable: true });
  return err;
}

function safeString(v: unknown): string {
  try {
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
