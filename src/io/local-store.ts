import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import pLimit from "p-limit";
import { glob } from "tinyglobby";
import { IoError } from "../core/errors.js";
import type { FileRef } from "../core/types.js";
import type { ObjectStore, PendingWrite } from "./object-store.js";

const TEMP_PREFIX = ".sirocco-tmp-";

/** The local file system as an {@link ObjectStore}; commits are atomic `rename`s. */
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

  openRead(p: string): fs.ReadStream {
    return fs.createReadStream(p, { highWaterMark: 1024 * 1024 });
  }

  async exists(p: string): Promise<boolean> {
    try {
      await fsp.access(p);
      return true;
    } catch {
      return false;
    }
  }

  async beginWrite(finalPath: string, tag: string): Promise<PendingWrite> {
    const dir = path.dirname(finalPath);
    await fsp.mkdir(dir, { recursive: true });
    const tempPath = path.join(dir, `${TEMP_PREFIX}${tag}-${randomBytes(4).toString("hex")}-${path.basename(finalPath)}`);
    return {
      tempPath,
      finalPath,
      async commit() {
        try {
          await fsp.rename(tempPath, finalPath);
        } catch (e) {
          throw new IoError(`could not commit ${finalPath}`, { uri: finalPath, op: "commit", retryable: true }, { cause: e });
        }
      },
      async abort() {
        await fsp.rm(tempPath, { force: true });
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
