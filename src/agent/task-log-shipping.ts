// Log shipping for one container of a task: log-shipper.ts does the shipping, exactly once across
// restarts; this binds it to the task's state cell, where the container's log offset and its
// "shipped" mark are kept (saved, not reported: the control plane does not see offsets).
import type { Clock } from "../core/clock.js";
import { shipContainerLogs } from "./log-shipper.js";
import type { LogSink, RuntimePort } from "./ports.js";
import type { TaskStateCell } from "./task-state-cell.js";
import { Detached } from "./task-state-cell.js";

export interface TaskLogShippingParts {
  readonly runtime: Pick<RuntimePort, "readLogs">;
  readonly sink: LogSink;
  readonly clock: Clock;
  readonly pollMs: number;
  readonly onError: (error: unknown, what: string) => void;
}

/** Ships the container's lines until it exited and every line is acknowledged, or the agent detaches. */
export async function shipTaskContainerLogs(
  cell: TaskStateCell,
  parts: TaskLogShippingParts,
  name: string,
  runtimeId: string,
  exited: AbortSignal,
): Promise<void> {
  try {
    await shipContainerLogs({
      taskId: cell.record.spec.taskId,
      containerName: name,
      runtimeId,
      runtime: parts.runtime,
      sink: parts.sink,
      clock: parts.clock,
      pollMs: parts.pollMs,
      onError: parts.onError,
      savedOffset: () => cell.container(name).logOffset,
      saveOffset: (offset) =>
        cell.changeContainer(
          name,
          (rc) => {
            rc.logOffset = offset;
          },
          false,
        ),
      markShipped: () =>
        cell.changeContainer(
          name,
          (rc) => {
            rc.logsShipped = true;
          },
          false,
        ),
      exited,
      detached: cell.detachedSignal,
    });
  } catch (error) {
    if (!(error instanceof Detached)) parts.onError(error, `shipping logs of container ${name}`);
  }
}
