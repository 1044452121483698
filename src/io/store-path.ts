import path from "node:path";

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** The URI scheme of a path (`"gs"`), or `undefined` for a local path. */
export function schemeOf(p: string): string | undefined {
  return SCHEME.exec(p)?.[1]?.toLowerCase();
}

/**
 * Joins path segments for local paths and URIs alike (`path.join` would turn `gs://b` into
 * `gs:/b`).
 *
 * @example joinPath("gs://b/out", "sub/x.txt") // "gs://b/out/sub/x.txt"
 */
export function joinPath(base: string, ...rest: string[]): string {
  const m = SCHEME.exec(base);
  if (!m) return path.join(base, ...rest);
  const tail = path.posix.join("/", base.slice(m[0].length), ...rest).slice(1);
  return `${m[0]}${tail}`;
}

/** The folder of a path or URI: `gs://b/out/x.txt` → `gs://b/out`. */
export function parentOf(p: string): string {
  const m = SCHEME.exec(p);
  if (!m) return path.dirname(p);
  const rest = p.slice(m[0].length).replace(/\/+$/, "");
  const i = rest.lastIndexOf("/");
  return i < 0 ? `${m[0]}${rest}` : `${m[0]}${rest.slice(0, i)}`;
}

/** The last segment of a path or URI. */
export function baseName(p: string): string {
  return p.replace(/\/+$/, "").slice(p.replace(/\/+$/, "").lastIndexOf("/") + 1);
}

/**
 * `p` relative to `root` (posix separators for URIs); starts with `..` when `p` is not under
 * `root`.
 *
 * @example relativePath("gs://b/in", "gs://b/in/a/x.gz") // "a/x.gz"
 */
export function relativePath(root: string, p: string): string {
  const mr = SCHEME.exec(root);
  const mp = SCHEME.exec(p);
  if (!mr && !mp) return path.relative(root, p);
  if (!mr || !mp || mr[0].toLowerCase() !== mp[0].toLowerCase()) return `../${p}`;
  return path.posix.relative(path.posix.join("/", root.slice(mr[0].length)), path.posix.join("/", p.slice(mp[0].length)));
}
