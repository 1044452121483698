import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach } from "vitest";

/**
 * A fresh folder under the OS temp dir for each test, removed after it. Call at the top of a
 * `describe` (or file); read `.path` inside tests.
 */
export function useTempDir(prefix = "sirocco-test-"): { readonly path: string } {
  const made: string[] = [];
  const handle = {
    get path(): string {
      const last = made[made.length - 1];
      if (last && fs.existsSync(last)) return last;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
  };
  afterEach(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return handle;
}
