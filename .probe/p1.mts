import fs from "node:fs";
import { readDecompressed } from "../src/io/file-reader.ts";
import { LocalStore } from "../src/io/local-store.ts";
import { compress } from "@mongodb-js/zstd";
const dir = fs.mkdtempSync("/tmp/probe/z");
const good = await compress(Buffer.from('{"a":1}\n'.repeat(1000)), 3);
fs.writeFileSync(dir + "/trunc.jsonl.zst", good.subarray(0, good.length - 10));
fs.writeFileSync(dir + "/garbage.jsonl.zst", Buffer.from("this is not zstd at all, definitely not\n"));
for (const f of ["trunc", "garbage"]) {
  try { for await (const c of readDecompressed(new LocalStore(), `${dir}/${f}.jsonl.zst`)) {} console.log(f, "no error"); }
  catch (e) { console.log(f, (e as Error).constructor.name, (e as Error).message); }
}
