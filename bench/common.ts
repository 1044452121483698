/**
 * Shared by the benchmark's child processes: the document type, the exact cleaning work
 * every variant does, and how a child reports its measurements to bench/run.ts.
 */
import { spawn } from "node:child_process";

/** One input document, as scripts/make-corpus.ts writes it. */
export interface Doc {
  id: number;
  url: string;
  domain: string;
  category: string;
  text: string;
}

/** Minimum length of a cleaned text for a document to be kept. */
export const MIN_TEXT = 200;

/** The "clean" step: normalize the whitespace of `text` (a new object, the input is left alone). */
export function cleanDoc(d: Doc): Doc {
  return { ...d, text: d.text.replace(/\s+/g, " ").trim() };
}

/** The "keep" step: documents whose cleaned text has at least MIN_TEXT characters. */
export function keepDoc(d: Doc): boolean {
  return d.text.length >= MIN_TEXT;
}

/** What a child process prints (one line, prefixed by RESULT_PREFIX) when it is done. */
export interface ChildReport {
  variant: string;
  /** Wall time of the measured work only (after imports, before exit), ms. */
  wallMs: number;
  /** Peak resident set size of the whole process (all threads), KB. */
  maxRssKb: number;
  /** CPU time of the whole process life (all threads, incl. libuv's zlib pool; start-up included), ms. */
  userMs: number;
  sysMs: number;
  /** CPU time of the measured work only (same span as wallMs, all threads), ms. */
  jobCpuMs: number;
  /** Variant-specific numbers (rows in/out, per-run timings, …). */
  extra: Record<string, unknown>;
}

export const RESULT_PREFIX = "BENCH_RESULT ";

/**
 * Runs one bench child (`node <argv…>`, stderr passed through) and returns the report it
 * printed with report(); a child that fails or prints none throws with its output.
 */
export async function spawnReport(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; what: string }): Promise<ChildReport> {
  const child = spawn(process.execPath, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => (stdout += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || !line) throw new Error(`${opts.what} failed (exit ${code}); its output:\n${stdout}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildReport;
}

/** Starts the measured span: wall clock and process CPU (all threads). */
export function startMeasure(): { t0: number; cpu0: NodeJS.CpuUsage } {
  return { t0: performance.now(), cpu0: process.cpuUsage() };
}

/** Ends the span begun by startMeasure() and prints the report line. */
export function report(variant: string, start: { t0: number; cpu0: NodeJS.CpuUsage }, extra: Record<string, unknown>): void {
  const wallMs = performance.now() - start.t0;
  const job = process.cpuUsage(start.cpu0);
  const ru = process.resourceUsage();
  const r: ChildReport = {
    variant,
    wallMs,
    maxRssKb: ru.maxRSS,
    userMs: ru.userCPUTime / 1000,
    sysMs: ru.systemCPUTime / 1000,
    jobCpuMs: (job.user + job.system) / 1000,
    extra,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(r)}\n`);
}
