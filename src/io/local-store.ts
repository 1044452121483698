import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import pLimit from "p-limit";
import { glob } from "tinyglobby";
import { IoError } from "../core/errors.js";
import type { FileRef } from "../core/types.js";
import { TEMP_PREFIX, type AtomicWrite, type ByteRange, type CommitInfo, type ObjectStat, type ObjectStore, type PendingWrite, type WriteOptions } from "./object-store.js";

/**
 * The local file system as an {@link ObjectStore}. Commits are atomic: a `rename` of the
 * temporary file, or — under an `ifGeneration: "0"` precondition — a `link`, which fails
 * instead of replacing a file another attempt committed first.
 */
export class LocalStore implements ObjectStore {
  async list(root: string, pattern: string): Promise<FileRef[]> {
    let st: fs.Stats;
    try {
      st = await fsp.stat(root);
    } catch (e) {
      throw new IoError(`input root ${root} does not exist (Dataset.fromFiles): check the path`, { uri: root, op: "list", retryable: false }, { cause: e });
    }
    if (!st.isDirectory()) {
      throw new IoError(`input root ${root} is not a directory (Dataset.fromFiles takes a folder and a glob)`, { uri: root, op: "list", retryable: false });
    }
    const rel = await glob(pattern, { cwd: root, onlyFiles: true, dot: false, ignore: [`**/${TEMP_PREFIX}*`] });
    rel.sort();
    const limit = pLimit(64);
    return Promise.all(
      rel.map((r) =>
        limit(async () => {
          const p = path.join(root, r);
          return { path: p, size: (await fsp.stat(p)).size };
        }),
      ),
    );
  }

  openRead(p: string, range?: ByteRange): fs.ReadStream {
    return fs.createReadStream(p, { highWaterMark: 1024 * 1024, start: range?.start, end: range?.end });
  }

  async exists(p: string): Promise<boolean> {
    try {
      await fsp.access(p);
      return true;
    } catch {
      return false;
    }
  }

  async stat(p: string): Promise<ObjectStat | undefined> {
    try {
      const st = await fsp.stat(p, { bigint: true });
      if (!st.isFile()) return undefined;
      return { size: Number(st.size), generation: localGeneration(st) };
    } catch {
      return undefined;
    }
  }

  async beginWrite(finalPath: string, tag: string, opts: WriteOptions = {}): Promise<PendingWrite> {
    const dir = path.dirname(finalPath);
    await fsp.mkdir(dir, { recursive: true });
    const tempPath = path.join(dir, `${TEMP_PREFIX}${tag}-${randomBytes(4).toString("hex")}-${path.basename(finalPath)}`);
    return {
      tempPath,
      finalPath,
      commit: () => commitLocal(tempPath, finalPath, opts),
      async abort() {
        await fsp.rm(tempPath, { force: true });
      },
    };
  }

  async openWrite(finalPath: string, tag: string, opts: WriteOptions = {}): Promise<AtomicWrite> {
    const pending = await this.beginWrite(finalPath, tag, opts);
    const stream = fs.createWriteStream(pending.tempPath, { highWaterMark: 1024 * 1024 });
    const finished = new Promise<void>((resolve, reject) => {
      stream.once("close", resolve);
      stream.once("error", reject);
    });
    finished.catch(() => {});
    let settled = false;
    return {
      finalPath,
      stream,
      async commit() {
        settled = true;
        if (!stream.writableEnded) stream.end();
        try {
          await finished;
        } catch (e) {
          await pending.abort();
          throw new IoError(`could not write ${finalPath}: ${(e as Error).message}`, { uri: finalPath, op: "write", retryable: true }, { cause: e });
        }
        return pending.commit();
      },
      async abort() {
        if (settled && stream.closed) return pending.abort();
        settled = true;
        const closed = stream.closed ? Promise.resolve() : once(stream, "close").then(() => undefined);
        stream.destroy();
        await closed.catch(() => {});
        await pending.abort();
      },
    };
  }

  async removeTemporaries(dir: string, tag: string): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return 0;
    }
    const mine = names.filter((n) => n.startsWith(`${TEMP_PREFIX}${tag}-`));
    await Promise.all(mine.map((n) => fsp.rm(path.join(dir, n), { force: true })));
    return mine.length;
  }

  async remove(p: string): Promise<void> {
    await fsp.rm(p, { force: true, recursive: true });
  }
}

function localGeneration(st: fs.BigIntStats): string {
  return `${st.ino}.${st.size}.${st.mtimeNs}`;
}

async function commitLocal(tempPath: string, finalPath: string, opts: WriteOptions): Promise<CommitInfo> {
  let bytes: number;
  try {
    bytes = (await fsp.stat(tempPath)).size;
  } catch (e) {
    throw new IoError(`could not commit ${finalPath}`, { uri: finalPath, op: "commit", retryable: true }, { cause: e });
  }
  const want = opts.ifGeneration;
  if (want === undefined) {
    try {
      await fsp.rename(tempPath, finalPath);
      return { bytes, duplicate: false };
    } catch (e) {
      throw new IoError(`could not commit ${finalPath}`, { uri: finalPath, op: "commit", retryable: true }, { cause: e });
    }
  }
  if (want === "0") {
    try {
      // link() creates the final name only if nothing is there: the local create-if-absent.
      await fsp.link(tempPath, finalPath);
      await fsp.rm(tempPath, { force: true });
      return { bytes, duplicate: false };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new IoError(`could not commit ${finalPath}`, { uri: finalPath, op: "commit", retryable: true }, { cause: e });
      }
    }
  } else {
    const now = await fsp.stat(finalPath, { bigint: true }).catch(() => undefined);
    if (now && localGeneration(now) === want) {
      try {
        await fsp.rename(tempPath, finalPath);
        return { bytes, duplicate: false };
      } catch (e) {
        throw new IoError(`could not commit ${finalPath}`, { uri: finalPath, op: "commit", retryable: true }, { cause: e });
      }
    }
  }
  // The precondition failed: another attempt committed first. Identical bytes are a duplicate.
  const [mine, theirs] = await Promise.all([md5OfFile(tempPath), md5OfFile(finalPath).catch(() => undefined)]);
  await fsp.rm(tempPath, { force: true });
  if (theirs !== undefined && mine === theirs) return { bytes, duplicate: true };
  throw conflictError(finalPath, want, theirs === undefined ? "it was removed" : `it now holds other bytes (md5 ${theirs}, this attempt's ${mine})`);
}

/** The non-retryable error of a commit whose precondition failed with different content. */
export function conflictError(finalPath: string, expected: string, what: string): IoError {
  return new IoError(
    `commit conflict at ${finalPath}: expected ${expected === "0" ? "no object" : `generation ${expected}`} there, but ${what}. ` +
      "Another run or attempt wrote this output concurrently, or the pipeline is not deterministic; check that no other job writes the same output folder.",
    { uri: finalPath, op: "commit", retryable: false },
  );
}

async function md5OfFile(p: string): Promise<string> {
  const h = createHash("md5");
  for await (const c of fs.createReadStream(p)) h.update(c as Buffer);
  return h.digest("base64");
}
