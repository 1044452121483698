import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunResult } from "../../src/index.js";
import { executorFlags, type TestExecutor } from "./executors.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "bin/sirocco.mjs");
const PIPELINES = path.join(ROOT, "test/fixtures/pipelines.ts");

export interface FixtureRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The RunResult the script printed, when it succeeded. */
  result?: RunResult;
}

/**
 * Runs one case of test/fixtures/pipelines.ts through the real CLI, as a user would:
 * `sirocco run pipelines.ts <case> <in> <out> [extra] --executor E --workers 2`.
 */
export function runFixture(
  kase: string,
  args: { inDir: string; outDir: string; extra?: string; executor: TestExecutor; workers?: number; flags?: string[]; script?: string; timeoutMs?: number },
): Promise<FixtureRun> {
  const argv = [
    BIN,
    "run",
    args.script ?? PIPELINES,
    kase,
    args.inDir,
    args.outDir,
    ...(args.extra === undefined ? [] : [args.extra]),
    "--executor",
    args.executor,
    "--workers",
    String(args.workers ?? 2),
    "--progress",
    "none",
    ...executorFlags(args.executor),
    ...(args.flags ?? []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    // Decode as a stream: a multi-byte character split between two chunks must not become U+FFFD.
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d: string) => (stdout += d));
    child.stderr.on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), args.timeoutMs ?? 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      resolve({ code, stdout, stderr, result: line ? (JSON.parse(line.slice(7)) as RunResult) : undefined });
    });
  });
}
