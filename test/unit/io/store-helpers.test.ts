import { describe, expect, it } from "vitest";
import { IoError } from "../../../src/core/errors.js";
import { parseGcsUri } from "../../../src/io/gcs-uri.js";
import { globCrossesFolders, globPrefix } from "../../../src/io/glob-prefix.js";
import { backoffMs, httpStatusOf, isTransient, retryPolicyFromEnv, withRetries } from "../../../src/io/retry-policy.js";
import { baseName, joinPath, parentOf, relativePath, schemeOf } from "../../../src/io/store-path.js";

describe("store paths", () => {
  it("join, parent, base name and relative paths work for URIs and local paths alike", () => {
    expect(joinPath("gs://b/out", "sub/x.txt")).toBe("gs://b/out/sub/x.txt");
    expect(joinPath("gs://b", "x.txt")).toBe("gs://b/x.txt");
    expect(joinPath("gs://b/out/", "./a/../x.txt")).toBe("gs://b/out/x.txt");
    expect(joinPath("/tmp/out", "x.txt")).toBe("/tmp/out/x.txt");
    expect(parentOf("gs://b/out/x.txt")).toBe("gs://b/out");
    expect(parentOf("/tmp/out/x.txt")).toBe("/tmp/out");
    expect(baseName("gs://b/out/x.txt")).toBe("x.txt");
    expect(relativePath("gs://b/in", "gs://b/in/a/x.gz")).toBe("a/x.gz");
    expect(relativePath("gs://b/in", "gs://c/in/x.gz").startsWith("..")).toBe(true);
    expect(relativePath("/data/in", "/data/in/a/x.gz")).toBe("a/x.gz");
    expect(schemeOf("GS://b/x")).toBe("gs");
    expect(schemeOf("/x")).toBeUndefined();
  });

  it("parses gs:// URIs and rejects invalid bucket names with IoError op resolve", () => {
    expect(parseGcsUri("gs://my-bucket/corpus/a.jsonl")).toEqual({ bucket: "my-bucket", key: "corpus/a.jsonl" });
    expect(parseGcsUri("gs://my-bucket")).toEqual({ bucket: "my-bucket", key: "" });
    expect(() => parseGcsUri("gs://B/x")).toThrow(IoError);
    expect(() => parseGcsUri("gs:///x")).toThrow(/not a valid gs:\/\/ URI/);
  });
});

describe("glob prefix", () => {
  it("is the literal folder prefix before the first glob segment", () => {
    expect(globPrefix("**/*.jsonl")).toBe("");
    expect(globPrefix("*.jsonl")).toBe("");
    expect(globPrefix("2024/*/part-*.jsonl")).toBe("2024/");
    expect(globPrefix("a/b/c.txt")).toBe("a/b/");
    expect(globPrefix("a/{b,c}/d.txt")).toBe("a/");
  });

  it("knows when one delimiter listing is enough", () => {
    expect(globCrossesFolders("*.jsonl")).toBe(false);
    expect(globCrossesFolders("sub/*.jsonl")).toBe(false);
    expect(globCrossesFolders("**/*.jsonl")).toBe(true);
    expect(globCrossesFolders("*/x.jsonl")).toBe(true);
    expect(globCrossesFolders("{a,b/c}.txt")).toBe(true);
  });
});

describe("retry policy", () => {
  it("full jitter: delays are uniform below min(max, base·2^n)", () => {
    const p = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffMs(p, 0, () => 0.999)).toBe(99);
    expect(backoffMs(p, 3, () => 0.5)).toBe(400);
    expect(backoffMs(p, 10, () => 0.999)).toBe(999);
    expect(backoffMs(p, 2, () => 0)).toBe(0);
  });

  it("reads its knobs from the environment, ignoring bad values", () => {
    expect(retryPolicyFromEnv({})).toEqual({ retries: 8, baseDelayMs: 100, maxDelayMs: 10_000 });
    expect(retryPolicyFromEnv({ SIROCCO_IO_RETRIES: "2", SIROCCO_IO_RETRY_BASE_MS: "5", SIROCCO_IO_RETRY_MAX_MS: "nope" })).toEqual({ retries: 2, baseDelayMs: 5, maxDelayMs: 10_000 });
  });

  it("classifies transient failures: 408/429/5xx and connection errors, not 4xx", () => {
    for (const code of [408, 429, 500, 502, 503, 504]) expect(isTransient({ code })).toBe(true);
    for (const code of [400, 401, 403, 404, 412]) expect(isTransient({ code })).toBe(false);
    for (const code of ["ECONNRESET", "ETIMEDOUT", "EPIPE"]) expect(isTransient(Object.assign(new Error("x"), { code }))).toBe(true);
    expect(isTransient(new Error("socket hang up"))).toBe(true);
    expect(isTransient(new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) }))).toBe(true);
    expect(isTransient(new RangeError("bad argument"))).toBe(false);
    expect(httpStatusOf(new Error("Retry limit exceeded - status: 503 - {}"))).toBe(503);
    expect(httpStatusOf({ response: { status: 429 } })).toBe(429);
  });

  it("withRetries retries transient failures until success or the budget ends, and never retries others", async () => {
    const p = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 };
    let calls = 0;
    expect(await withRetries(p, async () => (++calls < 3 ? Promise.reject({ code: 503 }) : "ok"))).toBe("ok");
    expect(calls).toBe(3);
    calls = 0;
    await expect(withRetries(p, async () => (calls++, Promise.reject({ code: 503 })))).rejects.toEqual({ code: 503 });
    expect(calls).toBe(4);
    calls = 0;
    await expect(withRetries(p, async () => (calls++, Promise.reject({ code: 403 })))).rejects.toEqual({ code: 403 });
    expect(calls).toBe(1);
  });
});
