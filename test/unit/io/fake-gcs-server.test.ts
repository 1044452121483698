/**
 * The GCS-JSON-API test server itself, driven by the real client where it can be: multi-chunk
 * resumable uploads (Content-Range, 308 + Range), status queries, simple media uploads, list
 * prefixes with a delimiter. The contract suite covers the rest through GcsStore.
 */
import { randomBytes } from "node:crypto";
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGcsServer } from "../../support/fake-gcs-server.js";

let gcs: FakeGcsServer;
let storage: Storage;

beforeAll(async () => {
  gcs = await FakeGcsServer.start();
  gcs.createBucket("srv");
  storage = new Storage({ apiEndpoint: gcs.endpoint, retryOptions: { autoRetry: false } });
});

afterAll(() => gcs.close());

describe("FakeGcsServer", () => {
  it("accepts multi-chunk resumable uploads from the client (Content-Range chunks, 308 in between)", async () => {
    const data = randomBytes(1024 * 1024 + 123);
    gcs.resetRequests();
    await new Promise<void>((resolve, reject) => {
      const w = storage.bucket("srv").file("chunked.bin").createWriteStream({ resumable: true, chunkSize: 256 * 1024, validation: false });
      w.on("error", reject).on("finish", resolve);
      w.end(data);
    });
    expect(gcs.getObject("srv", "chunked.bin")!.equals(data)).toBe(true);
    expect(gcs.count("upload-start")).toBe(1);
    expect(gcs.count("upload-chunk")).toBe(5); // 4 full chunks of 256 KiB + the rest
    expect(gcs.openSessions()).toBe(0);
    const [meta] = await storage.bucket("srv").file("chunked.bin").getMetadata();
    expect(Number(meta.size)).toBe(data.length);
    expect(meta.md5Hash).toBe((await import("node:crypto")).createHash("md5").update(data).digest("base64"));
  });

  it("answers a status query with the bytes received, and takes media uploads and ifGenerationMatch", async () => {
    const start = await fetch(`${gcs.endpoint}/upload/storage/v1/b/srv/o?uploadType=resumable&name=q.txt`, { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } });
    const session = start.headers.get("location")!;
    const first = await fetch(session, { method: "PUT", body: "hello ", headers: { "Content-Range": "bytes 0-5/*" } });
    expect(first.status).toBe(308);
    expect(first.headers.get("range")).toBe("bytes=0-5");
    const status = await fetch(session, { method: "PUT", headers: { "Content-Range": "bytes */*" } });
    expect([status.status, status.headers.get("range")]).toEqual([308, "bytes=0-5"]);
    // A resent overlapping chunk is accepted from where the server is.
    const last = await fetch(session, { method: "PUT", body: "o world", headers: { "Content-Range": "bytes 4-10/11" } });
    expect(last.status).toBe(200);
    expect(gcs.getObject("srv", "q.txt")!.toString()).toBe("hello world");

    const media = await fetch(`${gcs.endpoint}/upload/storage/v1/b/srv/o?uploadType=media&name=m.txt&ifGenerationMatch=0`, { method: "POST", body: "m" });
    expect(media.status).toBe(200);
    const again = await fetch(`${gcs.endpoint}/upload/storage/v1/b/srv/o?uploadType=media&name=m.txt&ifGenerationMatch=0`, { method: "POST", body: "n" });
    expect(again.status).toBe(412);
    expect(gcs.getObject("srv", "m.txt")!.toString()).toBe("m");
  });

  it("lists with prefix and delimiter, folders as prefixes, paginated", async () => {
    for (const n of ["d/a.txt", "d/b.txt", "d/sub/c.txt", "d/sub/d.txt", "d/z/e.txt"]) gcs.putObject("srv", n, n);
    const pages: Array<{ items: string[]; prefixes: string[] }> = [];
    let token: string | undefined;
    do {
      const r = (await (await fetch(`${gcs.endpoint}/storage/v1/b/srv/o?prefix=d/&delimiter=/&maxResults=2${token ? `&pageToken=${token}` : ""}`)).json()) as {
        items?: Array<{ name: string }>;
        prefixes?: string[];
        nextPageToken?: string;
      };
      pages.push({ items: (r.items ?? []).map((i) => i.name), prefixes: r.prefixes ?? [] });
      token = r.nextPageToken;
    } while (token);
    expect(pages).toEqual([
      { items: ["d/a.txt", "d/b.txt"], prefixes: [] },
      { items: [], prefixes: ["d/sub/", "d/z/"] },
    ]);
  });
});
