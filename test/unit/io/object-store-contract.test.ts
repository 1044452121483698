/**
 * One contract, every store: the same tests run against the local file system, against
 * GcsStore pointed at the GCS-JSON-API-compatible test server (test/support/fake-gcs-server.ts,
 * on 127.0.0.1), and — when SIROCCO_TEST_GCS_BUCKET is set — against that real bucket with
 * the usual Google credentials (fault-injection tests need the test server and are skipped
 * there). Example: `SIROCCO_TEST_GCS_BUCKET=my-bucket npx vitest run test/unit/io/object-store-contract.test.ts`.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IoError } from "../../../src/core/errors.js";
import { GcsStore } from "../../../src/io/gcs-store.js";
import { LocalStore } from "../../../src/io/local-store.js";
import type { ObjectStore } from "../../../src/io/object-store.js";
import { joinPath } from "../../../src/io/store-path.js";
import { FakeGcsServer } from "../../support/fake-gcs-server.js";

const TAG = "0123456789abcdef";

interface Harness {
  name: string;
  store: ObjectStore;
  /** The test server when the store talks to it (fault tests need it). */
  fake?: FakeGcsServer;
  /** A fresh, empty root for one test. */
  root(): string;
  /** Puts bytes at a path without going through the store under test. */
  put(p: string, data: Buffer | string): Promise<void>;
  /** The bytes at a path, read without the store under test (undefined when absent). */
  get(p: string): Promise<Buffer | undefined>;
  /** Every name under `root` (hidden and temporary ones included), relative, sorted. */
  all(root: string): Promise<string[]>;
}

const TEST_RETRY = { retries: 6, baseDelayMs: 1, maxDelayMs: 10 };
let fake: FakeGcsServer;
const tmpRoots: string[] = [];

function localHarness(): Harness {
  const store = new LocalStore();
  return {
    name: "local",
    store,
    root() {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), "sirocco-contract-"));
      tmpRoots.push(d);
      return d;
    },
    async put(p, data) {
      await fsp.mkdir(path.dirname(p), { recursive: true });
      await fsp.writeFile(p, data);
    },
    async get(p) {
      return fsp.readFile(p).catch(() => undefined);
    },
    async all(root) {
      if (!fs.existsSync(root)) return [];
      return fs
        .readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
        .sort();
    },
  };
}

function fakeGcsHarness(): Harness {
  const bucket = "contract-bucket";
  const split = (p: string) => /^gs:\/\/([^/]+)\/(.*)$/.exec(p)!.slice(1) as [string, string];
  const h: Harness = {
    name: "gcs (test server)",
    // A small page size, so every listing test also exercises pagination.
    store: new GcsStore(), // replaced in beforeAll, once the test server has a port
    root: () => `gs://${bucket}/t-${randomBytes(4).toString("hex")}`,
    async put(p, data) {
      const [b, k] = split(p);
      fake.putObject(b, k, data);
    },
    async get(p) {
      const [b, k] = split(p);
      return fake.getObject(b, k);
    },
    async all(root) {
      const [b, k] = split(root);
      return fake.objectNames(b, `${k}/`).map((n) => n.slice(k.length + 1));
    },
  };
  return h;
}

function realGcsHarness(bucket: string): Harness {
  const store = new GcsStore();
  const read = async (p: string) => {
    const parts: Buffer[] = [];
    try {
      for await (const c of store.openRead(p)) parts.push(c as Buffer);
    } catch (e) {
      if (e instanceof IoError && /does not exist/.test(e.message)) return undefined;
      throw e;
    }
    return Buffer.concat(parts);
  };
  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await store.remove(r);
  });
  return {
    name: `gcs (real bucket ${bucket})`,
    store,
    root() {
      const r = `gs://${bucket}/sirocco-contract-${randomBytes(4).toString("hex")}`;
      roots.push(r);
      return r;
    },
    async put(p, data) {
      const w = await store.openWrite(p, TAG);
      w.stream.end(data);
      await w.commit();
    },
    get: read,
    async all(root) {
      const files = await store.list(root, "**/*");
      return files.map((f) => f.path.slice(root.length + 1));
    },
  };
}

const harnesses: Harness[] = [localHarness(), fakeGcsHarness()];
if (process.env.SIROCCO_TEST_GCS_BUCKET) harnesses.push(realGcsHarness(process.env.SIROCCO_TEST_GCS_BUCKET));

