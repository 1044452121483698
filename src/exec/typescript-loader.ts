/** True when a script needs tsx's loader: a TypeScript file (by extension). */
export function needsTypeScriptLoader(script: string): boolean {
  return /\.(c|m)?tsx?$/i.test(script);
}
