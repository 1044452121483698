import fs from "node:fs";
import { Dataset, run } from "../src/index.ts";
let left = 0, leftLater = 0;
for (let k = 0; k < 200; k++) {
  const dir = fs.mkdtempSync("/tmp/probe/w");
  const ext = k % 3 === 0 ? ".jsonl" : k % 3 === 1 ? ".jsonl.gz" : ".jsonl.zst";
  const ds = Dataset.fromList([1, 2, 3], { shards: 1 }).map((x) => { throw new Error("boom " + x); }).writeJsonl(`${dir}/out${ext}`);
  try { await run(ds, { executor: "inline", progress: "none", retries: 0 }); } catch (e) { }
  if (fs.readdirSync(dir).length) left++;
  await new Promise((r) => setTimeout(r, 20));
  if (fs.readdirSync(dir).length) { leftLater++; console.log(ext, fs.readdirSync(dir)); }
}
console.log({ left, leftLater });
