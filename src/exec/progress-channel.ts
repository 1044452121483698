/** Name of the BroadcastChannel on which worker threads report rows as they flow (live progress). */
export function progressChannelName(runId: string): string {
  return `sirocco:progress:${runId}`;
}
