import { spawn, type ChildProcess } from "node:child_process";
import type { Actuator } from "./autoscaler.js";

export interface LocalProcessOptions {
  /** The program and arguments that start one worker (e.g. node, [cli.js, "worker", script, "--redis", url]). */
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Where a worker's output lines go (prefixed with its number). Default: process.stderr. */
  log?: (line: string) => void;
  /** After SIGTERM at shutdown, SIGKILL a worker still alive after this long. Default 60 000 ms. */
  killAfterMs?: number;
}

interface Child {
  n: number;
  proc: ChildProcess;
  exited: Promise<void>;
  retiring: boolean;
}

/**
 * Worker processes on this machine (`sirocco worker` children of the driver). Scaling down
 * sends SIGTERM to the youngest workers: a worker then finishes its task in flight and exits
 * (it is never killed with a task running). A worker that dies on its own is forgotten; the
 * next scaling decision replaces it.
 */
export class LocalProcessActuator implements Actuator {
  private readonly children: Child[] = [];
  private started = 0;

  constructor(private readonly o: LocalProcessOptions) {}

  async current(): Promise<number> {
    return this.live().length;
  }

  /** Workers alive and not retiring, oldest first. */
  live(): Child[] {
    return this.children.filter((c) => !c.retiring && c.proc.exitCode === null && c.proc.signalCode === null);
  }

  /** Process ids of live workers (tests kill them). */
  pids(): number[] {
    return this.live().map((c) => c.proc.pid!);
  }

  async scaleTo(n: number): Promise<void> {
    const live = this.live();
    for (let i = live.length; i < n; i++) this.spawnOne();
    for (const c of live.slice(n).reverse()) this.retire(c);
  }

  private spawnOne(): void {
    const n = ++this.started;
    const proc = spawn(this.o.command, [...this.o.args], { env: this.o.env ?? process.env, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    // The IPC channel is how a worker notices that its driver died (it then retires itself).
    proc.channel?.unref();
    const log = this.o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    for (const s of [proc.stdout!, proc.stderr!]) {
      let buf = "";
      s.setEncoding("utf8").on("data", (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          log(`[worker ${n}] ${buf.slice(0, i)}`);
          buf = buf.slice(i + 1);
        }
      });
    }
    const exited = new Promise<void>((resolve) => proc.once("close", () => resolve()));
    proc.on("error", (e) => log(`[worker ${n}] could not start: ${e.message}`));
    const child: Child = { n, proc, exited, retiring: false };
    this.children.push(child);
    void exited.then(() => this.children.splice(this.children.indexOf(child), 1));
  }

  private retire(c: Child): void {
    c.retiring = true;
    c.proc.kill("SIGTERM");
  }

  /** Retires every worker (SIGTERM: tasks in flight finish) and waits for them to exit. */
  async shutdown(): Promise<void> {
    const all = [...this.children];
    for (const c of all) if (!c.retiring) this.retire(c);
    const timer = setTimeout(() => all.forEach((c) => c.proc.kill("SIGKILL")), this.o.killAfterMs ?? 60_000);
    await Promise.all(all.map((c) => c.exited));
    clearTimeout(timer);
  }
}
