/** True when a script needs tsx's loader: a TypeScript file (by extension). */
export function needsTypeScriptLoader(script: string): boolean {
  return /\.(c|m)?tsx?$/i.test(script);
}

/** Installs tsx's module hooks in this thread when `script` is TypeScript. */
export async function ensureTypeScriptLoader(script: string): Promise<void> {
  if (!needsTypeScriptLoader(script)) return;
  const key = Symbol.for("sirocco.tsxRegistered");
  const g = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (g[key] || process.execArgv.some((a) => a.includes("tsx")) || process.env.TSX_TSCONFIG_PATH !== undefined) return;
  const { register } = await import("tsx/esm/api");
  register();
  g[key] = true;
}
