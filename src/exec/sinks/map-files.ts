import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { PlanError } from "../../core/errors.js";
import { spoolPath } from "../../io/spool.js";
import { storeFor } from "../../io/store-for.js";
import { baseName, joinPath, relativePath, schemeOf } from "../../io/store-path.js";
import { isThenable, StepFailure, type Chunk } from "../operators/chunk.js";

/** `outputDir` + the input path relative to `root` (optionally renamed); local paths and `gs://` alike. */
export function rebase(root: string, input: string, outputDir: string, rename?: (rel: string) => unknown): string {
  const rel = relativePath(root, input);
  if (rel.startsWith("..") || path.isAbsolute(rel)) {
    throw new PlanError(`mapFiles: input ${input} is not under the fromFiles root ${root}, so it cannot be rebased onto ${outputDir}`);
  }
  if (!rename) return joinPath(outputDir, rel);
  const renamed = rename(rel);
  if (typeof renamed !== "string" || renamed === "" || path.isAbsolute(renamed) || path.normalize(renamed).startsWith("..")) {
    throw new PlanError(`mapFiles rename(${JSON.stringify(rel)}) must return a relative path inside outputDir, got ${JSON.stringify(renamed)}`);
  }
  return joinPath(outputDir, renamed);
}

/**
 * For each FileRef: calls `fn(inputPath, tempOutputPath)` and commits the temporary output
 * (a rename locally, an upload on `gs://`) when `fn` resolves; a throwing `fn` leaves
 * nothing at the final path. `fn` always gets local paths: a `gs://` input is downloaded to
 * a spool file first (same file name at the end), removed afterwards.
 */
export async function mapFilesSink(
  chunks: AsyncIterable<Chunk>,
  fn: (input: string, output: string) => unknown,
  o: {
    root: string;
    outputDir: string;
    skipExisting: boolean;
    tempTag: string;
    rename?: (rel: string) => unknown;
    /** Generation of each output when the driver planned the task ("0" = absent). */
    generations?: Readonly<Record<string, string>>;
  },
): Promise<{ outputs: string[]; skipped: number }> {
  const outputs: string[] = [];
  let skipped = 0;
  for await (const c of chunks) {
    for (const ref of c.rows) {
      const input = (ref as { path?: unknown } | null)?.path;
      if (typeof input !== "string") throw new PlanError(`mapFiles expects FileRef rows ({ path, size }), got ${JSON.stringify(ref)?.slice(0, 100)}`);
      const out = rebase(o.root, input, o.outputDir, o.rename);
      const store = storeFor(out);
      if (o.skipExisting && (await store.exists(out))) {
        skipped++;
        continue;
      }
      const ifGeneration = o.generations?.[out];
      const pending = await store.beginWrite(out, o.tempTag, ifGeneration === undefined ? {} : { ifGeneration });
      let localInput = input;
      if (schemeOf(input) !== undefined) {
        try {
          localInput = await spoolPath(o.tempTag, `in-${baseName(input)}`);
          await pipeline(storeFor(input).openRead(input), fs.createWriteStream(localInput));
        } catch (e) {
          if (localInput !== input) await fsp.rm(localInput, { force: true });
          await pending.abort();
          throw e;
        }
      }
      try {
        const r = fn(localInput, pending.tempPath);
        if (isThenable(r)) await r;
      } catch (e) {
        await pending.abort();
        throw new StepFailure(e, "mapFiles", input);
      } finally {
        if (localInput !== input) await fsp.rm(localInput, { force: true });
      }
      try {
        await fsp.access(pending.tempPath);
      } catch {
        await pending.abort();
        throw new StepFailure(new Error(`mapFiles function resolved without writing its outputPath (${pending.tempPath}); write the output there and sirocco moves it to ${out}`), "mapFiles", input);
      }
      await pending.commit();
      outputs.push(out);
    }
  }
  return { outputs, skipped };
}
