import type { Readable } from "node:stream";
import type { FileRef } from "../core/types.js";

/**
 * A file being written under a temporary name next to its final path. Nothing appears at
 * the final path until `commit()`; `abort()` removes the temporary file. A process killed
 * before `commit()` leaves only a hidden `.sirocco-tmp-*` file, never a partial output.
 */
export interface PendingWrite {
  /** Where to write the bytes now (a local path). */
  readonly tempPath: string;
  readonly finalPath: string;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** What the engine needs of a place that holds files: local disk now, `gs://` later. */
export interface ObjectStore {
  /** Files under `root` matching the glob, sorted by path (so shard numbering is stable). */
  list(root: string, pattern: string): Promise<FileRef[]>;
  openRead(path: string): Readable;
  exists(path: string): Promise<boolean>;
  /**
   * Starts writing `finalPath` under a temporary name that carries `tag` (the run id), so
   * the driver can remove what killed attempts left behind with {@link removeTemporaries}.
   */
  beginWrite(finalPath: string, tag: string): Promise<PendingWrite>;
  /** Removes the temporary files of `tag` in folder `dir`; returns how many. */
  removeTemporaries(dir: string, tag: string): Promise<number>;
  remove(path: string): Promise<void>;
}
