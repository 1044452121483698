/**
 * Object-store benchmark (`npm run bench:store`): throughput of writing and reading 1 GB
 * through the ObjectStore interface — local disk (LocalStore) versus gs:// on the
 * GCS-JSON-API-compatible test server (test/support/fake-gcs-server.ts, in this process, on
 * 127.0.0.1; no real GCS is reachable here) — and the HTTP requests each committed output
 * costs, counted by the server. Prints a table and writes bench/results/object-store.json.
 *
 * The test server runs in its own process (test/support/fake-gcs-server-main.ts) but on the
 * same 2 cores, keeps objects in memory and hashes every upload with MD5 (as GCS reports
 * md5Hash), so the gs:// numbers measure the client's overhead plus a local HTTP hop and the
 * server's own work — not what a real bucket would give.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GcsStore } from "../src/io/gcs-store.js";
import { LocalStore } from "../src/io/local-store.js";
import type { ObjectStore } from "../src/io/object-store.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The test server in a child process; `count()` asks it how many requests it has seen. */
async function startServer(): Promise<{ endpoint: string; count(): Promise<number>; reset(): Promise<void>; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "test/support/fake-gcs-server-main.ts"), "bench"], { stdio: ["ignore", "pipe", "inherit"] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ENDPOINT (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`test server exited with ${code}`)));
  });
  return {
    endpoint,
    count: async () => ((await (await fetch(`${endpoint}/_fake/requests`)).json()) as { count: number }).count,
    reset: async () => void (await fetch(`${endpoint}/_fake/reset-requests`, { method: "POST" })).arrayBuffer(),
    stop: () => void child.kill("SIGTERM"),
  };
}

const TOTAL_BYTES = Number(process.env.BENCH_STORE_BYTES ?? 1024 ** 3);
const OBJECT_BYTES = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;
const OBJECTS = Math.max(1, Math.round(TOTAL_BYTES / OBJECT_BYTES));
const TAG = "bench000000000000";

const payload = randomBytes(OBJECT_BYTES);

async function writeAll(store: ObjectStore, root: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < OBJECTS; i++) {
    const w = await store.openWrite(`${root}/obj-${String(i).padStart(4, "0")}.bin`, TAG, { ifGeneration: "0" });
    for (let off = 0; off < OBJECT_BYTES; off += CHUNK) {
      if (!w.stream.write(payload.subarray(off, off + CHUNK))) await once(w.stream, "drain");
    }
    await w.commit();
  }
  return performance.now() - t0;
}

async function readAll(store: ObjectStore, root: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < OBJECTS; i++) {
    for await (const c of store.openRead(`${root}/obj-${String(i).padStart(4, "0")}.bin`)) bytes += (c as Buffer).length;
  }
  return { ms: performance.now() - t0, bytes };
}

const mbps = (bytes: number, ms: number) => Math.round((bytes / 1024 / 1024 / (ms / 1000)) * 10) / 10;

async function main(): Promise<void> {
  const bytes = OBJECTS * OBJECT_BYTES;
  console.log(`object-store bench: ${OBJECTS} objects × ${OBJECT_BYTES / 1024 / 1024} MiB = ${(bytes / 1024 ** 3).toFixed(2)} GiB each way, Node ${process.version}, ${os.availableParallelism()} cores`);

  // Local disk.
  const localRoot = fs.mkdtempSync(path.join(os.tmpdir(), "sirocco-bench-store-"));
  const local = new LocalStore();
  const lw = await writeAll(local, localRoot);
  const lr = await readAll(local, localRoot);
  fs.rmSync(localRoot, { recursive: true, force: true });

  // gs:// on the test server.
  const gcs = await startServer();
  const store = new GcsStore({ apiEndpoint: gcs.endpoint });
  const gw = await writeAll(store, "gs://bench/run");
  const uploadRequests = await gcs.count();
  await gcs.reset();
  const gr = await readAll(store, "gs://bench/run");
  const readRequests = await gcs.count();
  await store.remove("gs://bench/run/");

  // Requests per committed output, by write path (small objects; the driver's planning stat included separately).
  await gcs.reset();
  const n = 20;
  for (let i = 0; i < n; i++) {
    const w = await store.openWrite(`gs://bench/small/s-${i}.jsonl`, TAG, { ifGeneration: "0" });
    w.stream.end('{"x":1}\n');
    await w.commit();
  }
  const streamingPerOutput = (await gcs.count()) / n;
  await gcs.reset();
  for (let i = 0; i < n; i++) {
    const p = await store.beginWrite(`gs://bench/spool/s-${i}.txt`, TAG, { ifGeneration: "0" });
    fs.writeFileSync(p.tempPath, "hello\n");
    await p.commit();
  }
  const spoolSmallPerOutput = (await gcs.count()) / n;
  await gcs.reset();
  const big = await store.beginWrite("gs://bench/spool/big.bin", TAG, { ifGeneration: "0" });
  fs.writeFileSync(big.tempPath, randomBytes(16 * 1024 * 1024));
  await big.commit();
  const spoolLargePerOutput = await gcs.count();
  await gcs.reset();
  for (let i = 0; i < n; i++) await store.stat(`gs://bench/small/s-${i}.jsonl`);
  const planningPerOutput = (await gcs.count()) / n;
  gcs.stop();

  const results = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    cores: os.availableParallelism(),
    bytesEachWay: bytes,
    objects: OBJECTS,
    objectBytes: OBJECT_BYTES,
    local: { writeMBps: mbps(bytes, lw), readMBps: mbps(lr.bytes, lr.ms) },
    gcsTestServer: {
      writeMBps: mbps(bytes, gw),
      readMBps: mbps(gr.bytes, gr.ms),
      requestsPerObjectWrite: uploadRequests / OBJECTS,
      requestsPerObjectRead: readRequests / OBJECTS,
    },
    requestsPerCommittedOutput: {
      streamingWrite: streamingPerOutput,
      mapFilesSpoolSmall: spoolSmallPerOutput,
      mapFilesSpoolOver8MiB: spoolLargePerOutput,
      driverPlanningStat: planningPerOutput,
    },
  };
  console.log("");
  console.log("| store | write MB/s | read MB/s |");
  console.log("|---|---|---|");
  console.log(`| local disk | ${results.local.writeMBps} | ${results.local.readMBps} |`);
  console.log(`| gs:// (test server, own process) | ${results.gcsTestServer.writeMBps} | ${results.gcsTestServer.readMBps} |`);
  console.log(`| ratio gs:// / local | ${(results.gcsTestServer.writeMBps / results.local.writeMBps).toFixed(2)} | ${(results.gcsTestServer.readMBps / results.local.readMBps).toFixed(2)} |`);
  console.log("");
  console.log("HTTP requests per committed output:", JSON.stringify(results.requestsPerCommittedOutput));
  console.log(`64 MiB objects: ${results.gcsTestServer.requestsPerObjectWrite} request(s) to write, ${results.gcsTestServer.requestsPerObjectRead} to read`);
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "results", "object-store.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`saved ${path.relative(process.cwd(), out)}`);
}

await main();
