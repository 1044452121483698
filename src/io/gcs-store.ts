/**
 * `gs://bucket/prefix` as an {@link ObjectStore}, through @google-cloud/storage.
 *
 * Objects and requests:
 * - `list(root, glob)` lists only under `root` + the glob's literal folder prefix (with a `/`
 *   delimiter when the glob cannot cross folders), page by page, matches the rest of the
 *   glob with picomatch and returns `FileRef`s sorted by path, sizes from the listing.
 * - `openRead` streams `alt=media` (optionally a byte range) with node:http(s), using the
 *   client's endpoint and credentials: the client's own `createReadStream` neither ends nor
 *   fails when a connection drops part-way through a body (a read would hang), and `fetch` is
 *   5× slower. A read that fails part-way is resumed from the next byte with a ranged request.
 * - `openWrite` streams the bytes in one upload request straight to the final name with an
 *   `ifGenerationMatch` precondition when given. GCS creates an object only when an upload
 *   completes, so the object appears whole or not at all and no temporary object exists.
 *   An MD5 is computed as the bytes pass; when the precondition fails (HTTP 412) the object
 *   now there is compared with it: identical → the commit is a duplicate and succeeds,
 *   different → a non-retryable `IoError`.
 * - `beginWrite` (for `mapFiles`, whose user function needs a real path) gives a local spool
 *   file (see `spool.ts`), uploaded on commit with the same precondition
 *   and retried from the file.
 *
 * Retries: the client library's own retries are off; every request goes through one policy
 * ({@link RetryPolicy}: exponential backoff with full jitter on 408/429/5xx and connection
 * resets), so behaviour is the same for every call and testable. A streaming upload cannot
 * be replayed (its bytes are gone), so its failure is a retryable `IoError` and the engine
 * re-runs the task; the precondition makes that re-run safe. At most `concurrency`
 * metadata, list and delete requests and spool uploads run at once per thread.
 *
 * Endpoint: `STORAGE_EMULATOR_HOST` (the usual convention, honoured by the library) or
 * `SIROCCO_GCS_ENDPOINT`; credentials the usual Google way (Application Default Credentials)
 * unless the endpoint is a loopback address.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { Readable, Transform, type Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Bucket, File, Storage } from "@google-cloud/storage";
import pLimit, { type LimitFunction } from "p-limit";
import picomatch from "picomatch";
import { IoError } from "../core/errors.js";
import type { FileRef } from "../core/types.js";
import { parseGcsUri, gcsUri } from "./gcs-uri.js";
import { globCrossesFolders, globPrefix } from "./glob-prefix.js";
import { conflictError } from "./local-store.js";
import { TEMP_PREFIX, type AtomicWrite, type ByteRange, type CommitInfo, type ObjectStat, type ObjectStore, type PendingWrite, type WriteOptions } from "./object-store.js";
import { removeSpooled, spoolPath } from "./spool.js";
import { backoffMs, httpStatusOf, isTransient, retryPolicyFromEnv, withRetries, type RetryPolicy } from "./retry-policy.js";

/** Options of a {@link GcsStore}; every one has a default from the environment. */
export interface GcsStoreOptions {
  /** API endpoint, e.g. `http://127.0.0.1:4443`. Default: `SIROCCO_GCS_ENDPOINT`, else `STORAGE_EMULATOR_HOST`, else Google's. */
  apiEndpoint?: string;
  projectId?: string;
  retry?: RetryPolicy;
  /** Concurrent metadata/list/delete requests and spool uploads per store. Default `SIROCCO_GCS_CONCURRENCY` or 32. */
  concurrency?: number;
  /** Objects per list page (1–1000). Default 1000. */
  pageSize?: number;
  /** Spool uploads larger than this use a resumable upload session. Default 8 MiB. */
  resumableThresholdBytes?: number;
}


