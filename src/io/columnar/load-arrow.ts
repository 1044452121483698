/**
 * apache-arrow, imported on first use. Its ESM build is ~150 modules (about 150 ms of module
 * loading per thread on this kind of machine), so the engine imports it only where a step
 * needs it (Parquet/Arrow files, spill files, rows sent to the driver), not at start-up: a
 * dedupe whose shuffle stays in shared memory never loads it.
 *
 * @example const { tableFromIPC } = await loadArrow();
 */
export type Arrow = typeof import("apache-arrow");

let arrow: Promise<Arrow> | undefined;

export function loadArrow(): Promise<Arrow> {
  return (arrow ??= import("apache-arrow"));
}
