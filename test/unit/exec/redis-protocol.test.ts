/**
 * The redis executor's protocol pieces against the real test redis-server: the queue depth
 * external scalers read (BullMQ's `sirocco:<queue>:wait` list), the snapshot the autoscaler
 * reads, and the encoding of task results.
 */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
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
});
