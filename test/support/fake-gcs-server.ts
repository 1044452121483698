/**
 * A small in-memory server speaking the part of the Google Cloud Storage JSON API that
 * @google-cloud/storage uses for sirocco's GcsStore, on 127.0.0.1 only (no Google emulator
 * can be installed here). Implemented:
 *
 * - `GET /b/:bucket` (bucket metadata);
 * - `GET /b/:bucket/o` list with `prefix`, `delimiter`, `pageToken`, `maxResults`;
 * - `GET /b/:bucket/o/:object` metadata, and `?alt=media` bytes with `Range`;
 * - `DELETE /b/:bucket/o/:object` (with `ifGenerationMatch`);
 * - `POST /upload/storage/v1/b/:bucket/o` with `uploadType=media`, `multipart` and
 *   `resumable` (session URI in `Location`), then `PUT` chunks with `Content-Range`
 *   (`bytes a-b/*`, `bytes a-b/N`, `bytes *\/N` status queries; 308 + `Range` until done);
 * - `ifGenerationMatch` (including 0 = must not exist) checked when an upload completes;
 *   increasing generation numbers; `md5Hash` and `crc32c` in metadata.
 *
 * The JSON API is served both under `/storage/v1` and at the root (the client omits the
 * prefix when `STORAGE_EMULATOR_HOST` is set).
 *
 * Fault injection ({@link FaultRule}): answer with a status (429, 503, 403…), drop the
 * connection before answering, part-way through a response or upload body, or after an
 * upload has been committed (the client sees a failure although the object exists) — for
 * the first N matching requests or for a seeded random fraction of them.
 *
 * @example
 * const gcs = await FakeGcsServer.start();
 * gcs.createBucket("test");
 * process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
 * gcs.addFault({ kinds: ["upload"], status: 503, times: 2 });
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { prng } from "../../scripts/make-corpus.js";

/** What a request does, for counting and for choosing requests to fail. */
export type RequestKind = "bucket" | "list" | "stat" | "media" | "delete" | "upload" | "upload-start" | "upload-chunk" | "other";

export interface RequestRecord {
  method: string;
  kind: RequestKind;
  bucket?: string;
  object?: string;
}

export interface FaultRule {
  /** Request kinds this rule applies to; all when omitted. */
  kinds?: RequestKind[];
  /** Further filter on the request. */
  match?: (r: RequestRecord) => boolean;
  /** Answer with this HTTP status (e.g. 429, 503, 403, 404). */
  status?: number;
  /**
   * Drop the connection: `"before"` any answer, `"mid"` half-way through a media response
   * or an upload body, `"after-commit"` after an upload completed and was committed.
   */
  drop?: "before" | "mid" | "after-commit";
  /** Apply to the first `times` matching requests (default: unlimited with `probability`, else 1). */
  times?: number;
  /** Apply to each matching request with this probability (seeded: see {@link FakeGcsServer.seed}). */
  probability?: number;
}

interface StoredObject {
  data: Buffer;
  generation: number;
  md5Hash: string;
  /** Computed on first use (pure-JS CRC32C is slow on big objects). */
  crc32c?: string;
  contentType: string;
  updated: string;
}

interface UploadSession {
  bucket: string;
  name: string;
  ifGenerationMatch?: number;
  contentType: string;
  parts: Buffer[];
  received: number;
}

export class FakeGcsServer {
  readonly buckets = new Map<string, Map<string, StoredObject>>();
  readonly requests: RequestRecord[] = [];
  readonly faults: Array<FaultRule & { left: number }> = [];
  /** Buckets that answer 403 to everything. */
  readonly denied = new Set<string>();
  private readonly sessions = new Map<string, UploadSession>();
  private generation = 1_700_000_000_000_000;
  private rand: () => number = prng(1);
  private readonly sockets = new Set<import("node:net").Socket>();

  private constructor(private readonly server: http.Server, readonly endpoint: string) {}

