import type cliProgressNs from "cli-progress";
import type { Logger, pino as pinoFn } from "pino";
import type { ProgressMode } from "../core/options.js";
import type { Stage } from "../plan/stage.js";
import type { RunStats, StageStats } from "./run-result.js";

/** Receives what a run is doing; one implementation per display. */
export interface ProgressReporter {
  stageStart(stage: Stage, totalShards: number, skippedShards: number): void;
  rows(n: number): void;
  shardDone(): void;
  stageEnd(stats: StageStats): void;
  runEnd(stats: RunStats): void;
  /** Stops timers and redraws; called on success and failure. */
  close(): void;
}

const silent: ProgressReporter = { stageStart() {}, rows() {}, shardDone() {}, stageEnd() {}, runEnd() {}, close() {} };

function rate(n: number, ms: number): string {
  return ms > 0 ? Math.round((n * 1000) / ms).toLocaleString("en-US") : "0";
}

/** A live bar on a TTY (stage, shards done / total, rows, rows/s, ETA). */
class BarProgress implements ProgressReporter {
  private bar: cliProgressNs.SingleBar | undefined;

  constructor(private readonly cliProgress: typeof cliProgressNs) {}
  private rowsSeen = 0;
  private started = 0;
  private done = 0;

  stageStart(stage: Stage, total: number, skipped: number): void {
    this.rowsSeen = 0;
    this.done = skipped;
    this.started = Date.now();
    this.bar = new this.cliProgress.SingleBar(
      {
        format: `stage ${stage.id} {bar} {value}/{total} shards | {rows} rows | {rate} rows/s | eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        fps: 10,
        etaBuffer: 50,
      },
      this.cliProgress.Presets.shades_classic,
    );
    process.stderr.write(`stage ${stage.id}: ${stage.label}${skipped ? ` (${skipped} shards already done, skipped)` : ""}\n`);
    this.bar.start(total, skipped, { rows: "0", rate: "0" });
  }
  rows(n: number): void {
    this.rowsSeen += n;
    this.bar?.update({ rows: this.rowsSeen.toLocaleString("en-US"), rate: rate(this.rowsSeen, Date.now() - this.started) });
  }
  shardDone(): void {
    this.bar?.update(++this.done);
  }
  stageEnd(s: StageStats): void {
    this.bar?.update(this.done, { rows: s.rowsOut.toLocaleString("en-US"), rate: rate(s.rowsOut, Date.now() - this.started) });
    this.bar?.stop();
    this.bar = undefined;
  }
  runEnd(stats: RunStats): void {
    process.stderr.write(`${summary(stats)}\n`);
  }
  close(): void {
    this.bar?.stop();
  }
}

/** Plain structured log lines (pino, JSON on stderr): at stage start and end, and every 5 s. */
class LogProgress implements ProgressReporter {
  private readonly log: Logger;

  constructor(pino: typeof pinoFn) {
    this.log = pino({ name: "sirocco", level: process.env.SIROCCO_LOG_LEVEL ?? "info" }, pino.destination({ dest: 2, sync: true }));
  }

  private timer: NodeJS.Timeout | undefined;
  private rowsSeen = 0;
  private done = 0;
  private total = 0;
  private started = 0;

  stageStart(stage: Stage, total: number, skipped: number): void {
    this.rowsSeen = 0;
    this.done = skipped;
    this.total = total;
    this.started = Date.now();
    this.log.info({ stage: stage.id, label: stage.label, shards: total, skippedShards: skipped }, "stage started");
    this.timer = setInterval(() => {
      this.log.info({ stage: stage.id, shardsDone: this.done, shards: this.total, rows: this.rowsSeen, rowsPerSec: Number(rate(this.rowsSeen, Date.now() - this.started).replace(/,/g, "")) }, "progress");
    }, 5000);
    this.timer.unref();
  }
  rows(n: number): void {
    this.rowsSeen += n;
  }
  shardDone(): void {
    this.done++;
  }
  stageEnd(s: StageStats): void {
    clearInterval(this.timer);
    this.log.info(
      {
        stage: s.id,
        shards: s.shards,
        skippedShards: s.skippedShards,
        rowsIn: s.rowsIn,
        rowsOut: s.rowsOut,
        malformedLines: s.malformedLines,
        wallMs: s.wallMs,
        ...(s.spillFiles !== undefined ? { spillFiles: s.spillFiles } : {}),
        ...(s.sortedRuns !== undefined ? { sortedRuns: s.sortedRuns } : {}),
      },
      "stage finished",
    );
  }
  runEnd(stats: RunStats): void {
    this.log.info({ wallMs: stats.wallMs, executor: stats.executor, workers: stats.workers, tasks: stats.tasks, retries: stats.retries }, summary(stats));
  }
  close(): void {
    clearInterval(this.timer);
  }
}

/** One line: what ran, how much, how fast. */
export function summary(stats: RunStats): string {
  const last = stats.stages[stats.stages.length - 1];
  const first = stats.stages[0];
  const secs = (stats.wallMs / 1000).toFixed(2);
  const rowsIn = first?.rowsIn ?? 0;
  const rowsOut = last?.rowsOut ?? 0;
  const skipped = stats.stages.reduce((a, s) => a + s.skippedShards, 0);
  return (
    `done in ${secs}s on ${stats.executor}(${stats.workers}): ${rowsIn.toLocaleString("en-US")} rows in, ${rowsOut.toLocaleString("en-US")} rows out, ` +
    `${rate(rowsIn, stats.wallMs)} rows/s, ${stats.tasks} tasks${skipped ? `, ${skipped} shards skipped (already done)` : ""}${stats.retries ? `, ${stats.retries} retries` : ""}`
  );
}

/**
 * The reporter for a mode; `auto` is a bar when stderr is a terminal, log lines otherwise.
 * cli-progress and pino are imported only for the mode that uses them.
 */
export async function createProgress(mode: ProgressMode): Promise<ProgressReporter> {
  const m = mode === "auto" ? (process.stderr.isTTY ? "bar" : "log") : mode;
  if (m === "bar") return new BarProgress((await import("cli-progress")).default);
  if (m === "log") return new LogProgress((await import("pino")).pino);
  return silent;
}
