import fs from "node:fs";
import { Dataset, run } from "../src/index.ts";
const t0 = Date.now();
const dir = fs.mkdtempSync("/tmp/probe/w");
let n = 0;
for (let k = 0; k < 100; k++) {
  const ds = Dataset.fromList([1, 2, 3], { shards: 1 }).map((x) => { throw new Error("boom " + x); }).writeJsonl(`${dir}/out-${k}.jsonl`);
  try { await run(ds, { executor: "inline", progress: "none", retries: 3 }); } catch (e) { }
}
await new Promise((r) => setTimeout(r, 50));
console.log(fs.readdirSync(dir).length, Date.now() - t0, "ms");
