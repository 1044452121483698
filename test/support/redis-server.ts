/**
 * A real redis-server for tests, on a free port of 127.0.0.1, without persistence (a
 * restart loses everything, like a crashed cache). Needs Debian's redis-server
 * (`apt-get install -y redis-server`; .ci/run installs it).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

export const REDIS_SERVER = process.env.SIROCCO_REDIS_SERVER ?? "redis-server";

export interface TestRedis {
  url: string;
  port: number;
  pid(): number;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Kills the server and starts a new one on the same port (its data is gone). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Throws a message that says how to install redis-server when it is missing. */
export function checkRedisServer(): void {
  try {
    execFileSync(REDIS_SERVER, ["--version"], { stdio: "pipe" });
  } catch {
    throw new Error(`${REDIS_SERVER} not found: the redis executor's tests need a real Redis. Install it with: apt-get install -y redis-server (.ci/run does)`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function launch(port: number): Promise<ChildProcess> {
  const dir = fs.mkdtempSync("/tmp/sirocco-redis-");
  const proc = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} did not start:\n${out}`)), 10_000);
    proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${out}`));
    });
    proc.once("error", reject);
  });
}

export async function startRedis(): Promise<TestRedis> {
  checkRedisServer();
  const port = await freePort();
  let proc = await launch(port);
  const kill = async (p: ChildProcess) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill("SIGCONT");
    p.kill("SIGKILL");
    await gone;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => proc.pid!,
    pause: () => proc.kill("SIGSTOP"),
    resume: () => proc.kill("SIGCONT"),
    async restart() {
      await kill(proc);
      proc = await launch(port);
    },
    stop: () => kill(proc),
  };
}
