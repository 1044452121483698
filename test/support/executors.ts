/**
 * The executors every integration test runs on, through one loop. A new executor (the
 * distributed one) is added here and every integration test picks it up.
 */
export const EXECUTORS = ["inline", "threads"] as const;
export type TestExecutor = (typeof EXECUTORS)[number];
