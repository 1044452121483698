/**
 * Run a command as a user would and capture what it printed: the building block of the
 * end-to-end tests. Commands run in their own process group so that a timeout kills
 * everything they started (tsx, for one, runs the script in a child process).
 *
 * @example
 * const r = await runSirocco(["run", "examples/clean-directory.ts", inDir, outDir, "--workers", "2"]);
 * expect(r.code, r.stderr).toBe(0);
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (where package.json is). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface SpawnOptions {
  /** Working directory. Default: the repository root. */
  cwd?: string;
  /** Variables added to (or, when `undefined`, removed from) the inherited environment. */
  env?: Record<string, string | undefined>;
  /** Kill the command (and its children) and reject after this long. Default 60 000 ms. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. Default: stdin closed at once. */
  input?: string;
}

export interface SpawnResult {
  /** Exit code, or null when the process died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs `command args…` to completion. Rejects only when it cannot start or times out. */
export function runCommand(command: string, args: readonly string[], opts: SpawnOptions = {}): Promise<SpawnResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? REPO_ROOT, env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
      reject(new Error(`${command} ${args.join(" ")} timed out after ${timeoutMs} ms\n--- stdout ---\n${stdout.slice(-2000)}\n--- stderr ---\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}

/** Variables through which `sirocco run` talks to scripts; a test's children must not inherit them. */
const SIROCCO_ENV = { SIROCCO_RUN_DEFAULTS: undefined, SIROCCO_ENTRY: undefined };

/** `sirocco <args…>` via this checkout's bin/sirocco.mjs (what `npx sirocco` runs). */
export function runSirocco(args: readonly string[], opts: SpawnOptions = {}): Promise<SpawnResult> {
  return runCommand(process.execPath, [path.join(REPO_ROOT, "bin/sirocco.mjs"), ...args], { ...opts, env: { ...SIROCCO_ENV, ...opts.env } });
}

/** `tsx <script> <args…>` with this checkout's tsx (what `npx tsx` runs, minus npx's own start-up). */
export function runTsx(script: string, args: readonly string[] = [], opts: SpawnOptions = {}): Promise<SpawnResult> {
  return runCommand(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [script, ...args], { ...opts, env: { ...SIROCCO_ENV, ...opts.env } });
}

/** A one-paragraph description of a finished command, for assertion messages. */
export function describeRun(r: SpawnResult): string {
  return `exit ${r.code ?? r.signal} after ${r.durationMs} ms\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}
