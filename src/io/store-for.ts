import { IoError } from "../core/errors.js";
import { LocalStore } from "./local-store.js";
import type { ObjectStore } from "./object-store.js";

const local = new LocalStore();

/** The store that serves a path: local paths now; `gs://` arrives with the object-store issue. */
export function storeFor(uri: string): ObjectStore {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new IoError(`${uri}: only local paths are supported in this version (gs:// support is planned)`, {
      uri,
      op: "resolve",
      retryable: false,
    });
  }
  return local;
}
