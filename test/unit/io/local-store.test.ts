import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IoError } from "../../../src/core/errors.js";
import { GcsStore } from "../../../src/io/gcs-store.js";
import { LocalStore } from "../../../src/io/local-store.js";
import { storeFor } from "../../../src/io/store-for.js";
import { useTempDir } from "../../support/use-temp-dir.js";

const store = new LocalStore();
const TAG = "0123456789abcdef";

function write(root: string, rel: string, content: string | Buffer): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
}

async function readAll(p: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of store.openRead(p)) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

describe("LocalStore.list", () => {
  const tmp = useTempDir();

  it("lists files matching a glob, sorted by path, with their sizes", async () => {
    const root = tmp.path;
    write(root, "b.jsonl", "12345");
    write(root, "a.jsonl", "1");
    write(root, "sub/c.jsonl", "123");
    write(root, "sub/deeper/d.jsonl", "");
    write(root, "e.txt", "not matched");
    const all = await store.list(root, "**/*.jsonl");
    expect(all).toEqual([
      { path: path.join(root, "a.jsonl"), size: 1 },
      { path: path.join(root, "b.jsonl"), size: 5 },
      { path: path.join(root, "sub/c.jsonl"), size: 3 },
      { path: path.join(root, "sub/deeper/d.jsonl"), size: 0 },
    ]);
    const top = await store.list(root, "*.jsonl");
    expect(top.map((f) => path.basename(f.path))).toEqual(["a.jsonl", "b.jsonl"]);
  });

  it("sorts numbered names by path (so shard numbering is stable)", async () => {
    const root = tmp.path;
    for (const n of [10, 2, 1, 33, 3]) write(root, `part-${n}.txt`, "x".repeat(n));
    const files = await store.list(root, "*.txt");
    const names = files.map((f) => path.basename(f.path));
    expect(names).toEqual([...names].sort());
    expect(files.find((f) => f.path.endsWith("part-33.txt"))!.size).toBe(33);
  });

  it("ignores hidden .sirocco-tmp-* files (half-written outputs) and directories", async () => {
    const root = tmp.path;
    write(root, "x.jsonl", "{}\n");
    write(root, ".sirocco-tmp-abc123-y.jsonl", "partial");
    write(root, "sub/.sirocco-tmp-def456-z.jsonl", "partial");
    fs.mkdirSync(path.join(root, "dir.jsonl"));
    const files = await store.list(root, "**/*");
    expect(files).toEqual([{ path: path.join(root, "x.jsonl"), size: 3 }]);
  });

  it("returns an empty list when nothing matches", async () => {
    write(tmp.path, "a.txt", "a");
    expect(await store.list(tmp.path, "*.parquet")).toEqual([]);
  });

  it("fails with IoError (op list, not retryable) naming a root that does not exist", async () => {
    const missing = path.join(tmp.path, "no", "such", "dir");
    const err = await store.list(missing, "**/*").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IoError);
    const io = err as IoError;
    expect(io.op).toBe("list");
    expect(io.uri).toBe(missing);
    expect(io.retryable).toBe(false);
    expect(io.message).toContain(missing);
    expect(io.message).toMatch(/does not exist/);
    expect((io.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("fails with IoError when the root is a file", async () => {
    const file = path.join(tmp.path, "f.txt");
    fs.writeFileSync(file, "x");
    await expect(store.list(file, "*")).rejects.toThrow(IoError);
    await expect(store.list(file, "*")).rejects.toThrow(`input root ${file} is not a directory`);
  });
});

describe("LocalStore writes", () => {
  const tmp = useTempDir();

  it("beginWrite/commit: the file appears at the final path only at commit", async () => {
    const final = path.join(tmp.path, "out", "nested", "part-0.jsonl");
    const pending = await store.beginWrite(final, TAG);
    expect(pending.finalPath).toBe(final);
    expect(path.dirname(pending.tempPath)).toBe(path.dirname(final));
    expect(path.basename(pending.tempPath)).toMatch(/^\.sirocco-tmp-0123456789abcdef-[0-9a-f]+-part-0\.jsonl$/);
    fs.writeFileSync(pending.tempPath, "hello\n");
    expect(fs.existsSync(final)).toBe(false);
    expect(await store.exists(final)).toBe(false);
    // a listing during the write does not see the temporary file
    expect(await store.list(path.join(tmp.path, "out"), "**/*")).toEqual([]);
    await pending.commit();
    expect(fs.readFileSync(final, "utf8")).toBe("hello\n");
    expect(await store.exists(final)).toBe(true);
    expect(fs.readdirSync(path.dirname(final))).toEqual(["part-0.jsonl"]);
  });

  it("commit replaces an existing file atomically", async () => {
    const final = path.join(tmp.path, "x.txt");
    fs.writeFileSync(final, "old");
    const pending = await store.beginWrite(final, TAG);
    fs.writeFileSync(pending.tempPath, "new");
    expect(fs.readFileSync(final, "utf8")).toBe("old");
    await pending.commit();
    expect(fs.readFileSync(final, "utf8")).toBe("new");
  });

  it("abort removes the temporary file and leaves nothing at the final path", async () => {
    const final = path.join(tmp.path, "out.jsonl");
    const pending = await store.beginWrite(final, TAG);
    fs.writeFileSync(pending.tempPath, "partial");
    await pending.abort();
    expect(fs.existsSync(pending.tempPath)).toBe(false);
    expect(fs.existsSync(final)).toBe(false);
    expect(fs.readdirSync(tmp.path)).toEqual([]);
  });

  it("abort without anything written is fine", async () => {
    const pending = await store.beginWrite(path.join(tmp.path, "never.jsonl"), TAG);
    await pending.abort();
    expect(fs.readdirSync(tmp.path)).toEqual([]);
  });

  it("commit without a temporary file fails with a retryable IoError (op commit)", async () => {
    const final = path.join(tmp.path, "gone.jsonl");
    const pending = await store.beginWrite(final, TAG);
    const err = await pending.commit().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).op).toBe("commit");
    expect((err as IoError).uri).toBe(final);
    expect((err as IoError).retryable).toBe(true);
    expect((err as IoError).message).toBe(`could not commit ${final}`);
  });

  it("two concurrent writes to the same final path use different temporary names", async () => {
    const final = path.join(tmp.path, "same.jsonl");
    const [a, b] = await Promise.all([store.beginWrite(final, TAG), store.beginWrite(final, TAG)]);
    expect(a.tempPath).not.toBe(b.tempPath);
  });

  it("removeTemporaries removes only the temporary files of its tag, and counts them", async () => {
    const dir = tmp.path;
    const mine1 = await store.beginWrite(path.join(dir, "a.jsonl"), TAG);
    const mine2 = await store.beginWrite(path.join(dir, "b.jsonl"), TAG);
    const other = await store.beginWrite(path.join(dir, "c.jsonl"), "fedcba9876543210");
    for (const p of [mine1, mine2, other]) fs.writeFileSync(p.tempPath, "partial");
    fs.writeFileSync(path.join(dir, "final.jsonl"), "done");
    expect(await store.removeTemporaries(dir, TAG)).toBe(2);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(other.tempPath), "final.jsonl"].sort());
    expect(await store.removeTemporaries(path.join(dir, "missing"), TAG)).toBe(0);
  });

  it("openRead streams the bytes, exists and remove work", async () => {
    const p = path.join(tmp.path, "r.txt");
    const content = "é".repeat(700_000); // > 1 MiB: several chunks
    fs.writeFileSync(p, content);
    expect(await readAll(p)).toBe(content);
    await store.remove(p);
    expect(await store.exists(p)).toBe(false);
    await store.remove(p); // removing what is gone is not an error
    expect(await store.exists(p)).toBe(false);
  });
});

describe("storeFor", () => {
  it("serves local paths with the local store", () => {
    expect(storeFor("/tmp/x")).toBeInstanceOf(LocalStore);
    expect(storeFor("relative/dir")).toBeInstanceOf(LocalStore);
  });

  it("serves gs:// with one GcsStore per thread", () => {
    expect(storeFor("gs://bucket/prefix")).toBeInstanceOf(GcsStore);
    expect(storeFor("gs://other/x")).toBe(storeFor("gs://bucket/prefix"));
  });

  it("rejects URIs of stores it does not have, with IoError op resolve", () => {
    let err: unknown;
    try {
      storeFor("s3://bucket/prefix");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).op).toBe("resolve");
    expect((err as IoError).uri).toBe("s3://bucket/prefix");
    expect((err as IoError).message).toContain("paths may be local or gs://bucket/prefix");
  });
});
