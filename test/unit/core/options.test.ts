import os from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PlanError } from "../../../src/core/errors.js";
import { DEFAULTS_ENV, envDefaults, parseBytes, resolveRunOptions, type RunOptions } from "../../../src/core/options.js";
import { planError } from "../../support/expect-error.js";


describe("parseBytes", () => {
  it("parses decimal and binary units, case-insensitively, with optional spaces", () => {
    expect(parseBytes("2GB")).toBe(2_000_000_000);
    expect(parseBytes("512MiB")).toBe(512 * 1024 * 1024);
    expect(parseBytes("1.5 GB")).toBe(1_500_000_000);
    expect(parseBytes(" 1.5gb ")).toBe(1_500_000_000);
    expect(parseBytes("4kib")).toBe(4096);
    expect(parseBytes("3KB")).toBe(3000);
    expect(parseBytes("1TiB")).toBe(1024 ** 4);
    expect(parseBytes("100")).toBe(100);
    expect(parseBytes("100B")).toBe(100);
    expect(parseBytes("1.5KiB")).toBe(1536);
  });

  it("takes byte counts as numbers, rounding down", () => {
    expect(parseBytes(1024)).toBe(1024);
    expect(parseBytes(1536.7)).toBe(1536);
  });

  it("rejects strings it cannot read, quoting them and showing the expected form", () => {
    for (const bad of ["", "lots", "2 G", "GB", "-1GB", "1,5GB", "2GB extra", "1e9"]) {
      const err = planError(() => parseBytes(bad));
      expect(err.message).toBe(`memory must look like "2GB", "512MiB" or a byte count, got ${JSON.stringify(bad)}`);
    }
  });

  it("names the option it parses in the message", () => {
    expect(planError(() => parseBytes("x", "options.memory")).message).toMatch(/^options\.memory must look like/);
  });

  it("rejects zero, negative and non-finite sizes", () => {
    expect(planError(() => parseBytes("0GB")).message).toBe('memory must be positive, got "0GB"');
    expect(planError(() => parseBytes("0.1B")).message).toBe('memory must be positive, got "0.1B"');
    expect(planError(() => parseBytes(0)).message).toBe("memory must be a positive number of bytes, got 0");
    expect(planError(() => parseBytes(-5)).message).toBe("memory must be a positive number of bytes, got -5");
    expect(planError(() => parseBytes(Number.NaN)).message).toMatch(/positive number of bytes, got NaN/);
    expect(planError(() => parseBytes(Number.POSITIVE_INFINITY)).message).toMatch(/positive number of bytes, got Infinity/);
  });

  it("rejects a numeric size that rounds down to zero bytes, as the string form does", () => {
    // "0.5" as a string is rejected; 0.5 as a number must not become a budget of 0 bytes.
    expect(() => parseBytes("0.5")).toThrow(PlanError);
    expect(() => parseBytes(0.5)).toThrow(PlanError);
  });
});

