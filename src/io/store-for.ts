import { IoError } from "../core/errors.js";
import { GcsStore } from "./gcs-store.js";
import { LocalStore } from "./local-store.js";
import type { ObjectStore } from "./object-store.js";
import { schemeOf } from "./store-path.js";

const local = new LocalStore();
let gcs: GcsStore | undefined;

/**
 * The store that serves a path: `gs://…` → one {@link GcsStore} per thread (its client is
 * reused), anything without a scheme → the local file system.
 *
 * @example storeFor("gs://bucket/corpus").list("gs://bucket/corpus", "**\/*.jsonl.gz")
 */
export function storeFor(uri: string): ObjectStore {
  const scheme = schemeOf(uri);
  if (scheme === undefined) return local;
  if (scheme === "gs") return (gcs ??= new GcsStore());
  throw new IoError(`${uri}: unsupported scheme ${scheme}://; paths may be local or gs://bucket/prefix`, { uri, op: "resolve", retryable: false });
}

/** Drops the cached gs:// store (tests that change its environment call this). */
export function resetStores(): void {
  gcs = undefined;
}
