// The TaskSpec of a placed task. The store keeps a task's spec opaque (it may not import the agent
// protocol, DESIGN.md rule 1); the task launcher is its only writer and always writes a TaskSpec,
// so this is the one place that says so.
import type { TaskSpec } from "../protocol/index.js";
import type { TaskRecord } from "../store/index.js";

export function placedTaskSpec(task: TaskRecord): TaskSpec | undefined {
  return task.spec as TaskSpec | undefined;
}
