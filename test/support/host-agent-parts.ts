// Parts for privileged tests that drive a real agent (real runtime and networks) without a server:
// the busybox test layer as the image store would hand it over, a log sink that keeps each task's
// lines, and a helper that runs a task to its end.
import type { Agent, ImagePort, LogEvent, LogSink, PulledImageInfo } from "../../src/agent/index.js";
import type { TaskSpec } from "../../src/protocol/index.js";

/** The digest the busybox test layer is handed over under (see the runtime adapter's image lookup). */
export const BUSYBOX_TEST_DIGEST = "sha256:busybox-test-layer";

/** The busybox root under a fixed digest, as the image store would hand it over. */
export class LocalBusyboxImages implements ImagePort {
  async pull(image: string): Promise<PulledImageInfo> {
    if (image !== "busybox") throw new Error(`${image}: not found`);
    return { digest: BUSYBOX_TEST_DIGEST };
  }
}

/** Each task's log lines, as `<container>: <line>`. */
export class TaskLogs implements LogSink {
  readonly byTask = new Map<string, string[]>();
  async write(taskId: string, containerName: string, events: readonly LogEvent[]): Promise<void> {
    const lines = this.byTask.get(taskId) ?? [];
    for (const event of events) lines.push(`${containerName}: ${event.message}`);
    this.byTask.set(taskId, lines);
  }
}

/** Runs a task to its end and returns its final report and log lines. */
export async function runTaskToCompletion(agent: Agent, logs: TaskLogs, spec: TaskSpec) {
  await agent.runTask(spec);
  await agent.whenStopped(spec.taskArn);
  return { report: agent.describe(spec.taskArn)!, lines: logs.byTask.get(spec.taskId) ?? [] };
}
