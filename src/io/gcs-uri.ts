import { IoError } from "../core/errors.js";

/** A `gs://bucket/key` URI split into bucket and object name (key without a leading `/`). */
export interface GcsLocation {
  bucket: string;
  key: string;
}

const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * Splits a `gs://` URI; `gs://b` and `gs://b/` have key `""`.
 *
 * @example parseGcsUri("gs://my-bucket/corpus/a.jsonl") // { bucket: "my-bucket", key: "corpus/a.jsonl" }
 */
export function parseGcsUri(uri: string): GcsLocation {
  const m = /^gs:\/\/([^/]*)\/?(.*)$/i.exec(uri);
  if (!m || !BUCKET.test(m[1]!)) {
    throw new IoError(`${uri} is not a valid gs:// URI: expected gs://<bucket>/<path> with a bucket name of 3–222 lowercase letters, digits, '.', '-' or '_'`, {
      uri,
      op: "resolve",
      retryable: false,
    });
  }
  return { bucket: m[1]!, key: m[2]! };
}

/** `gs://bucket/key`. */
export function gcsUri(bucket: string, key: string): string {
  return `gs://${bucket}/${key}`;
}
