import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One real redis-server for the redis executor's tests (needs `apt-get install -y redis-server`).
    globalSetup: ["test/support/global-redis.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start worker threads and subprocesses; two cores are all we have.
    maxWorkers: 2,
  },
});
