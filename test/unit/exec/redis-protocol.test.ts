/**
 * The redis executor's protocol pieces against the real test redis-server: the queue depth
 * external scalers read (BullMQ's `sirocco:<queue>:wait` list), the snapshot the autoscaler
 * reads, and the encoding of task results.
 */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import net from "node:net";
import { Dataset, IoError, run } from "../../../src/index.js";
import { decodeReturn, encodeValue, KEY_PREFIX, readQueueSnapshot, recordTaskMs, waitListKey } from "../../../src/exec/redis-protocol.js";

const conn = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
afterAll(() => conn.disconnect());

describe("redis protocol", () => {
  it("waiting tasks are the Redis list sirocco:<queue>:wait (KEDA's listName), and the snapshot counts them", async () => {
    const name = `proto-${process.pid}-${Date.now()}`;
    const q = new Queue(name, { connection: new Redis(inject("redisUrl"), { maxRetriesPerRequest: null }), prefix: KEY_PREFIX });
    try {
      await q.addBulk(Array.from({ length: 7 }, (_, i) => ({ name: "t", data: { i }, opts: { jobId: `r.0.${i}.1` } })));
      expect(waitListKey(name)).toBe(`sirocco:${name}:wait`);
      expect(await conn.type(waitListKey(name))).toBe("list");
      expect(await conn.llen(waitListKey(name))).toBe(7);
      for (const ms of [120, 80, 100]) await recordTaskMs(conn, name, ms);
      expect(await readQueueSnapshot(conn, name)).toEqual({ backlog: 7, inFlight: 0, recentTaskMs: [100, 80, 120] });
    } finally {
      await q.obliterate({ force: true });
      await conn.del(`sirocco:${name}:task-ms`);
      await q.close();
    }
  });

  it("task results keep their types through Redis (structured clone, as between threads)", () => {
    const outcome = { ok: true as const, result: { outputs: [], rows: [{ d: new Date(5), big: 12n, m: new Map([["a", 1]]) }], counters: { x: 1 }, stats: { rowsIn: 1, stepRowsOut: [1], malformedLines: 0, bytesWritten: 0 } } };
    const text = encodeValue({ outcome, taskMs: 3, worker: "w" });
    expect(decodeReturn(text).outcome).toEqual(outcome);
    expect(decodeReturn(JSON.stringify(text)).outcome).toEqual(outcome);
  });

  it("a driver whose Redis cannot be reached fails, naming the server and what to check", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    process.env.SIROCCO_REDIS_CONNECT_TIMEOUT_MS = "1000";
    try {
      const e = await run(Dataset.fromList([1, 2, 3]), { executor: "redis", redis: `redis://u:secret@127.0.0.1:${port}`, entry: import.meta.url, progress: "none" }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(IoError);
      expect((e as Error).message).toMatch(new RegExp(`^cannot reach Redis at redis://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}/? within 1 s \\(.*ECONNREFUSED.*\\); check the --redis URL and that the server is running$`));
    } finally {
      delete process.env.SIROCCO_REDIS_CONNECT_TIMEOUT_MS;
    }
  });
});
