/**
 * How store failures inside a task reach the driver's retry budgets: a store that keeps
 * failing transiently is an infrastructure failure (the larger `infraRetries` budget); a
 * permission or commit-conflict error is not retryable at all.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deserializeError, IoError, TaskError } from "../../../src/core/errors.js";
import { makeTasks } from "../../../src/exec/make-tasks.js";
import { runTaskToOutcome } from "../../../src/exec/run-task.js";
import { compilePlan } from "../../../src/plan/compile-plan.js";
import { Dataset } from "../../../src/plan/dataset.js";
import { FakeGcsServer } from "../../support/fake-gcs-server.js";

let gcs: FakeGcsServer;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  gcs = await FakeGcsServer.start();
  gcs.putObject("fail-bucket", "in/a.jsonl", '{"x":1}\n');
  for (const [k, v] of Object.entries({ STORAGE_EMULATOR_HOST: gcs.endpoint, SIROCCO_IO_RETRIES: "1", SIROCCO_IO_RETRY_BASE_MS: "1" })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await gcs.close();
});

async function outcomeWith(fault: Parameters<FakeGcsServer["addFault"]>[0]) {
  const sink = Dataset.fromFiles("gs://fail-bucket/in", "*.jsonl").loadJsonl().writeJsonl("gs://fail-bucket/out/{basename}.jsonl");
  const stage = compilePlan(sink.node).stages[0]!;
  const { tasks } = await makeTasks(stage, { runId: "0123456789abcdef", runIndex: 1, fingerprint: "0" }, false);
  gcs.addFault(fault);
  try {
    const outcome = await runTaskToOutcome(stage, tasks[0]!);
    if (outcome.ok) throw new Error("expected the task to fail");
    const err = deserializeError(outcome.error) as TaskError;
    expect(err).toBeInstanceOf(TaskError);
    return { infra: outcome.infra, err, cause: err.cause as IoError };
  } finally {
    gcs.clearFaults();
  }
}

describe("store failures in a task", () => {
  it("a store still answering 503 after its retries: retryable, counted as infrastructure", async () => {
    const { infra, err, cause } = await outcomeWith({ kinds: ["media"], status: 503, times: 100 });
    expect(infra).toBe(true);
    expect(err.retryable).toBe(true);
    expect(cause).toBeInstanceOf(IoError);
    expect(cause.message).toContain("failed after 2 attempts");
    expect(gcs.objectNames("fail-bucket", "out/")).toEqual([]);
  });

  it("403 on the input: not retryable, not infrastructure, says what to check", async () => {
    const { infra, err, cause } = await outcomeWith({ kinds: ["media"], status: 403, times: 100 });
    expect(infra).toBe(false);
    expect(err.retryable).toBe(false);
    expect(cause.message).toContain("check the credentials");
  });

  it("an upload cut off mid-body: retryable infrastructure failure, nothing committed", async () => {
    const { infra, cause } = await outcomeWith({ kinds: ["upload"], drop: "mid", times: 100 });
    expect(infra).toBe(true);
    expect(cause.op).toBe("write");
    expect(gcs.objectNames("fail-bucket", "out/")).toEqual([]);
  });
});
