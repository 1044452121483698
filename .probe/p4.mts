import fs from "node:fs";
import { Dataset, run } from "../src/index.ts";
const t0 = Date.now();
const dirs: string[] = [];
for (let round = 0; round < 25; round++) {
  await Promise.all(Array.from({ length: 8 }, async (_, k) => {
    const dir = fs.mkdtempSync("/tmp/probe/w"); dirs.push(dir);
    const ds = Dataset.fromList([1, 2, 3], { shards: 1 }).map((x) => { throw new Error("boom " + x); }).writeJsonl(`${dir}/out.jsonl`);
    try { await run(ds, { executor: "inline", progress: "none", retries: 0 }); } catch (e) { }
  }));
}
await new Promise((r) => setTimeout(r, 50));
console.log(dirs.filter((d) => fs.readdirSync(d).length).length, "of", dirs.length, Date.now() - t0, "ms");
