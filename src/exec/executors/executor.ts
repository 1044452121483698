import type { TaskOutcome, TaskSpec } from "../task-spec.js";

/** Where tasks run. Given a plain TaskSpec, returns how it ended; never throws for task failures. */
export interface Executor {
  runTask(spec: TaskSpec): Promise<TaskOutcome>;
  close(): Promise<void>;
}
