/**
 * A token cache on gs:// (the GCS-JSON-API test server of test/support/fake-gcs-server.ts):
 * written through the object-store interface it holds exactly the objects of the same cache
 * on local disk, and openTokenFeed reads the same batches from it.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset, openTokenFeed, run, type TokenFeedOptions } from "../../src/index.js";
import { makeDocs, readBinaryTree } from "../support/feed-corpus.js";
import { FakeGcsServer } from "../support/fake-gcs-server.js";
import { tempDir } from "../support/files.js";

const BUCKET = "feedtest";
let gcs: FakeGcsServer;
let root: string;
let saved: string | undefined;

beforeAll(async () => {
  gcs = await FakeGcsServer.start();
  gcs.createBucket(BUCKET);
  saved = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
  root = tempDir("sirocco-feed-gcs-");
});
afterAll(async () => {
  if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = saved;
  await gcs?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function batches(uri: string, o: TokenFeedOptions): Promise<number[][]> {
  const out: number[][] = [];
  for await (const b of openTokenFeed(uri, o)) out.push([...b.tokens]);
  return out;
}

describe("token cache on gs://", () => {
  it("has the local cache's objects, byte for byte, and feeds the same batches", async () => {
    const job = (uri: string) => Dataset.fromList(makeDocs(200, 4), { shards: 4 }).tokenize({ encoding: "cl100k_base" }).writeTokenCache(uri, { shardRows: 30 });
    const local = path.join(root, "cache");
    await run(job(local), { executor: "inline", progress: "none" });
    await run(job(`gs://${BUCKET}/runs/cache`), { executor: "inline", progress: "none" });

    const objects = new Map(gcs.objectNames(BUCKET, "runs/cache/").map((n) => [n.slice("runs/cache/".length), gcs.getObject(BUCKET, n)!.toString("base64")]));
    expect(Object.fromEntries([...objects].sort())).toEqual(readBinaryTree(local));

    const o: TokenFeedOptions = { seqLen: 32, globalBatch: 4, seed: 5, shuffleWindow: 16, hostIndex: 1, hostCount: 2 };
    const fromGcs = await batches(`gs://${BUCKET}/runs/cache`, o);
    expect(fromGcs.length).toBeGreaterThan(10);
    expect(fromGcs).toEqual(await batches(local, o));
  });
});