  /** Starts a server on 127.0.0.1 on a free port. */
  static async start(): Promise<FakeGcsServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const fake = new FakeGcsServer(server, `http://127.0.0.1:${port}`);
    server.on("request", (req, res) => {
      fake.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) fake.sendError(res, 500, `fake server error: ${String(e)}`);
        else res.destroy();
      });
    });
    server.on("connection", (s) => {
      fake.sockets.add(s);
      s.on("close", () => fake.sockets.delete(s));
    });
    return fake;
  }

  /** Seeds the random fault injection. */
  seed(n: number): void {
    this.rand = prng(n);
  }

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  putObject(bucket: string, name: string, data: Buffer | string): void {
    this.createBucket(bucket);
    this.store(bucket, name, Buffer.from(data), "application/octet-stream");
  }

  getObject(bucket: string, name: string): Buffer | undefined {
    return this.buckets.get(bucket)?.get(name)?.data;
  }

  generationOf(bucket: string, name: string): number | undefined {
    return this.buckets.get(bucket)?.get(name)?.generation;
  }

  /** Object names of a bucket (under `prefix`), sorted. */
  objectNames(bucket: string, prefix = ""): string[] {
    return [...(this.buckets.get(bucket)?.keys() ?? [])].filter((n) => n.startsWith(prefix)).sort();
  }

  /** Resumable upload sessions started but not finished. */
  openSessions(): number {
    return this.sessions.size;
  }

  addFault(rule: FaultRule): void {
    this.faults.push({ ...rule, left: rule.times ?? (rule.probability !== undefined ? Infinity : 1) });
  }

  clearFaults(): void {
    this.faults.length = 0;
    this.denied.clear();
  }

  /** Requests of a kind seen since the last {@link resetRequests}. */
  count(kind?: RequestKind): number {
    return kind ? this.requests.filter((r) => r.kind === kind).length : this.requests.length;
  }

  resetRequests(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- request handling

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.endpoint);
    const q = url.searchParams;
    let p = url.pathname;
    if (p.startsWith("/_fake/")) return this.control(req, res, p);
    const upload = p.startsWith("/upload/storage/v1/");
    p = upload ? p.slice("/upload/storage/v1".length) : p.replace(/^\/storage\/v1(?=\/)/, "");
    const m = /^\/b\/([^/]+)(?:\/o(?:\/(.+))?)?$/.exec(p);
    const bucket = m ? decodeURIComponent(m[1]!) : undefined;
    const object = m?.[2] !== undefined ? decodeURIComponent(m[2]) : undefined;
    const method = req.method ?? "GET";
    const kind = classify(method, upload, p, q, object);
    const rec: RequestRecord = { method, kind, ...(bucket ? { bucket } : {}), ...(object ? { object } : {}) };
    this.requests.push(rec);

    const fault = this.pickFault(rec);
    if (bucket && this.denied.has(bucket)) return this.drainThen(req, () => this.sendError(res, 403, `caller does not have storage access to bucket ${bucket}`));
    if (fault?.drop === "before") {
      req.socket.destroy();
      return;
    }
    if (fault?.status !== undefined) return this.drainThen(req, () => this.sendError(res, fault.status!, `injected ${fault.status}`));
    if (fault?.drop === "mid" && (kind === "upload" || kind === "upload-chunk")) {
      // Read part of the body, then cut the connection.
      let seen = 0;
      req.on("data", (c: Buffer) => {
        seen += c.length;
        if (seen > 1024) req.socket.destroy();
      });
      req.on("end", () => req.socket.destroy());
      return;
    }

    if (!bucket) return this.drainThen(req, () => this.sendError(res, 404, `no route for ${method} ${url.pathname}`));
    const objects = this.buckets.get(bucket);
    if (!objects) return this.drainThen(req, () => this.sendError(res, 404, `The specified bucket does not exist: ${bucket}`));

    if (upload) return this.handleUpload(req, res, bucket, q, fault);
    if (p === `/b/${m![1]}` && method === "GET") return this.sendJson(res, 200, { kind: "storage#bucket", id: bucket, name: bucket, location: "US", storageClass: "STANDARD" });
    if (object === undefined && method === "GET" && p.endsWith("/o")) return this.list(res, bucket, objects, q);
    if (object === undefined) return this.drainThen(req, () => this.sendError(res, 404, `no route for ${method} ${url.pathname}`));

    const obj = objects.get(object);
    if (method === "DELETE") {
      await drain(req);
      if (!obj) return this.sendError(res, 404, `No such object: ${bucket}/${object}`);
      if (q.has("ifGenerationMatch") && Number(q.get("ifGenerationMatch")) !== obj.generation) return this.sendError(res, 412, "Precondition Failed");
      objects.delete(object);
      res.writeHead(204).end();
      return;
    }
    if (method !== "GET") return this.drainThen(req, () => this.sendError(res, 405, `method ${method} not supported`));
    await drain(req);
    if (!obj) return this.sendError(res, 404, `No such object: ${bucket}/${object}`);
    if (q.get("alt") !== "media") return this.sendJson(res, 200, this.metadata(bucket, object, obj));
    this.sendMedia(req, res, obj, fault?.drop === "mid");
  }

  /**
   * Control routes for a server run in another process (fake-gcs-server-main.ts):
   * `GET /_fake/requests` → `{ count, byKind }`, `POST /_fake/reset-requests`. Not counted.
   */
  private async control(req: http.IncomingMessage, res: http.ServerResponse, p: string): Promise<void> {
    await drain(req);
    if (p === "/_fake/requests") {
      const byKind: Record<string, number> = {};
      for (const r of this.requests) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
      return this.sendJson(res, 200, { count: this.requests.length, byKind });
    }
    if (p === "/_fake/reset-requests" && req.method === "POST") {
      this.resetRequests();
      return this.sendJson(res, 200, {});
    }
    this.sendError(res, 404, `no control route ${p}`);
  }

  private pickFault(rec: RequestRecord): (FaultRule & { left: number }) | undefined {
    for (const f of this.faults) {
      if (f.left <= 0) continue;
      if (f.kinds && !f.kinds.includes(rec.kind)) continue;
      if (f.match && !f.match(rec)) continue;
      if (f.probability !== undefined && this.rand() >= f.probability) continue;
      f.left--;
      return f;
    }
    return undefined;
  }

  private list(res: http.ServerResponse, bucket: string, objects: Map<string, StoredObject>, q: URLSearchParams): void {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const max = Math.min(1000, Math.max(1, Number(q.get("maxResults") ?? 1000)));
    const after = q.get("pageToken") ? Buffer.from(q.get("pageToken")!, "base64url").toString("utf8") : undefined;
    // Entries in name order: objects, and (with a delimiter) the "folders" they roll up into.
    const entries: Array<{ key: string; folder: boolean }> = [];
    for (const n of [...objects.keys()].filter((k) => k.startsWith(prefix)).sort()) {
      const i = delimiter ? n.indexOf(delimiter, prefix.length) : -1;
      const e = i >= 0 ? { key: n.slice(0, i + delimiter.length), folder: true } : { key: n, folder: false };
      const last = entries[entries.length - 1];
      if (!(last && last.folder && e.folder && last.key === e.key)) entries.push(e);
    }
    const rest = after === undefined ? entries : entries.filter((e) => e.key > after);
    const page = rest.slice(0, max);
    const next = rest.length > max ? Buffer.from(page[page.length - 1]!.key, "utf8").toString("base64url") : undefined;
    const items = page.filter((e) => !e.folder).map((e) => this.metadata(bucket, e.key, objects.get(e.key)!));
    const prefixes = new Set(page.filter((e) => e.folder).map((e) => e.key));
    this.sendJson(res, 200, { kind: "storage#objects", ...(items.length ? { items } : {}), ...(prefixes.size ? { prefixes: [...prefixes] } : {}), ...(next ? { nextPageToken: next } : {}) });
  }

  private sendMedia(req: http.IncomingMessage, res: http.ServerResponse, obj: StoredObject, dropMid: boolean): void {
    let start = 0;
    let end = obj.data.length - 1;
    const range = req.headers.range;
    let status = 200;
    if (range) {
      const r = /^bytes=(\d*)-(\d*)$/.exec(range);
      if (!r) return this.sendError(res, 400, `bad Range ${range}`);
      if (r[1] === "") {
        start = Math.max(0, obj.data.length - Number(r[2]));
      } else {
        start = Number(r[1]);
        if (r[2] !== "") end = Math.min(end, Number(r[2]));
      }
      if (start >= obj.data.length && obj.data.length > 0) {
        res.writeHead(416, { "Content-Range": `bytes */${obj.data.length}`, "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { code: 416, message: "The requested range cannot be satisfied." } }));
        return;
      }
      status = 206;
    }
    const body = obj.data.subarray(start, Math.max(start, end + 1));
    res.writeHead(status, {
      "Content-Type": obj.contentType,
      "Content-Length": String(body.length),
      "x-goog-generation": String(obj.generation),
      "x-goog-hash": `md5=${obj.md5Hash}`,
      "x-goog-stored-content-length": String(obj.data.length),
      ...(status === 206 ? { "Content-Range": `bytes ${start}-${start + body.length - 1}/${obj.data.length}` } : {}),
    });
    if (dropMid && body.length > 1) {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      return;
    }
    res.end(body);
  }

  private async handleUpload(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, q: URLSearchParams, fault: FaultRule | undefined): Promise<void> {
    const type = q.get("uploadType");
    const ifGen = q.has("ifGenerationMatch") ? Number(q.get("ifGenerationMatch")) : undefined;
    if (req.method === "POST" && type === "media") {
      const data = await readBody(req);
      return this.finishUpload(res, bucket, q.get("name") ?? "", data, req.headers["content-type"] ?? "application/octet-stream", ifGen, fault);
    }
    if (req.method === "POST" && type === "multipart") {
      const body = await readBody(req);
      const parts = parseMultipart(body, req.headers["content-type"] ?? "");
      if (!parts || parts.length < 2) return this.sendError(res, 400, "bad multipart body");
      const meta = JSON.parse(parts[0]!.body.toString("utf8")) as { name?: string; contentType?: string };
      return this.finishUpload(res, bucket, meta.name ?? q.get("name") ?? "", parts[1]!.body, meta.contentType ?? parts[1]!.type ?? "application/octet-stream", ifGen, fault);
    }
    if (req.method === "POST" && type === "resumable") {
      const raw = await readBody(req);
      const meta = raw.length ? (JSON.parse(raw.toString("utf8")) as { name?: string; contentType?: string }) : {};
      const id = randomBytes(12).toString("hex");
      this.sessions.set(id, {
        bucket,
        name: meta.name ?? q.get("name") ?? "",
        ...(ifGen !== undefined ? { ifGenerationMatch: ifGen } : {}),
        contentType: meta.contentType ?? String(req.headers["x-upload-content-type"] ?? "application/octet-stream"),
        parts: [],
        received: 0,
      });
      res.writeHead(200, { Location: `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}` });
      res.end();
      return;
    }
    if (req.method === "PUT" && type === "resumable") {
      const id = q.get("upload_id") ?? "";
      const s = this.sessions.get(id);
      const body = await readBody(req);
      if (!s) return this.sendError(res, 404, `no upload session ${id}`);
      const cr = String(req.headers["content-range"] ?? "");
      // "bytes a-b/N", "bytes a-b/*", "bytes */N" (status query), "bytes a-*/*" (one streaming
      // request whose end is the end of the upload).
      const m = /^bytes (\*|(\d+)-(\d+|\*))\/(\*|\d+)$/.exec(cr);
      if (!m && cr !== "") return this.sendError(res, 400, `bad Content-Range ${cr}`);
      const streamingToEnd = m?.[3] === "*";
      let total = m && m[4] !== "*" ? Number(m[4]) : cr === "" ? s.received + body.length : undefined;
      if (m && m[1] !== "*") {
        const start = Number(m[2]);
        if (start > s.received) return this.sendError(res, 400, `chunk starts at ${start} but ${s.received} bytes were received`);
        const fresh = body.subarray(s.received - start);
        s.parts.push(fresh);
        s.received += fresh.length;
        if (streamingToEnd) total = s.received;
      } else if (cr === "") {
        s.parts.push(body);
        s.received += body.length;
      }
      if (total !== undefined && s.received >= total) {
        this.sessions.delete(id);
        return this.finishUpload(res, s.bucket, s.name, Buffer.concat(s.parts), s.contentType, s.ifGenerationMatch, fault);
      }
      res.writeHead(308, s.received > 0 ? { Range: `bytes=0-${s.received - 1}` } : {});
      res.end();
      return;
    }
    if (req.method === "DELETE" && type === "resumable") {
      this.sessions.delete(q.get("upload_id") ?? "");
      await drain(req);
      res.writeHead(499).end();
      return;
    }
    await drain(req);
    this.sendError(res, 400, `unsupported upload ${req.method} uploadType=${type}`);
  }

  private finishUpload(res: http.ServerResponse, bucket: string, name: string, data: Buffer, contentType: string, ifGen: number | undefined, fault: FaultRule | undefined): void {
    if (!name) return this.sendError(res, 400, "object name missing");
    const objects = this.buckets.get(bucket)!;
    const current = objects.get(name);
    if (ifGen !== undefined && (current?.generation ?? 0) !== ifGen) {
      return this.sendError(res, 412, `At least one of the pre-conditions you specified did not hold. (ifGenerationMatch=${ifGen})`);
    }
    const obj = this.store(bucket, name, data, contentType);
    if (fault?.drop === "after-commit") {
      res.socket?.destroy();
      return;
    }
    this.sendJson(res, 200, this.metadata(bucket, name, obj));
  }

  private store(bucket: string, name: string, data: Buffer, contentType: string): StoredObject {
    this.generation += 1 + Math.floor(this.rand() * 1000);
    const obj: StoredObject = {
      data,
      generation: this.generation,
      md5Hash: createHash("md5").update(data).digest("base64"),
      contentType,
      updated: new Date().toISOString(),
    };
    this.buckets.get(bucket)!.set(name, obj);
    return obj;
  }

  private metadata(bucket: string, name: string, o: StoredObject): Record<string, unknown> {
    return {
      kind: "storage#object",
      id: `${bucket}/${name}/${o.generation}`,
      selfLink: `${this.endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
      name,
      bucket,
      generation: String(o.generation),
      metageneration: "1",
      contentType: o.contentType,
      size: String(o.data.length),
      md5Hash: o.md5Hash,
      crc32c: (o.crc32c ??= crc32cBase64(o.data)),
      storageClass: "STANDARD",
      timeCreated: o.updated,
      updated: o.updated,
    };
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json; charset=UTF-8", "Content-Length": String(Buffer.byteLength(text)) });
    res.end(text);
  }

  private sendError(res: http.ServerResponse, status: number, message: string): void {
    this.sendJson(res, status, { error: { code: status, message, errors: [{ message, domain: "global", reason: status === 412 ? "conditionNotMet" : status === 404 ? "notFound" : status === 403 ? "forbidden" : "backendError" }] } });
  }

  private drainThen(req: http.IncomingMessage, then: () => void): Promise<void> {
    return drain(req).then(then);
  }
}

function classify(method: string, upload: boolean, p: string, q: URLSearchParams, object: string | undefined): RequestKind {
  if (upload) {
    if (method === "POST" && q.get("uploadType") === "resumable") return "upload-start";
    if (method === "PUT") return "upload-chunk";
    return "upload";
  }
  if (!p.startsWith("/b/")) return "other";
  if (!p.includes("/o")) return "bucket";
  if (object === undefined) return method === "GET" ? "list" : "other";
  if (method === "DELETE") return "delete";
  if (method === "GET") return q.get("alt") === "media" ? "media" : "stat";
  return "other";
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    req.on("error", reject);
  });
}

function drain(req: http.IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve();
    req.resume();
    req.on("end", () => resolve());
    req.on("error", () => resolve());
    req.on("close", () => resolve());
  });
}

function parseMultipart(body: Buffer, contentType: string): Array<{ type?: string; body: Buffer }> | undefined {
  const bm = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!bm) return undefined;
  const delim = Buffer.from(`--${bm[1]}`);
  const out: Array<{ type?: string; body: Buffer }> = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    const part = body.subarray(start, next);
    const headEnd = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, headEnd).toString("utf8");
    let content = part.subarray(headEnd + 4);
    if (content.subarray(content.length - 2).toString() === "\r\n") content = content.subarray(0, content.length - 2);
    const t = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1];
    out.push({ ...(t ? { type: t } : {}), body: content });
    pos = next;
  }
  return out;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32C (Castagnoli) of `data`, big-endian, base64 — as GCS reports it. */
export function crc32cBase64(data: Buffer): string {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}
