// Entry of every worker thread. When the pipeline script is TypeScript, installs tsx's module
// hooks in this thread first (hooks are per thread on Node 20, and they slow every module
// load, so JavaScript scripts go without them).
import { workerData } from "node:worker_threads";
import type { ThreadWorkerData } from "./executors/threads.js";
import { needsTypeScriptLoader } from "./typescript-loader.js";

if (needsTypeScriptLoader((workerData as ThreadWorkerData).entry)) {
  const { register } = await import("tsx/esm/api");
  register();
}
const mod = await import("./thread-worker.js");
export default mod.default;