beforeAll(async () => {
  fake = await FakeGcsServer.start();
  fake.createBucket("contract-bucket");
  const h = harnesses[1]!;
  // Spool uploads above 256 KiB use resumable sessions, so both upload kinds are exercised.
  h.store = new GcsStore({ apiEndpoint: fake.endpoint, retry: TEST_RETRY, pageSize: 2, resumableThresholdBytes: 256 * 1024 });
  h.fake = fake;
});

afterAll(async () => {
  await fake.close();
  for (const d of tmpRoots) fs.rmSync(d, { recursive: true, force: true });
});

async function readAll(store: ObjectStore, p: string, range?: { start: number; end?: number }): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of store.openRead(p, range)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe.each(harnesses)("ObjectStore contract: $name", (h) => {
  describe("list", () => {
    it("matches globs under the root, sorted by path, with sizes; skips hidden temporaries", async () => {
      const root = h.root();
      const j = (rel: string) => joinPath(root, rel);
      await h.put(j("b.jsonl"), "12345");
      await h.put(j("a.jsonl"), "1");
      await h.put(j("sub/c.jsonl"), "123");
      await h.put(j("sub/deeper/d.jsonl"), "");
      await h.put(j("e.txt"), "not matched");
      await h.put(j(".sirocco-tmp-abc-f.jsonl"), "partial");
      await h.put(j("sub/.sirocco-tmp-abc-g.jsonl"), "partial");
      expect(await h.store.list(root, "**/*.jsonl")).toEqual([
        { path: j("a.jsonl"), size: 1 },
        { path: j("b.jsonl"), size: 5 },
        { path: j("sub/c.jsonl"), size: 3 },
        { path: j("sub/deeper/d.jsonl"), size: 0 },
      ]);
      expect((await h.store.list(root, "*.jsonl")).map((f) => f.path)).toEqual([j("a.jsonl"), j("b.jsonl")]);
      expect((await h.store.list(root, "sub/**/*.jsonl")).map((f) => f.path)).toEqual([j("sub/c.jsonl"), j("sub/deeper/d.jsonl")]);
      expect((await h.store.list(root, "sub/*")).map((f) => f.path)).toEqual([j("sub/c.jsonl")]);
      expect((await h.store.list(root, "{a,e}.*")).map((f) => f.path)).toEqual([j("a.jsonl"), j("e.txt")]);
      expect(await h.store.list(root, "*.parquet")).toEqual([]);
    });

    it("pages through long listings in path order", async () => {
      const root = h.root();
      const names = Array.from({ length: 23 }, (_, i) => `part-${String(i).padStart(3, "0")}.txt`);
      for (const n of [...names].reverse()) await h.put(joinPath(root, n), n);
      h.fake?.resetRequests();
      const files = await h.store.list(root, "*.txt");
      expect(files.map((f) => f.path)).toEqual(names.map((n) => joinPath(root, n)));
      if (h.fake) expect(h.fake.count("list")).toBe(12); // 23 objects, 2 per page
    });
  });

  describe("reads", () => {
    it("streams whole objects and byte ranges (end inclusive)", async () => {
      const root = h.root();
      const p = joinPath(root, "r.bin");
      const data = randomBytes(3 * 1024 * 1024 + 17); // several chunks
      await h.put(p, data);
      expect((await readAll(h.store, p)).equals(data)).toBe(true);
      expect((await readAll(h.store, p, { start: 10, end: 19 })).equals(data.subarray(10, 20))).toBe(true);
      expect((await readAll(h.store, p, { start: data.length - 5 })).equals(data.subarray(data.length - 5))).toBe(true);
      expect((await readAll(h.store, p, { start: 1_000_000, end: 2_500_000 })).equals(data.subarray(1_000_000, 2_500_001))).toBe(true);
    });

    it("stat, exists and remove", async () => {
      const root = h.root();
      const p = joinPath(root, "x.txt");
      expect(await h.store.exists(p)).toBe(false);
      expect(await h.store.stat(p)).toBeUndefined();
      await h.put(p, "hello");
      expect(await h.store.exists(p)).toBe(true);
      const st = (await h.store.stat(p))!;
      expect(st.size).toBe(5);
      expect(st.generation).not.toBe("0");
      await h.store.remove(p);
      expect(await h.store.exists(p)).toBe(false);
      await h.store.remove(p); // removing what is gone is fine
    });

    it("a missing object fails the read with a non-retryable IoError naming it", async () => {
      const p = joinPath(h.root(), "missing.jsonl");
      const err = await errorOf(readAll(h.store, p));
      if (h.name === "local") {
        expect((err as NodeJS.ErrnoException).code).toBe("ENOENT");
        return;
      }
      expect(err).toBeInstanceOf(IoError);
      expect((err as IoError).retryable).toBe(false);
      expect((err as IoError).uri).toBe(p);
      expect((err as IoError).message).toContain(`${p} does not exist`);
      expect((err as IoError).message).toContain("check the path");
    });
  });

  describe("atomic writes", () => {
    it("openWrite: nothing is visible before commit, the whole object after", async () => {
      const root = h.root();
      const p = joinPath(root, "out/part-0.jsonl");
      const w = await h.store.openWrite(p, TAG, { ifGeneration: "0" });
      const chunk = Buffer.alloc(256 * 1024, "x");
      for (let i = 0; i < 8; i++) w.stream.write(chunk);
      expect(await h.store.exists(p)).toBe(false);
      expect(await h.store.list(root, "**/*")).toEqual([]);
      const info = await w.commit();
      expect(info).toEqual({ bytes: 8 * chunk.length, duplicate: false });
      expect((await h.get(p))!.equals(Buffer.concat(Array(8).fill(chunk)))).toBe(true);
      expect(await h.all(root)).toEqual(["out/part-0.jsonl"]);
    });

    it("empty objects commit and read back empty", async () => {
      const root = h.root();
      const p = joinPath(root, "empty.jsonl");
      const w = await h.store.openWrite(p, TAG, { ifGeneration: "0" });
      expect(await w.commit()).toEqual({ bytes: 0, duplicate: false });
      expect((await h.store.stat(p))!.size).toBe(0);
      expect((await readAll(h.store, p)).length).toBe(0);
      expect(await h.store.list(root, "*")).toEqual([{ path: p, size: 0 }]);
    });

    it("openWrite: abort leaves nothing anywhere", async () => {
      const root = h.root();
      const p = joinPath(root, "out.jsonl");
      const w = await h.store.openWrite(p, TAG);
      w.stream.write("partial");
      await w.abort();
      await w.abort();
      expect(await h.store.exists(p)).toBe(false);
      expect(await h.all(root)).toEqual([]);
      if (h.fake) expect(h.fake.openSessions()).toBe(0);
    });

    it("beginWrite: a local temporary file, published on commit; abort removes it", async () => {
      const root = h.root();
      const p = joinPath(root, "sub/x.txt");
      const pending = await h.store.beginWrite(p, TAG);
      expect(pending.tempPath.endsWith("x.txt")).toBe(true);
      fs.writeFileSync(pending.tempPath, "hello\n");
      expect(await h.store.exists(p)).toBe(false);
      expect(await h.store.list(root, "**/*")).toEqual([]);
      expect(await pending.commit()).toEqual({ bytes: 6, duplicate: false });
      expect((await h.get(p))!.toString()).toBe("hello\n");
      expect(fs.existsSync(pending.tempPath)).toBe(false);

      const other = await h.store.beginWrite(joinPath(root, "y.txt"), TAG);
      fs.writeFileSync(other.tempPath, "partial");
      await other.abort();
      expect(fs.existsSync(other.tempPath)).toBe(false);
      expect(await h.all(root)).toEqual(["sub/x.txt"]);
    });

    it("a duplicate commit of identical bytes succeeds and changes nothing; different bytes are a conflict", async () => {
      const root = h.root();
      const p = joinPath(root, "part-7.jsonl");
      const put = async (data: string, ifGeneration: string) => {
        const w = await h.store.openWrite(p, TAG, { ifGeneration });
        w.stream.end(data);
        return w.commit();
      };
      expect(await put("same bytes\n", "0")).toEqual({ bytes: 11, duplicate: false });
      const gen = (await h.store.stat(p))!.generation;
      // A retried attempt planned when nothing was there: identical → a duplicate, not an error.
      expect(await put("same bytes\n", "0")).toEqual({ bytes: 11, duplicate: true });
      expect((await h.store.stat(p))!.generation).toBe(gen);
      const err = await errorOf(put("other bytes\n", "0"));
      expect(err).toBeInstanceOf(IoError);
      const io = err as IoError;
      expect([io.op, io.uri, io.retryable]).toEqual(["commit", p, false]);
      expect(io.message).toContain(`commit conflict at ${p}`);
      expect((await h.get(p))!.toString()).toBe("same bytes\n");
      // The same through beginWrite (mapFiles' path).
      const pending = await h.store.beginWrite(p, TAG, { ifGeneration: "0" });
      fs.writeFileSync(pending.tempPath, "same bytes\n");
      expect(await pending.commit()).toEqual({ bytes: 11, duplicate: true });
      const pending2 = await h.store.beginWrite(p, TAG, { ifGeneration: "0" });
      fs.writeFileSync(pending2.tempPath, "different\n");
      await expect(pending2.commit()).rejects.toThrow(/commit conflict/);
      expect(fs.existsSync(pending2.tempPath)).toBe(false);
      expect(await h.all(root)).toEqual(["part-7.jsonl"]);
    });

    it("a write planned against the current generation replaces the object (re-running over old outputs)", async () => {
      const root = h.root();
      const p = joinPath(root, "o.txt");
      await h.put(p, "old");
      const gen = (await h.store.stat(p))!.generation;
      const w = await h.store.openWrite(p, TAG, { ifGeneration: gen });
      w.stream.end("new!");
      expect(await w.commit()).toEqual({ bytes: 4, duplicate: false });
      expect((await h.get(p))!.toString()).toBe("new!");
      expect((await h.store.stat(p))!.generation).not.toBe(gen);
      // Without a precondition a write simply replaces.
      const w2 = await h.store.openWrite(p, TAG);
      w2.stream.end("newer");
      await w2.commit();
      expect((await h.get(p))!.toString()).toBe("newer");
    });

    it("removeTemporaries removes what attempts of a tag left behind (local temp files, spool files)", async () => {
      const root = h.root();
      const a = await h.store.beginWrite(joinPath(root, "a.txt"), TAG);
      const b = await h.store.beginWrite(joinPath(root, "b.txt"), TAG);
      const other = await h.store.beginWrite(joinPath(root, "c.txt"), "fedcba9876543210");
      for (const w of [a, b, other]) fs.writeFileSync(w.tempPath, "left by a killed attempt");
      expect(await h.store.removeTemporaries(root, TAG)).toBeGreaterThanOrEqual(2);
      expect(fs.existsSync(a.tempPath) || fs.existsSync(b.tempPath)).toBe(false);
      expect(fs.existsSync(other.tempPath)).toBe(true);
      await other.abort();
      expect(await h.all(root)).toEqual([]);
    });
  });

  describe.runIf(h.name === "gcs (test server)")("faults (test server only)", () => {
    const withFake = () => h.fake!;
    const j = (root: string, rel: string) => joinPath(root, rel);

    it("retries 429/503 and dropped connections on list, stat, read and spool uploads; bytes identical", async () => {
      const gcs = withFake();
      const root = h.root();
      const data = randomBytes(2 * 1024 * 1024 + 3);
      await h.put(j(root, "in.bin"), data);
      gcs.addFault({ kinds: ["list"], status: 503, times: 2 });
      gcs.addFault({ kinds: ["stat"], status: 429, times: 2 });
      gcs.addFault({ kinds: ["media"], drop: "mid", times: 3 });
      gcs.addFault({ kinds: ["media"], drop: "before", times: 1 });
      // 2 MiB > the 256 KiB threshold: a resumable session (start + one PUT).
      gcs.addFault({ kinds: ["upload-start"], status: 503, times: 1 });
      gcs.addFault({ kinds: ["upload-chunk"], drop: "before", times: 1 });
      gcs.addFault({ kinds: ["upload-chunk"], drop: "after-commit", times: 1 });
      try {
        expect((await h.store.list(root, "*.bin")).map((f) => f.size)).toEqual([data.length]);
        expect((await h.store.stat(j(root, "in.bin")))!.size).toBe(data.length);
        expect((await readAll(h.store, j(root, "in.bin"))).equals(data)).toBe(true);
        const pending = await h.store.beginWrite(j(root, "out.bin"), TAG, { ifGeneration: "0" });
        fs.writeFileSync(pending.tempPath, data);
        expect(await pending.commit()).toEqual({ bytes: data.length, duplicate: true }); // its answer was lost once
        expect(gcs.getObject("contract-bucket", `${root.slice("gs://contract-bucket/".length)}/out.bin`)!.equals(data)).toBe(true);
        expect(gcs.faults.every((f) => f.left === 0)).toBe(true);
      } finally {
        gcs.clearFaults();
      }
      expect(await h.all(root)).toEqual(["in.bin", "out.bin"]);
    });

    it("an upload committed whose answer was lost is retried, sees 412 and counts as a duplicate", async () => {
      const gcs = withFake();
      const root = h.root();
      gcs.addFault({ kinds: ["upload"], drop: "after-commit", times: 1 });
      try {
        const pending = await h.store.beginWrite(j(root, "x.jsonl"), TAG, { ifGeneration: "0" });
        fs.writeFileSync(pending.tempPath, "payload\n");
        expect(await pending.commit()).toEqual({ bytes: 8, duplicate: true });
      } finally {
        gcs.clearFaults();
      }
      expect((await h.get(j(root, "x.jsonl")))!.toString()).toBe("payload\n");
    });

    it("a streaming upload that fails is a retryable IoError and leaves nothing (the task is re-run)", async () => {
      const gcs = withFake();
      const root = h.root();
      gcs.addFault({ kinds: ["upload"], drop: "mid", times: 1 });
      try {
        const w = await h.store.openWrite(j(root, "s.jsonl"), TAG, { ifGeneration: "0" });
        w.stream.write(Buffer.alloc(64 * 1024, "y"));
        const err = await errorOf(w.commit());
        expect(err).toBeInstanceOf(IoError);
        expect((err as IoError).retryable).toBe(true);
        expect((err as IoError).op).toBe("write");
        await w.abort();
      } finally {
        gcs.clearFaults();
      }
      expect(await h.all(root)).toEqual([]);
    });

    it("when retries run out: a retryable IoError saying how often it tried", async () => {
      const gcs = withFake();
      const p = j(h.root(), "x.txt");
      gcs.addFault({ kinds: ["stat"], status: 503, times: 100 });
      try {
        const err = await errorOf(h.store.stat(p));
        expect(err).toBeInstanceOf(IoError);
        const io = err as IoError;
        expect([io.op, io.uri, io.retryable]).toEqual(["stat", p, true]);
        expect(io.message).toContain(`failed after ${TEST_RETRY.retries + 1} attempts`);
        expect(io.message).toContain("HTTP 503");
      } finally {
        gcs.clearFaults();
      }
    });

    it("403 and 404 fail fast with what to check", async () => {
      const gcs = withFake();
      gcs.createBucket("locked");
      gcs.denied.add("locked");
      gcs.resetRequests();
      try {
        const err = await errorOf(h.store.list("gs://locked/in", "**/*"));
        expect(err).toBeInstanceOf(IoError);
        expect((err as IoError).retryable).toBe(false);
        expect((err as IoError).message).toMatch(/permission denied \(HTTP 403\).*check the credentials.*GOOGLE_APPLICATION_CREDENTIALS/);
        expect(gcs.count()).toBe(1); // not retried
      } finally {
        gcs.clearFaults();
      }
      const missing = await errorOf(h.store.list("gs://no-such-bucket/in", "**/*"));
      expect((missing as IoError).message).toContain("bucket no-such-bucket does not exist");
      expect((missing as IoError).retryable).toBe(false);
    });

    it("seeded random faults over many writes and reads: every object byte-identical, no leftovers", async () => {
      const gcs = withFake();
      const root = h.root();
      gcs.seed(42);
      for (const kind of ["list", "stat", "media", "upload", "upload-start", "upload-chunk"] as const) {
        gcs.addFault({ kinds: [kind], status: 503, probability: 0.15 });
        gcs.addFault({ kinds: [kind], status: 429, probability: 0.05 });
      }
      gcs.addFault({ kinds: ["media"], drop: "mid", probability: 0.2 });
      gcs.addFault({ kinds: ["upload"], drop: "after-commit", probability: 0.1 });
      const blobs = Array.from({ length: 12 }, (_, i) => randomBytes(10_000 + i * 50_000));
      try {
        await Promise.all(
          blobs.map(async (b, i) => {
            const pending = await h.store.beginWrite(j(root, `o-${i}.bin`), TAG, { ifGeneration: "0" });
            fs.writeFileSync(pending.tempPath, b);
            await pending.commit();
          }),
        );
        const listed = await h.store.list(root, "*.bin");
        const names = blobs.map((_, i) => `o-${i}.bin`);
        expect(listed.map((f) => f.path)).toEqual([...names].sort().map((n) => j(root, n)));
        for (const f of listed) expect(f.size).toBe(blobs[names.indexOf(f.path.slice(root.length + 1))]!.length);
        for (let i = 0; i < blobs.length; i++) expect((await readAll(h.store, j(root, `o-${i}.bin`))).equals(blobs[i]!)).toBe(true);
      } finally {
        gcs.clearFaults();
      }
      // No temporary objects: only the outputs exist.
      expect(await h.all(root)).toEqual(blobs.map((_, i) => `o-${i}.bin`).sort());
    });
  });
});
