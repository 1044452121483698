/**
 * Linux /proc helpers of the fault tests and bench:redis: which child processes a driver has
 * (its local workers), and which process is writing an output right now (found by the
 * temporary file it holds open), so a test can kill exactly a worker in the middle of a task.
 */
import fs from "node:fs";
import path from "node:path";

/** Child process ids of `pid`. */
export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** A temporary output file (`.sirocco-tmp-…`) in `dir` and the first of `pids` holding it open. */
export function writerOfTemporary(dir: string, pids: number[]): { pid: number; temp: string } | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.startsWith(".sirocco-tmp-"));
  } catch {
    return undefined;
  }
  if (names.length === 0) return undefined;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = "";
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const name = names.find((n) => target === path.join(dir, n));
      if (name) return { pid, temp: name };
    }
  }
  return undefined;
}
