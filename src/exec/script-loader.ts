import fs from "node:fs";
import path from "node:path";
import { PlanError } from "../core/errors.js";
import { needsTypeScriptLoader } from "./typescript-loader.js";

/** A pipeline script made ready to import in the driver and in every worker. */
export interface PreparedScript {
  /** What to import (the script itself, or its compiled bundle). */
  entry: string;
  /** Removes the bundle, if one was written. */
  cleanup(): void;
}

/**
 * Compiles a TypeScript pipeline script once, in the driver, into one JavaScript module
 * beside it (relative imports bundled, packages left as imports, inline source maps so stacks
 * name the original files and lines). The driver and every worker then import the same
 * JavaScript, so plans fingerprint identically and no thread pays for an in-thread
 * TypeScript loader (about 1 s per worker thread under tsx's module hooks on Node 20).
 * JavaScript scripts are imported as they are.
 *
 * The bundle sits next to the script so that `import.meta.url` keeps pointing at the
 * script's folder; it is removed when the process exits.
 */
export async function prepareScript(file: string): Promise<PreparedScript> {
  if (!needsTypeScriptLoader(file)) return { entry: file, cleanup() {} };
  const { build } = await import("esbuild");
  const out = path.join(path.dirname(file), `.${path.basename(file)}.sirocco-${process.pid}.mjs`);
  try {
    await build({
      entryPoints: [file],
      outfile: out,
      bundle: true,
      packages: "external",
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      logLevel: "silent",
    });
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }).errors;
    const detail = errors?.map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text)).join("\n");
    throw new PlanError(`could not compile ${file}:\n${detail ?? (e as Error).message}`, { cause: e });
  }
  process.setSourceMapsEnabled(true);
  const cleanup = () => fs.rmSync(out, { force: true });
  process.once("exit", cleanup);
  return { entry: out, cleanup };
}
