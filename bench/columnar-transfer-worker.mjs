// Worker side of the transfer bench (bench/columnar.ts): builds a batch of rows, then sends
// it to the parent as asked — as Arrow IPC in a SharedArrayBuffer, or as the rows themselves
// (structured clone). Stamps the send time (performance.timeOrigin-based, shared by threads).
import { parentPort, workerData } from "node:worker_threads";
import { packRows } from "../dist/exec/shared-rows.js";

const { rows: n, text } = workerData;
const rows = Array.from({ length: n }, (_, i) => ({ id: i, text: `${i} ${text}`, score: i / 3, tag: i % 7 === 0 ? null : `t${i % 13}` }));
parentPort.on("message", (how) => {
  const t0 = performance.timeOrigin + performance.now();
  if (how === "clone") parentPort.postMessage({ how, t0, rows });
  else if (how === "shared-packed") {
    const batches = packRows(rows, 2 ** 30);
    parentPort.postMessage({ how, t0, tPacked: performance.timeOrigin + performance.now(), batches });
  }
  else if (how === "shared") {
    // Hand-off only: the batch is already Arrow IPC in shared memory.
    const batches = (globalThis.packed ??= packRows(rows, 2 ** 30));
    parentPort.postMessage({ how, t0: performance.timeOrigin + performance.now(), batches });
  }
});
parentPort.postMessage({ ready: true });
