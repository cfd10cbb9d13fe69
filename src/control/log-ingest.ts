// Container log lines shipped by agents, written to CloudWatch Logs streams. Every batch is checked
// before any is written: a host writes only the awslogs streams of the tasks placed on it, at the
// group and stream their task definitions name (never another host's task's stream, nor any group
// it picks), and a task's lines are taken only until LOGS_AFTER_STOP_GRACE_MS after it stopped.
// With the grants (execution-role-grants.ts), a task held to its execution role writes only the
// streams (and creates only the groups) the role was found to allow at the task's start.
import type { Clock } from "../core/clock.js";
import { accessDeniedException, invalidParameterException } from "../core/errors.js";
import type { LogBatch, TaskSpec } from "../protocol/index.js";
import type { LogsRepository, StoredTask, TasksRepository } from "../store/index.js";
import type { ExecutionRoleGrants } from "./execution-role-grants.js";
import { placedTaskSpec } from "./placed-task-spec.js";

/**
 * How long after a task stopped its host may still ship its lines: the agent sends a container's
 * last lines after it exits (and after a short outage, late); after that, the stream is closed.
 */
export const LOGS_AFTER_STOP_GRACE_MS = 10 * 60_000;

export interface LogIngestOptions {
  readonly tasks: Pick<TasksRepository, "getMany">;
  readonly logs: LogsRepository;
  readonly clock: Clock;
  /** What each task's execution role allows; absent: no task is held to one. */
  readonly grants?: Pick<ExecutionRoleGrants, "grantFor">;
}

export class LogIngest {
  constructor(private readonly options: LogIngestOptions) {}

  async putLogs(hostId: string, batches: readonly LogBatch[]): Promise<void> {
    const now = this.options.clock.now();
    const placed = new Map((await this.options.tasks.getMany([...new Set(batches.map((batch) => String(batch.taskArn)))])).map((task) => [task.taskArn, task]));
    for (const batch of batches) {
      const task = placed.get(batch.taskArn);
      const refused = refusal(hostId, task, batch, now) ?? (await this.roleRefusal(task, batch));
      if (refused)
        throw accessDeniedException(
          `Host ${hostId} may not write log stream ${String(batch.logStreamName)} of group ${String(batch.logGroupName)}: ${refused}.`,
        );
    }
    for (const batch of batches) await this.write(batch, now);
  }

  /** Why the task's execution role does not cover the batch (decided once per task, at its start), or undefined. */
  private async roleRefusal(task: StoredTask | undefined, batch: LogBatch): Promise<string | undefined> {
    const spec = task ? placedTaskSpec(task) : undefined;
    if (!spec || !this.options.grants) return undefined;
    const grant = await this.options.grants.grantFor(spec);
    if (grant.failure !== undefined) return "the task's execution role does not allow it to start";
    if (grant.unrestricted) return undefined;
    if (!grant.logStreams.has(`${batch.logGroupName}\0${batch.logStreamName}`)) return "the task's execution role may not write this stream";
    if (batch.createGroup && !grant.logGroupsToCreate.has(batch.logGroupName)) return "the task's execution role may not create this group";
    return undefined;
  }

  private async write(batch: LogBatch, now: number): Promise<void> {
    const logs = this.options.logs;
    let group = await logs.getGroup(batch.logGroupName);
    if (!group && batch.createGroup) {
      group =
        (await logs.createGroup({ name: batch.logGroupName, createdAt: now, logGroupClass: "STANDARD", tags: {} })) ??
        (await logs.getGroup(batch.logGroupName));
    }
    // Like the awslogs driver, a missing group without awslogs-create-group is an error the
    // agent reports against the container rather than data silently dropped.
    if (!group) throw invalidParameterException(`The specified log group does not exist: ${batch.logGroupName}`);
    const stream =
      (await logs.getStream(group.id, batch.logStreamName)) ??
      (await logs.createStream(group.id, batch.logStreamName, now)) ??
      (await logs.getStream(group.id, batch.logStreamName));
    if (!stream) throw invalidParameterException(`Could not create log stream ${batch.logStreamName}`);
    // Lines an agent sends again after a crash (see LogBatch.events[].offset) are dropped by the
    // store, against the offset the stream's stored lines reach (kept with them: restarts too).
    const events = batch.events
      .map((event) => ({ timestamp: event.timestamp, message: event.message, ...(event.offset !== undefined ? { sourceOffset: event.offset } : {}) }))
      .sort((a, b) => a.timestamp - b.timestamp);
    await logs.appendEvents(stream, events, now);
  }
}

/** Why `hostId` may not write `batch` of `task`, or undefined when it may. */
function refusal(hostId: string, task: StoredTask | undefined, batch: LogBatch, now: number): string | undefined {
  const spec = task ? placedTaskSpec(task) : undefined;
  if (task?.hostId !== hostId || !spec) return `task ${String(batch.taskArn)} is not placed on host ${hostId}`;
  if (task.lastStatus === "STOPPED" && task.stoppedAtMs !== undefined && now - task.stoppedAtMs > LOGS_AFTER_STOP_GRACE_MS) {
    return `task ${String(batch.taskArn)} stopped more than ${LOGS_AFTER_STOP_GRACE_MS / 60_000} minutes ago`;
  }
  return awslogsMismatch(spec, batch);
}

/** Why a batch is not the awslogs stream its task's container writes to (as AwslogsSink names it). */
function awslogsMismatch(spec: TaskSpec, batch: LogBatch): string | undefined {
  const configurations = spec.logConfigurations ?? {};
  const config =
    typeof batch.containerName === "string" && Object.hasOwn(configurations, batch.containerName) ? configurations[batch.containerName] : undefined;
  if (!config || config.logDriver !== "awslogs") return `container ${String(batch.containerName)} of the task has no awslogs log configuration`;
  const options = config.options ?? {};
  const prefix = options["awslogs-stream-prefix"];
  const stream = prefix ? `${prefix}/${batch.containerName}/${spec.taskId}` : `${batch.containerName}/${spec.taskId}`;
  if (options["awslogs-group"] !== batch.logGroupName || stream !== batch.logStreamName) return "the task's log configuration names another group or stream";
  if (batch.createGroup && options["awslogs-create-group"] !== "true") return "the task's log configuration does not create its group";
  return undefined;
}
