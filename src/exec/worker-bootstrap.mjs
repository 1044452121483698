// Entry of every worker thread. Plain JavaScript so that Node can start it directly; it
// installs tsx's module hooks in this thread (hooks are per thread on Node 20) so that the
// engine and the user's TypeScript script can be imported here as in the main thread.
import { register } from "tsx/esm/api";

register();
const mod = await import("./thread-worker.ts");
export default mod.default;
