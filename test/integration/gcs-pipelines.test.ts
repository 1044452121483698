/**
 * Pipelines reading from and writing to gs:// — on the GCS-JSON-API-compatible test server
 * (test/support/fake-gcs-server.ts, 127.0.0.1), through the real CLI, on every executor — give
 * byte-identical outputs to the same pipelines on local paths, also with faults injected at
 * random (seeded), and leave no temporary objects. skipExisting and mapFiles work on gs://.
 * The CLI subprocess reaches the server through STORAGE_EMULATOR_HOST in its environment.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCorpus } from "../../scripts/make-corpus.js";
import { EXECUTORS } from "../support/executors.js";
import { FakeGcsServer } from "../support/fake-gcs-server.js";
import { tempDir } from "../support/files.js";
import { runFixture } from "../support/fixture-runner.js";

const BUCKET = "itest";
let gcs: FakeGcsServer;
let corpusDir: string;
let corpusFiles: string[];
const saved: Record<string, string | undefined> = {};

/** Local folder → objects under gs://itest/<prefix>/ (same relative names). */
async function upload(localDir: string, prefix: string): Promise<void> {
  for (const e of await fsp.readdir(localDir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    gcs.putObject(BUCKET, `${prefix}/${path.relative(localDir, full)}`, await fsp.readFile(full));
  }
}

/** Every object under gs://itest/<prefix>/ (relative name → bytes), hidden ones included. */
function objectTree(prefix: string): Map<string, Buffer> {
  return new Map(gcs.objectNames(BUCKET, `${prefix}/`).map((n) => [n.slice(prefix.length + 1), gcs.getObject(BUCKET, n)!]));
}

/** Every file under a local folder (relative name → bytes), hidden ones included. */
function fileTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, full), fs.readFileSync(full));
  }
  return new Map([...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

beforeAll(async () => {
  gcs = await FakeGcsServer.start();
  gcs.createBucket(BUCKET);
  for (const [k, v] of Object.entries({ STORAGE_EMULATOR_HOST: gcs.endpoint, SIROCCO_IO_RETRY_BASE_MS: "2", SIROCCO_IO_RETRY_MAX_MS: "50" })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  corpusDir = tempDir("sirocco-gcs-corpus-");
  corpusFiles = await makeCorpus({ outDir: corpusDir, megabytes: 0.8, files: 4, seed: 11, gzipLevel: 1 });
  await upload(corpusDir, "in");
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await gcs.close();
});

describe("clean job on gs:// gives the same bytes as on local paths", () => {
  let local: Map<string, Buffer>;
  beforeAll(async () => {
    const outDir = tempDir("sirocco-gcs-local-out-");
    const r = await runFixture("clean", { inDir: corpusDir, outDir, executor: "inline" });
    expect(r.code, r.stderr).toBe(0);
    local = fileTree(outDir);
    expect(local.size).toBe(corpusFiles.length);
  });

  for (const executor of EXECUTORS) {
    it(`gs:// → gs:// on ${executor}`, async () => {
      const out = `out-${executor}`;
      const r = await runFixture("clean", { inDir: `gs://${BUCKET}/in`, outDir: `gs://${BUCKET}/${out}`, executor });
      expect(r.code, r.stderr).toBe(0);
      expect(objectTree(out)).toEqual(local);
      expect(r.result!.outputs).toEqual([...local.keys()].map((n) => `gs://${BUCKET}/${out}/${n}`));
      expect(r.result!.stats.stages[0]!.bytesWritten).toBe([...local.values()].reduce((a, b) => a + b.length, 0));
    });

    it(`with seeded random faults (429/503, dropped connections, lost answers) on ${executor}: identical bytes, no leftovers`, async () => {
      const out = `faulty-${executor}`;
      gcs.seed(executor === "inline" ? 1 : 2);
      gcs.resetRequests();
      for (const kind of ["list", "stat", "media", "upload"] as const) {
        gcs.addFault({ kinds: [kind], status: 503, probability: 0.06 });
        gcs.addFault({ kinds: [kind], status: 429, probability: 0.03 });
      }
      gcs.addFault({ kinds: ["media"], drop: "mid", probability: 0.15 });
      gcs.addFault({ kinds: ["list", "stat"], drop: "before", probability: 0.05 });
      gcs.addFault({ kinds: ["upload"], drop: "after-commit", probability: 0.1 });
      try {
        const r = await runFixture("clean", { inDir: `gs://${BUCKET}/in`, outDir: `gs://${BUCKET}/${out}`, executor });
        expect(r.code, r.stderr).toBe(0);
        expect(objectTree(out)).toEqual(local);
      } finally {
        gcs.clearFaults();
      }
      expect(gcs.count()).toBeGreaterThan(0);
    });
  }

  it("gs:// input → local output and local input → gs:// output", async () => {
    const outDir = tempDir("sirocco-gcs-mixed-");
    const a = await runFixture("clean", { inDir: `gs://${BUCKET}/in`, outDir, executor: "inline" });
    expect(a.code, a.stderr).toBe(0);
    expect(fileTree(outDir)).toEqual(local);
    const b = await runFixture("clean", { inDir: corpusDir, outDir: `gs://${BUCKET}/from-local`, executor: "inline" });
    expect(b.code, b.stderr).toBe(0);
    expect(objectTree("from-local")).toEqual(local);
  });
});

describe("Parquet on gs://", () => {
  it("JSONL → Parquet → JSONL through gs:// gives the same bytes as on local paths, on every executor", async () => {
    const localPq = tempDir("sirocco-gcs-pq-local-");
    const a = await runFixture("to-columnar", { inDir: corpusDir, outDir: localPq, extra: "parquet", executor: "inline" });
    expect(a.code, a.stderr).toBe(0);
    const localJsonl = tempDir("sirocco-gcs-pq-back-");
    const b = await runFixture("from-columnar", { inDir: localPq, outDir: localJsonl, extra: "parquet:id,meta", executor: "inline" });
    expect(b.code, b.stderr).toBe(0);
    expect(fileTree(localPq).size).toBe(corpusFiles.length);
    for (const executor of EXECUTORS) {
      const r = await runFixture("to-columnar", { inDir: `gs://${BUCKET}/in`, outDir: `gs://${BUCKET}/pq-${executor}`, extra: "parquet", executor });
      expect(r.code, r.stderr).toBe(0);
      expect(objectTree(`pq-${executor}`)).toEqual(fileTree(localPq));
      const back = await runFixture("from-columnar", { inDir: `gs://${BUCKET}/pq-${executor}`, outDir: `gs://${BUCKET}/pq-back-${executor}`, extra: "parquet:id,meta", executor });
      expect(back.code, back.stderr).toBe(0);
      expect(objectTree(`pq-back-${executor}`)).toEqual(fileTree(localJsonl));
    }
  });
});

describe("resume and mapFiles on gs://", () => {
  it("skipExisting re-runs only the missing shard", async () => {
    for (const executor of EXECUTORS) {
      const out = `skip-${executor}`;
      const first = await runFixture("skip-existing", { inDir: `gs://${BUCKET}/in`, outDir: `gs://${BUCKET}/${out}`, executor });
      expect(first.code, first.stderr).toBe(0);
      const before = objectTree(out);
      expect(before.size).toBe(corpusFiles.length);
      const victim = gcs.objectNames(BUCKET, `${out}/`)[1]!;
      const untouched = gcs.generationOf(BUCKET, gcs.objectNames(BUCKET, `${out}/`)[0]!);
      gcs.buckets.get(BUCKET)!.delete(victim);
      const second = await runFixture("skip-existing", { inDir: `gs://${BUCKET}/in`, outDir: `gs://${BUCKET}/${out}`, executor });
      expect(second.code, second.stderr).toBe(0);
      expect(second.result!.stats.stages[0]!.skippedShards).toBe(corpusFiles.length - 1);
      expect(second.result!.stats.tasks).toBe(1);
      expect(second.result!.outputs).toEqual(first.result!.outputs);
      expect(objectTree(out)).toEqual(before);
      // Skipped outputs were not rewritten.
      expect(gcs.generationOf(BUCKET, gcs.objectNames(BUCKET, `${out}/`)[0]!)).toBe(untouched);
    }
  });

  it("mapFiles gs:// → gs://: the function gets local paths; outputs uploaded; existing ones skipped", async () => {
    const files = ["a.txt", "sub/b.txt", "sub/deeper/c.txt"];
    for (const f of files) gcs.putObject(BUCKET, `mf-in/${f}`, `hello from ${f}\n`);
    for (const executor of EXECUTORS) {
      const out = `mf-out-${executor}`;
      const r = await runFixture("map-files", { inDir: `gs://${BUCKET}/mf-in`, outDir: `gs://${BUCKET}/${out}`, executor });
      expect(r.code, r.stderr).toBe(0);
      expect(new Map([...objectTree(out)].map(([k, v]) => [k, v.toString()]))).toEqual(new Map(files.map((f) => [f, `HELLO FROM ${f.toUpperCase()}\n`])));
      expect(r.result!.outputs).toEqual(files.map((f) => `gs://${BUCKET}/${out}/${f}`));
      gcs.buckets.get(BUCKET)!.delete(`${out}/sub/b.txt`);
      const again = await runFixture("map-files", { inDir: `gs://${BUCKET}/mf-in`, outDir: `gs://${BUCKET}/${out}`, executor });
      expect(again.code, again.stderr).toBe(0);
      expect(again.result!.counters.converted).toBe(1);
      expect(again.result!.stats.stages[0]!.skippedShards).toBe(2);
      expect(objectTree(out).get("sub/b.txt")!.toString()).toBe("HELLO FROM SUB/B.TXT\n");
    }
  });
});

describe("failures on gs://", () => {
  it("a bucket the credentials may not read fails fast, saying what to check", async () => {
    gcs.createBucket("locked");
    gcs.denied.add("locked");
    try {
      const r = await runFixture("clean", { inDir: "gs://locked/in", outDir: `gs://${BUCKET}/never`, executor: "inline" });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("IoError");
      expect(r.stderr).toContain("permission denied (HTTP 403)");
      expect(r.stderr).toContain("check the credentials");
    } finally {
      gcs.clearFaults();
    }
    expect(gcs.objectNames(BUCKET, "never/")).toEqual([]);
  });

  it("a worker thread that dies mid-task on gs:// is retried; outputs complete, nothing else written (threads)", async () => {
    const r = await runFixture("crash-thread", { inDir: `gs://${BUCKET}/in`, outDir: `gs://${BUCKET}/crash`, executor: "threads" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.result!.stats.retries).toBe(1);
    const tree = objectTree("crash");
    expect([...tree.keys()]).toEqual(corpusFiles.map((f) => `${path.basename(f).replace(/\.jsonl.*$/, "")}.jsonl`));
    for (const f of corpusFiles) {
      const want = zlib.gunzipSync(fs.readFileSync(f)).toString("utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown);
      const got = tree.get(`${path.basename(f).replace(/\.jsonl.*$/, "")}.jsonl`)!.toString("utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown);
      expect(got).toEqual(want);
    }
  });

  it("an input prefix with no objects is the usual 'matched no files' error", async () => {
    const r = await runFixture("clean", { inDir: `gs://${BUCKET}/nothing-here`, outDir: `gs://${BUCKET}/never`, executor: "inline" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("matched no files");
  });
});

describe("shuffle with gs:// scratch", () => {
  const SHUFFLE = path.join(path.dirname(new URL(import.meta.url).pathname), "../fixtures/shuffle-pipelines.ts");
  for (const executor of EXECUTORS) {
    it(`dedupe spilling to gs:// scratch (ranged reads) gives the same bytes as with local scratch, and leaves no scratch objects, on ${executor}`, async () => {
      const localOut = tempDir("sirocco-gcs-dedupe-local-");
      const a = await runFixture("dedupe", { script: SHUFFLE, inDir: corpusDir, outDir: localOut, executor, flags: ["--memory", "200KB"] });
      expect(a.code, a.stderr).toBe(0);
      const gsOut = tempDir("sirocco-gcs-dedupe-gs-");
      const b = await runFixture("dedupe", { script: SHUFFLE, inDir: `gs://${BUCKET}/in`, outDir: gsOut, executor, flags: ["--memory", "200KB", "--scratch", `gs://${BUCKET}/scratch`] });
      expect(b.code, b.stderr).toBe(0);
      expect(b.result!.stats.stages[1]!.sortedRuns).toBeGreaterThan(0);
      expect(fileTree(gsOut)).toEqual(fileTree(localOut));
      expect(objectTree("scratch").size).toBe(0);
    });
  }
});
