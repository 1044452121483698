/**
 * vitest globalSetup: one redis-server for the whole test run, its URL given to tests as
 * `inject("redisUrl")` (the redis executor of the EXECUTORS loop uses it; each run gets a
 * queue of its own, so test files running at once do not meet).
 */
import type { TestProject } from "vitest/node";
import { startRedis } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis();
  project.provide("redisUrl", redis.url);
  return () => redis.stop();
}