describe("resolveRunOptions", () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env[DEFAULTS_ENV];
    delete process.env[DEFAULTS_ENV];
  });
  afterEach(() => {
    if (saved === undefined) delete process.env[DEFAULTS_ENV];
    else process.env[DEFAULTS_ENV] = saved;
  });

  it("fills the documented defaults", () => {
    expect(resolveRunOptions()).toEqual({
      executor: "threads",
      workers: os.availableParallelism(),
      memoryBytes: 1_000_000_000,
      scratch: undefined,
      retries: 3,
      infraRetries: 20,
      resume: false,
      progress: "auto",
      entry: undefined,
      autoscale: "off",
    });
    expect(resolveRunOptions({})).toEqual(resolveRunOptions());
  });

  it("keeps valid values given", () => {
    const r = resolveRunOptions({ executor: "inline", workers: 3, memory: "512MiB", scratch: "/tmp/s", retries: 0, infraRetries: 5, resume: true, progress: "none", entry: "file:///x.ts" });
    expect(r).toEqual({
      executor: "inline",
      workers: 3,
      memoryBytes: 512 * 1024 * 1024,
      scratch: "/tmp/s",
      retries: 0,
      infraRetries: 5,
      resume: true,
      progress: "none",
      entry: "file:///x.ts",
      autoscale: "off",
    });
    expect(resolveRunOptions({ memory: 12345 }).memoryBytes).toBe(12345);
  });

  it("treats options given as undefined as not given", () => {
    expect(resolveRunOptions({ workers: undefined, retries: undefined, executor: undefined })).toEqual(resolveRunOptions());
  });

  it("rejects bad workers with `options.workers must be a positive integer`", () => {
    for (const w of [0, -1, 1.5, Number.NaN, "4"] as unknown[]) {
      const err = planError(() => resolveRunOptions({ workers: w as number }));
      expect(err.message).toBe(`options.workers must be a positive integer, got ${JSON.stringify(w)}`);
    }
  });

  it("rejects bad retries and infraRetries (zero is allowed)", () => {
    expect(planError(() => resolveRunOptions({ retries: -1 })).message).toBe("options.retries must be a non-negative integer, got -1");
    expect(planError(() => resolveRunOptions({ retries: 2.5 })).message).toBe("options.retries must be a non-negative integer, got 2.5");
    expect(planError(() => resolveRunOptions({ infraRetries: -3 })).message).toBe("options.infraRetries must be a non-negative integer, got -3");
    expect(resolveRunOptions({ retries: 0, infraRetries: 0 })).toMatchObject({ retries: 0, infraRetries: 0 });
  });

  it("rejects an unknown executor and progress mode, listing the valid ones", () => {
    expect(planError(() => resolveRunOptions({ executor: "cluster" as never })).message).toBe(
      'options.executor must be one of inline, threads, redis, got "cluster"',
    );
    expect(planError(() => resolveRunOptions({ progress: "loud" as never })).message).toBe('options.progress must be one of auto, bar, log, none, got "loud"');
  });

  it("rejects a bad memory string naming options.memory", () => {
    expect(planError(() => resolveRunOptions({ memory: "lots" })).message).toBe('options.memory must look like "2GB", "512MiB" or a byte count, got "lots"');
  });

  it("takes defaults from SIROCCO_RUN_DEFAULTS, with the call's options winning", () => {
    process.env[DEFAULTS_ENV] = JSON.stringify({ executor: "inline", workers: 3, memory: "2GB", progress: "log", resume: true } satisfies RunOptions);
    expect(envDefaults()).toEqual({ executor: "inline", workers: 3, memory: "2GB", progress: "log", resume: true });
    const merged = resolveRunOptions({ workers: 7, progress: undefined });
    expect(merged).toMatchObject({ executor: "inline", workers: 7, memoryBytes: 2_000_000_000, progress: "log", resume: true, retries: 3 });
  });

  it("validates values that come from SIROCCO_RUN_DEFAULTS too", () => {
    process.env[DEFAULTS_ENV] = JSON.stringify({ workers: 0 });
    expect(planError(() => resolveRunOptions()).message).toBe("options.workers must be a positive integer, got 0");
  });

  it("rejects SIROCCO_RUN_DEFAULTS that is not JSON, quoting it", () => {
    process.env[DEFAULTS_ENV] = "{not json";
    expect(planError(() => resolveRunOptions()).message).toBe("SIROCCO_RUN_DEFAULTS is not valid JSON: {not json");
  });

  it("is empty without SIROCCO_RUN_DEFAULTS", () => {
    expect(envDefaults()).toEqual({});
    process.env[DEFAULTS_ENV] = "";
    expect(envDefaults()).toEqual({});
  });

  it("parses and checks the redis executor's URL, queue and autoscale mode", () => {
    const r = resolveRunOptions({ executor: "redis", redis: "rediss://me:secret@cache.internal:6380/2", queue: "etl-1", autoscale: "local" });
    expect(r.redis).toEqual({ url: "rediss://me:secret@cache.internal:6380/2", tls: true, host: "cache.internal", port: 6380, db: 2, display: "rediss://me:***@cache.internal:6380/2" });
    expect(r.queue).toBe("etl-1");
    expect(r.autoscale).toBe("local");
    expect(resolveRunOptions({ executor: "redis", redis: "redis://localhost" }).redis).toMatchObject({ port: 6379, db: 0, tls: false });
    expect(planError(() => resolveRunOptions({ executor: "redis", redis: "redis://localhost:6379/zero" })).message).toBe(
      'options.redis names database "zero", which is not a number, in "redis://localhost:6379/zero"; expected redis://[user:pass@]host:port[/db] (or rediss:// for TLS)',
    );
    expect(planError(() => resolveRunOptions({ executor: "redis", redis: "localhost:6379" })).message).toContain("options.redis must start with redis:// or rediss://");
    expect(planError(() => resolveRunOptions({ executor: "redis", redis: "redis://h:1", queue: "a:b" })).message).toBe('options.queue must be 1-100 letters, digits, "_", "-" or ".", got "a:b"');
    expect(planError(() => resolveRunOptions({ autoscale: "k8s" as never })).message).toBe('options.autoscale must be "off" or "local", got "k8s"');
  });
});
