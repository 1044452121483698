import { randomBytes } from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { TEMP_PREFIX } from "./object-store.js";

/**
 * Local spool files: where bytes bound for or coming from a remote store wait on local disk
 * when a user function needs a real path (`mapFiles` on `gs://`). Named
 * `.sirocco-tmp-<tag>-<random>-<name>` under `os.tmpdir()/sirocco-spool/`, so the driver can
 * remove those of killed attempts by run id.
 */
export const SPOOL_DIR = path.join(os.tmpdir(), "sirocco-spool");

/**
 * A fresh spool path whose file name ends with `name`.
 *
 * @example await spoolPath("3f2a…", "part-0.jsonl") // /tmp/sirocco-spool/.sirocco-tmp-3f2a…-9c1d0e2b-part-0.jsonl
 */
export async function spoolPath(tag: string, name: string): Promise<string> {
  await fsp.mkdir(SPOOL_DIR, { recursive: true });
  return path.join(SPOOL_DIR, `${TEMP_PREFIX}${tag}-${randomBytes(4).toString("hex")}-${name}`);
}

/** Removes the spool files of `tag`; returns how many. */
export async function removeSpooled(tag: string): Promise<number> {
  const names = await fsp.readdir(SPOOL_DIR).catch(() => [] as string[]);
  const mine = names.filter((f) => f.startsWith(`${TEMP_PREFIX}${tag}-`));
  await Promise.all(mine.map((f) => fsp.rm(path.join(SPOOL_DIR, f), { force: true })));
  return mine.length;
}
