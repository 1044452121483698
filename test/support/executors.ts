import { inject } from "vitest";

/**
 * The executors every integration test runs on, through one loop. A new executor is added
 * here and every integration test picks it up.
 */
export const EXECUTORS = ["inline", "threads", "redis"] as const;
export type TestExecutor = (typeof EXECUTORS)[number];

/**
 * Extra `sirocco run` flags an executor needs in tests: redis runs against the test
 * redis-server (test/support/global-redis.ts) and starts its own worker processes
 * (`--autoscale local`, at most --workers of them, on a queue private to the run).
 */
export function executorFlags(executor: string): string[] {
  if (executor !== "redis") return [];
  return ["--redis", inject("redisUrl"), "--autoscale", "local"];
}
