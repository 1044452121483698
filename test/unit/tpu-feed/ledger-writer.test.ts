import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PlannedStage } from "../../../src/exec/make-tasks.js";
import type { TaskResult } from "../../../src/exec/task-spec.js";
import { Dataset, readLedger } from "../../../src/index.js";
import { tokenCacheDriver } from "../../../src/tpu-feed/ledger-writer.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const FP = { tokenizer: "cl100k_base", eosId: 100257, appendEos: true, dtype: "uint32" };
const RESULT = { outputs: [], counters: {}, stats: { rowsIn: 0, stepRowsOut: [], malformedLines: 0, bytesWritten: 0 } } as unknown as TaskResult;

function manifest(uri: string, shard: number, rows: number): void {
  fs.mkdirSync(`${uri}/shards`, { recursive: true });
  const m = { format: "sirocco-token-cache", version: 1, shard, fingerprint: FP, parts: [{ name: `${String(shard).padStart(5, "0")}-0000`, rows, tokens: rows * 10 }] };
  fs.writeFileSync(`${uri}/shards/${String(shard).padStart(5, "0")}.json`, JSON.stringify(m));
}

describe("the ledger writer (driver side of writeTokenCache)", () => {
  const tmp = useTempDir();

  it("publishes only the contiguous prefix of finished shards, never going back, whatever the completion order", async () => {
    const uri = path.join(tmp.path, "cache");
    const sink = Dataset.fromList(["x"]).tokenize({ encoding: "cl100k_base" }).writeTokenCache(uri).node;
    const planned = { tasks: [], totalShards: 4, skipped: [], outputDirs: [] } as unknown as PlannedStage;
    const driver = await tokenCacheDriver(sink, planned, "run1");
    expect(await readLedger(uri)).toMatchObject({ inputShards: 4, publishedShards: 0, parts: [], finished: false, fingerprint: FP });

    const published: number[] = [];
    for (const shard of [2, 0, 3, 1]) {
      manifest(uri, shard, shard + 1);
      await driver.taskDone(shard, RESULT);
      published.push((await readLedger(uri))!.publishedShards);
    }
    expect(published).toEqual([0, 1, 1, 4]);
    await driver.stageEnd();
    const l = (await readLedger(uri))!;
    expect(l).toMatchObject({ publishedShards: 4, finished: true, rows: 1 + 2 + 3 + 4, tokens: 100 });
    expect(l.parts.map((p) => [p.shard, p.name])).toEqual([[0, "00000-0000"], [1, "00001-0000"], [2, "00002-0000"], [3, "00003-0000"]]);
    expect(fs.readdirSync(uri).filter((n) => n.startsWith(".sirocco-tmp-"))).toEqual([]);
  });

  it("concurrent reports are serialized: the last write is the longest prefix", async () => {
    const uri = path.join(tmp.path, "cache");
    const sink = Dataset.fromList(["x"]).tokenize({ encoding: "cl100k_base" }).writeTokenCache(uri).node;
    const driver = await tokenCacheDriver(sink, { tasks: [], totalShards: 6, skipped: [], outputDirs: [] } as unknown as PlannedStage, "run2");
    for (let s = 0; s < 6; s++) manifest(uri, s, 1);
    await Promise.all([5, 4, 3, 2, 1, 0].map((s) => driver.taskDone(s, RESULT)));
    expect((await readLedger(uri))!).toMatchObject({ publishedShards: 6, finished: true });
  });
});