export class GcsStore implements ObjectStore {
  readonly retry: RetryPolicy;
  private readonly limit: LimitFunction;
  private readonly pageSize: number;
  private readonly resumableThreshold: number;
  private storagePromise: Promise<Storage> | undefined;

  constructor(private readonly options: GcsStoreOptions = {}) {
    this.retry = options.retry ?? retryPolicyFromEnv();
    const conc = options.concurrency ?? Number(process.env.SIROCCO_GCS_CONCURRENCY ?? 32);
    this.limit = pLimit(Number.isInteger(conc) && conc > 0 ? conc : 32);
    this.pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
    this.resumableThreshold = options.resumableThresholdBytes ?? 8 * 1024 * 1024;
  }

  /** The @google-cloud/storage client (loaded on first use: worker threads that never touch gs:// skip it). */
  client(): Promise<Storage> {
    this.storagePromise ??= (async () => {
      const { Storage: StorageClass } = await import("@google-cloud/storage");
      const endpoint = this.options.apiEndpoint ?? process.env.SIROCCO_GCS_ENDPOINT ?? emulatorEndpoint();
      const loopback = endpoint !== undefined && /^(https?:\/\/)?(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(endpoint);
      return new StorageClass({
        ...(endpoint ? { apiEndpoint: endpoint, useAuthWithCustomEndpoint: !loopback } : {}),
        ...(this.options.projectId ? { projectId: this.options.projectId } : {}),
        retryOptions: { autoRetry: false, maxRetries: 0 },
      });
    })();
    return this.storagePromise;
  }

  private async bucketOf(uri: string): Promise<{ bucket: Bucket; key: string }> {
    const loc = parseGcsUri(uri);
    return { bucket: (await this.client()).bucket(loc.bucket), key: loc.key };
  }

  /** One request, retried under the policy, within the concurrency bound. */
  private call<T>(op: string, uri: string, fn: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      try {
        return await withRetries(this.retry, () => fn());
      } catch (e) {
        throw toIoError(e, uri, op, this.retry);
      }
    });
  }

  async list(root: string, pattern: string): Promise<FileRef[]> {
    const { bucket, key } = await this.bucketOf(root);
    const base = key === "" ? "" : key.replace(/\/*$/, "/");
    const prefix = base + globPrefix(pattern);
    const delimiter = globCrossesFolders(pattern) ? undefined : "/";
    const match = picomatch(pattern, { dot: false });
    const out: FileRef[] = [];
    let pageToken: string | undefined;
    do {
      const [files, next] = (await this.call("list", root, () =>
        bucket.getFiles({ prefix, delimiter, autoPaginate: false, maxResults: this.pageSize, pageToken }),
      )) as unknown as [File[], { pageToken?: string } | null];
      for (const f of files) {
        if (f.name.endsWith("/")) continue; // "folder" placeholder objects
        const rel = f.name.slice(base.length);
        if (rel.split("/").some((s) => s.startsWith(TEMP_PREFIX)) || !match(rel)) continue;
        out.push({ path: gcsUri(bucket.name, f.name), size: Number(f.metadata.size ?? 0) });
      }
      pageToken = next?.pageToken ?? undefined;
    } while (pageToken);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  openRead(uri: string, range?: ByteRange): Readable {
    const self = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      const end = range?.end;
      let pos = range?.start ?? 0;
      let gotAny = false;
      for (let attempt = 0; ; attempt++) {
        if (end !== undefined && pos > end) return;
        try {
          for await (const b of self.mediaRequest(uri, pos, end)) {
            pos += b.length;
            gotAny = true;
            attempt = 0; // progress: the budget is per stall, not per object
            yield b;
          }
          return;
        } catch (e) {
          // A resumed read that starts exactly at the end of the object has nothing left.
          if (httpStatusOf(e) === 416 && gotAny) return;
          if (!isTransient(e) || attempt >= self.retry.retries) throw toIoError(e, uri, "read", self.retry);
          await sleep(backoffMs(self.retry, attempt));
        }
      }
    }
    return Readable.from(bytes(), { objectMode: false, highWaterMark: 1024 * 1024 });
  }

  /**
   * One `alt=media` GET from byte `start` (to `end` inclusive), with the client's endpoint
   * and credentials. Made with node:http(s) rather than `File.createReadStream`, whose stream
   * neither ends nor fails when a connection drops part-way through a body with a
   * Content-Length (a read could hang forever), and rather than `fetch` (5× slower here). A
   * read that receives nothing for `SIROCCO_GCS_STALL_MS` (default 60 000) is aborted as a
   * transient failure too.
   */
  private async *mediaRequest(uri: string, start: number, end: number | undefined): AsyncGenerator<Buffer> {
    const storage = await this.client();
    const { bucket, key } = parseGcsUri(uri);
    const url = new URL(`${storage.baseUrl}/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(key)}?alt=media`);
    const headers: Record<string, string> = {};
    if (!storage.customEndpoint || storage.useAuthWithCustomEndpoint) {
      const auth = (await storage.authClient.getRequestHeaders(url.href)) as unknown as Headers | Record<string, string>;
      if (auth instanceof Headers) auth.forEach((v, k) => (headers[k] = v));
      else Object.assign(headers, auth);
    }
    if (start > 0 || end !== undefined) headers.Range = `bytes=${start}-${end ?? ""}`;
    const stallMs = Number(process.env.SIROCCO_GCS_STALL_MS ?? 60_000);
    const get = url.protocol === "https:" ? https.get : http.get;
    let req: http.ClientRequest | undefined;
    const res = await this.limit(
      () =>
        new Promise<http.IncomingMessage>((resolve, reject) => {
          req = get(url, { headers }, resolve);
          req.on("error", reject);
          req.setTimeout(stallMs, () => req!.destroy(Object.assign(new Error(`no answer for ${stallMs} ms`), { code: "ETIMEDOUT" })));
        }),
    );
    try {
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const parts: Buffer[] = [];
        for await (const c of res) parts.push(c as Buffer);
        const text = Buffer.concat(parts).toString("utf8");
        let message = text.slice(0, 300) || res.statusMessage || `HTTP ${status}`;
        try {
          message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
        } catch {
          /* not JSON */
        }
        throw Object.assign(new Error(message), { code: status });
      }
      // Node fails the body with ECONNRESET ("aborted") when the connection drops part-way.
      for await (const chunk of res) yield chunk as Buffer;
    } finally {
      res.destroy();
      req?.destroy();
    }
  }

  async exists(uri: string): Promise<boolean> {
    return (await this.stat(uri)) !== undefined;
  }

  async stat(uri: string): Promise<ObjectStat | undefined> {
    const { bucket, key } = await this.bucketOf(uri);
    if (key === "") return undefined;
    try {
      const [meta] = await this.call("stat", uri, () => bucket.file(key).getMetadata());
      return { size: Number(meta.size ?? 0), generation: String(meta.generation) };
    } catch (e) {
      if (e instanceof IoError && httpStatusOf(e.cause) === 404) return undefined;
      throw e;
    }
  }

  async openWrite(finalPath: string, _tag: string, opts: WriteOptions = {}): Promise<AtomicWrite> {
    const { bucket, key } = await this.bucketOf(finalPath);
    const file = bucket.file(key);
    const md5 = createHash("md5");
    let bytes = 0;
    const hashing = new Transform({
      highWaterMark: 1024 * 1024,
      transform(chunk: Buffer, _enc, cb) {
        md5.update(chunk);
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    const upload = file.createWriteStream({
      resumable: false,
      validation: false,
      metadata: { contentType: "application/octet-stream" },
      ...(opts.ifGeneration !== undefined ? { preconditionOpts: { ifGenerationMatch: Number(opts.ifGeneration) } } : {}),
    });
    const done = pipeline(hashing, upload);
    done.catch(() => {});
    let aborted = false;
    return {
      finalPath,
      stream: hashing as Writable,
      commit: async (): Promise<CommitInfo> => {
        if (aborted) throw new IoError(`commit of ${finalPath} after abort`, { uri: finalPath, op: "commit", retryable: false });
        if (!hashing.writableEnded) hashing.end();
        try {
          await done;
          return { bytes, duplicate: false };
        } catch (e) {
          if (httpStatusOf(e) === 412 && opts.ifGeneration !== undefined) return this.resolveConflict(file, finalPath, opts.ifGeneration, md5.digest("base64"), bytes);
          throw toIoError(e, finalPath, "write", this.retry, 1);
        }
      },
      abort: async () => {
        if (aborted) return;
        aborted = true;
        const err = new Error(`write of ${finalPath} aborted`);
        hashing.destroy(err);
        upload.destroy(err);
        await done.catch(() => {});
      },
    };
  }

  async beginWrite(finalPath: string, tag: string, opts: WriteOptions = {}): Promise<PendingWrite> {
    const { bucket, key } = await this.bucketOf(finalPath);
    const tempPath = await spoolPath(tag, path.posix.basename(key));
    const file = bucket.file(key);
    return {
      tempPath,
      finalPath,
      commit: async () => {
        try {
          return await this.uploadFile(tempPath, file, finalPath, opts);
        } finally {
          await fsp.rm(tempPath, { force: true });
        }
      },
      abort: () => fsp.rm(tempPath, { force: true }),
    };
  }

  /** Uploads a local file (retried from the file) under the write's precondition. */
  private async uploadFile(local: string, file: File, finalPath: string, opts: WriteOptions): Promise<CommitInfo> {
    let size: number;
    const md5 = createHash("md5");
    try {
      size = (await fsp.stat(local)).size;
      for await (const c of fs.createReadStream(local)) md5.update(c as Buffer);
    } catch (e) {
      throw new IoError(`could not commit ${finalPath}: its local file ${local} is unreadable`, { uri: finalPath, op: "commit", retryable: true }, { cause: e });
    }
    const digest = md5.digest("base64");
    try {
      await this.call("write", finalPath, () =>
        pipeline(
          fs.createReadStream(local, { highWaterMark: 1024 * 1024 }),
          file.createWriteStream({
            resumable: size > this.resumableThreshold,
            validation: false,
            metadata: { contentType: "application/octet-stream" },
            ...(opts.ifGeneration !== undefined ? { preconditionOpts: { ifGenerationMatch: Number(opts.ifGeneration) } } : {}),
          }),
        ),
      );
      return { bytes: size, duplicate: false };
    } catch (e) {
      if (e instanceof IoError && httpStatusOf(e.cause) === 412 && opts.ifGeneration !== undefined) {
        return this.resolveConflict(file, finalPath, opts.ifGeneration, digest, size);
      }
      throw e;
    }
  }

  /** After a failed precondition: identical bytes there → duplicate; anything else → conflict. */
  private async resolveConflict(file: File, finalPath: string, expected: string, md5: string, bytes: number): Promise<CommitInfo> {
    let meta: { md5Hash?: string; size?: string | number; generation?: string | number } | undefined;
    try {
      [meta] = await this.call("stat", finalPath, () => file.getMetadata());
    } catch (e) {
      if (!(e instanceof IoError && httpStatusOf(e.cause) === 404)) throw e;
    }
    if (meta && meta.md5Hash === md5 && Number(meta.size) === bytes) return { bytes, duplicate: true };
    throw conflictError(
      finalPath,
      expected,
      meta ? `generation ${meta.generation} holds other bytes (md5 ${meta.md5Hash}, ${meta.size} bytes; this attempt's md5 ${md5}, ${bytes} bytes)` : "the object was removed",
    );
  }

  async removeTemporaries(dir: string, tag: string): Promise<number> {
    let n = 0;
    // This store writes no temporary objects; remove any an older version or tool left.
    const { bucket, key } = await this.bucketOf(dir);
    const prefix = `${key === "" ? "" : key.replace(/\/*$/, "/")}${TEMP_PREFIX}${tag}-`;
    const [files] = (await this.call("list", dir, () => bucket.getFiles({ prefix, delimiter: "/", autoPaginate: false, maxResults: 1000 }))) as unknown as [File[]];
    await Promise.all(files.map((f) => this.call("delete", gcsUri(bucket.name, f.name), () => f.delete({ ignoreNotFound: true }))));
    n += files.length;
    // Spool files of killed attempts.
    return n + (await removeSpooled(tag));
  }

  async remove(uri: string): Promise<void> {
    const { bucket, key } = await this.bucketOf(uri);
    if (key !== "" && !key.endsWith("/")) {
      const gone = await this.call("delete", uri, () => bucket.file(key).delete()).then(
        () => true,
        (e: unknown) => {
          if (e instanceof IoError && httpStatusOf(e.cause) === 404) return false;
          throw e;
        },
      );
      if (gone) return;
    }
    // Like removing a local folder: every object under `uri/`.
    const prefix = key === "" ? "" : key.replace(/\/*$/, "/");
    let pageToken: string | undefined;
    do {
      const [files, next] = (await this.call("list", uri, () => bucket.getFiles({ prefix, autoPaginate: false, maxResults: this.pageSize, pageToken }))) as unknown as [
        File[],
        { pageToken?: string } | null,
      ];
      await Promise.all(files.map((f) => this.call("delete", gcsUri(bucket.name, f.name), () => f.delete({ ignoreNotFound: true }))));
      pageToken = next?.pageToken ?? undefined;
    } while (pageToken);
  }
}

function emulatorEndpoint(): string | undefined {
  const h = process.env.STORAGE_EMULATOR_HOST;
  if (!h) return undefined;
  return /^https?:\/\//.test(h) ? h : `http://${h}`;
}

const VERB: Record<string, string> = { list: "list objects", read: "read objects", stat: "read object metadata", write: "create objects", commit: "create objects", delete: "delete objects" };

/** Turns a client error into an IoError that says what failed and what to check. */
export function toIoError(e: unknown, uri: string, op: string, policy: RetryPolicy, attempts = policy.retries + 1): IoError {
  if (e instanceof IoError) return e;
  const status = httpStatusOf(e);
  const msg = typeof (e as { message?: unknown } | null)?.message === "string" ? (e as { message: string }).message : String(e);
  let bucket = "";
  try {
    bucket = parseGcsUri(uri).bucket;
  } catch {
    /* keep "" */
  }
  if (status === 401 || status === 403) {
    return new IoError(
      `permission denied (HTTP ${status}) to ${VERB[op] ?? op} at ${uri}: check the credentials (GOOGLE_APPLICATION_CREDENTIALS, or \`gcloud auth application-default login\`) and that the account has the storage permission to ${VERB[op] ?? op} in bucket ${bucket}`,
      { uri, op, retryable: false },
      { cause: e },
    );
  }
  if (status === 404) {
    const what = op === "list" || /specified bucket does not exist|bucket .*not found/i.test(msg) ? `bucket ${bucket} does not exist` : `${uri} does not exist`;
    return new IoError(`${what} (HTTP 404 on ${op}): check the path and the bucket name`, { uri, op, retryable: false }, { cause: e });
  }
  if (isTransient(e)) {
    return new IoError(
      `${op} ${uri} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${status ? `HTTP ${status}: ` : ""}${msg} (transient; raise SIROCCO_IO_RETRIES to retry longer)`,
      { uri, op, retryable: true },
      { cause: e },
    );
  }
  return new IoError(`${op} ${uri} failed: ${status ? `HTTP ${status}: ` : ""}${msg}`, { uri, op, retryable: false }, { cause: e });
}
