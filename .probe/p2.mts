import fs from "node:fs";
import { Dataset, run } from "../src/index.ts";
import { parseBytes } from "../src/core/options.ts";
console.log("parseBytes(0.5)=", parseBytes(0.5));
for (let k = 0; k < 5; k++) {
  const dir = fs.mkdtempSync("/tmp/probe/w");
  const ds = Dataset.fromList([1, 2, 3], { shards: 1 }).map((x) => { throw new Error("boom " + x); }).writeJsonl(`${dir}/out.jsonl`);
  try { await run(ds, { executor: "inline", progress: "none", retries: 0 }); } catch (e) { }
  await new Promise((r) => setTimeout(r, 100));
  console.log("leftover:", fs.readdirSync(dir, ), fs.readdirSync(dir).map(f=>fs.statSync(dir+"/"+f).size));
}
// mapShard + malformed
const d2 = fs.mkdtempSync("/tmp/probe/m");
fs.writeFileSync(d2 + "/a.jsonl", '{"a":1}\n{"a":2}\nnot json\n');
let attempts = 0;
try {
  await run(Dataset.fromFiles(d2, "*.jsonl").loadJsonl().mapShard(async function* (rows) { attempts++; for await (const r of rows) yield r; }), { executor: "inline", progress: "none" });
} catch (e: any) { console.log("mapShard attempts", attempts, e.name, e.retryable, e.line, e.message); }
