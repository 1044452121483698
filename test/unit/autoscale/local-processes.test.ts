/**
 * LocalProcessActuator with real child processes: each child "works" on a task and, on
 * SIGTERM, finishes it before exiting 0 (as `sirocco worker` does), so scaling down never
 * cuts a task short.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LocalProcessActuator } from "../../../src/autoscale/local-processes.js";
import { tempDir } from "../../support/files.js";

// A worker stand-in: reports READY; on SIGTERM, waits 300 ms ("the task in flight"), writes
// a file named after its pid, then exits 0.
const CHILD = `
const fs = require("node:fs");
const dir = process.argv[1];
process.on("SIGTERM", () => setTimeout(() => { fs.writeFileSync(dir + "/" + process.pid, "finished"); process.exit(0); }, 300));
console.log("READY " + process.pid);
setInterval(() => {}, 1000);
`;

describe("LocalProcessActuator", () => {
  it("spawns up to n workers, retires the youngest with SIGTERM and lets them finish, forwards their output", async () => {
    const dir = tempDir("sirocco-actuator-");
    const lines: string[] = [];
    const a = new LocalProcessActuator({ command: process.execPath, args: ["-e", CHILD, dir], log: (l) => lines.push(l) });
    await a.scaleTo(3);
    expect(await a.current()).toBe(3);
    const pids = a.pids();
    await waitFor(() => lines.length === 3);
    expect(lines.sort()).toEqual(pids.map((p, i) => `[worker ${i + 1}] READY ${p}`).sort());

    await a.scaleTo(1);
    expect(await a.current()).toBe(1);
    expect(a.pids()).toEqual([pids[0]]);
    // The two retired workers finished their "task" before exiting.
    await waitFor(() => fs.readdirSync(dir).length === 2);
    expect(fs.readdirSync(dir).map(Number).sort()).toEqual([pids[1]!, pids[2]!].sort());
    expect(fs.readFileSync(path.join(dir, String(pids[2])), "utf8")).toBe("finished");

    await a.shutdown();
    expect(await a.current()).toBe(0);
    expect(fs.readdirSync(dir)).toHaveLength(3);
  });

  it("forgets a worker that died on its own, so the next scaleTo replaces it", async () => {
    const dir = tempDir("sirocco-actuator-");
    const a = new LocalProcessActuator({ command: process.execPath, args: ["-e", CHILD, dir], log: () => {} });
    await a.scaleTo(2);
    const [first] = a.pids();
    process.kill(first!, "SIGKILL");
    await waitFor(() => a.pids().length === 1);
    await a.scaleTo(2);
    expect(a.pids()).toHaveLength(2);
    expect(a.pids()).not.toContain(first);
    await a.shutdown();
  });
});

async function waitFor(f: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
