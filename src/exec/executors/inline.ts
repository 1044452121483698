import type { PhysicalPlan } from "../../plan/stage.js";
import { runTaskToOutcome, type RowsListener } from "../run-task.js";
import type { TaskOutcome, TaskSpec } from "../task-spec.js";
import type { Executor } from "./executor.js";

/** Runs tasks one after another in the calling thread: for debugging and small jobs. */
export class InlineExecutor implements Executor {
  constructor(
    private readonly plan: PhysicalPlan,
    private readonly onRows?: RowsListener,
  ) {}

  runTask(spec: TaskSpec): Promise<TaskOutcome> {
    return runTaskToOutcome(this.plan.stages[spec.stage]!, spec, this.onRows);
  }

  async close(): Promise<void> {}
}
