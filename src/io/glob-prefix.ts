/**
 * The longest literal folder prefix of a glob, so an object store can list only under it:
 * everything before the first segment that holds a glob character.
 *
 * @example globPrefix("2024/*\/part-*.jsonl") // "2024/"
 * @example globPrefix("**\/*.jsonl")          // ""
 */
export function globPrefix(pattern: string): string {
  const segments = pattern.split("/");
  let prefix = "";
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    if (/[*?[\]{}()!+@\\]/.test(s)) break;
    prefix += `${s}/`;
  }
  return prefix;
}

/** Whether a glob can match below its own folder level (so a delimiter listing is not enough). */
export function globCrossesFolders(pattern: string): boolean {
  const rest = pattern.slice(globPrefix(pattern).length);
  return rest.includes("/") || rest.includes("**") || /[{}]/.test(rest);
}
