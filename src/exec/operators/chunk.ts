/**
 * Rows travel between fused steps in chunks (about a thousand rows), so per-row work is a
 * plain loop and awaiting happens only when a function actually returns a promise. Each
 * chunk may carry the input file and, per row, the 1-based line it came from, so an error in
 * any later step can name file and line.
 */
export interface Chunk {
  rows: unknown[];
  /** Line number per row (same length as rows), when known. */
  lines?: number[];
  file?: string;
  /**
   * Per row, its JSON text (a string, or UTF-8 bytes) while the row is still exactly what that
   * text parses to: set by `loadJsonl`, kept by `filter` and `take` and by the shuffle for the
   * rows `dedupe` and `reshard` pass on, dropped by every step that makes or may change rows.
   * `writeJsonl` writes the text as it is, and the shuffle moves it instead of a serialized
   * copy. An entry may be undefined (that row has no text).
   */
  texts?: Array<string | Uint8Array | undefined>;
  /** True when `rows` holds placeholders and only `texts` may be read (a shuffle read straight into `writeJsonl`). */
  textsOnly?: boolean;
}

/** Target number of rows per chunk emitted by sources and re-chunking steps. */
export const CHUNK_ROWS = 1024;

/** A user function threw: carries where the row came from until the task wraps it. */
export class StepFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly step: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(`${step} failed`);
  }
}

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}

/** Shared by steps: what they may know of the task running them. */
export interface StepEnv {
  readonly stepName: string;
}
