// Entry of every worker thread. When the pipeline script is TypeScript (a script run with
// `tsx script.ts`; `sirocco run` compiles TypeScript to JavaScript first), installs tsx's
// module hooks in this thread first (hooks are per thread on Node 20, and they slow every
// module load, so JavaScript goes without them).
import { workerData } from "node:worker_threads";
import type { ThreadWorkerData } from "./executors/threads.js";
import { needsTypeScriptLoader } from "./typescript-loader.js";

// Stacks of compiled scripts point at the original TypeScript lines.
process.setSourceMapsEnabled(true);
if (needsTypeScriptLoader((workerData as ThreadWorkerData).entry)) {
  const { register } = await import("tsx/esm/api");
  register();
}
const mod = await import("./thread-worker.js");
export default mod.default;
