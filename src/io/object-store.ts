import type { Readable, Writable } from "node:stream";
import type { FileRef } from "../core/types.js";

/**
 * Bytes `start`…`end` of an object, both inclusive (as in `fs.createReadStream`); `end`
 * omitted means to the end of the object.
 *
 * @example store.openRead("gs://b/spill/0001.bin", { start: 4096, end: 8191 }) // 4 KiB
 */
export interface ByteRange {
  start: number;
  end?: number;
}

/** What a store knows about one object. */
export interface ObjectStat {
  size: number;
  /**
   * An opaque version token: the object generation on GCS, a token derived from inode,
   * size and mtime on local disk. Changes whenever the object is replaced.
   */
  generation: string;
}

/**
 * Preconditions of a write. `ifGeneration` is the generation the final path must still have
 * when the write commits (`"0"` = it must not exist). Omitted: the commit replaces whatever
 * is there. When the precondition fails and the object now there has exactly the bytes just
 * written, the commit counts as done (a duplicate attempt of a deterministic task);
 * otherwise it fails with a non-retryable `IoError` (op `commit`).
 */
export interface WriteOptions {
  ifGeneration?: string;
}

/** What a commit did. `duplicate`: an identical object was already there (see {@link WriteOptions}). */
export interface CommitInfo {
  bytes: number;
  duplicate: boolean;
}

/**
 * A file being written under a temporary *local* name. Nothing appears at the final path
 * until `commit()`; `abort()` removes the temporary file. A process killed before
 * `commit()` leaves only a hidden `.sirocco-tmp-*` file, never a partial output. Used where
 * a user function needs a real path to write to (`mapFiles`); on `gs://` the file is
 * uploaded on commit.
 */
export interface PendingWrite {
  /** Where to write the bytes now (a local path whose name ends with the final name). */
  readonly tempPath: string;
  readonly finalPath: string;
  commit(): Promise<CommitInfo>;
  abort(): Promise<void>;
}

/**
 * An object being written as a stream: bytes written to `stream` go to disk (local) or are
 * uploaded as they come (`gs://`), never held whole in memory. The object appears at
 * `finalPath` whole, at `commit()`, or not at all.
 *
 * @example
 * const w = await store.openWrite("gs://b/out/part-0.jsonl", runId, { ifGeneration: "0" });
 * w.stream.write("{}\n");
 * await w.commit();
 */
export interface AtomicWrite {
  readonly finalPath: string;
  readonly stream: Writable;
  /** Ends the stream and publishes the object; resolves once it is visible. */
  commit(): Promise<CommitInfo>;
  /** Abandons the write; nothing appears at the final path. Safe to call more than once. */
  abort(): Promise<void>;
}

/** What the engine needs of a place that holds files: local disk or `gs://bucket/prefix`. */
export interface ObjectStore {
  /** Files under `root` matching the glob, sorted by path (so shard numbering is stable). */
  list(root: string, pattern: string): Promise<FileRef[]>;
  /** Streams an object's bytes, optionally only a {@link ByteRange}. */
  openRead(path: string, range?: ByteRange): Readable;
  exists(path: string): Promise<boolean>;
  /** Size and generation of an object, or `undefined` when there is none. */
  stat(path: string): Promise<ObjectStat | undefined>;
  /**
   * Starts writing `finalPath` under a temporary local name that carries `tag` (the run id),
   * so the driver can remove what killed attempts left behind with {@link removeTemporaries}.
   */
  beginWrite(finalPath: string, tag: string, opts?: WriteOptions): Promise<PendingWrite>;
  /** Starts a streaming atomic write of `finalPath` (see {@link AtomicWrite}). */
  openWrite(finalPath: string, tag: string, opts?: WriteOptions): Promise<AtomicWrite>;
  /** Removes the temporary files of `tag` in folder `dir`; returns how many. */
  removeTemporaries(dir: string, tag: string): Promise<number>;
  remove(path: string): Promise<void>;
}

/** Prefix of every temporary name sirocco writes (hidden, so listings skip it). */
export const TEMP_PREFIX = ".sirocco-tmp-";
