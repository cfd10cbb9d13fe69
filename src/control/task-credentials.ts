// The control side of the agent protocol's `taskCredentials` call (src/protocol/task-credentials.ts):
// the task role's temporary credentials for one task, handed to the agent that runs it so that it
// serves them to that task's containers (the container credentials endpoint, src/endpoints).
//
// Who may have them: only the host the task is placed on, only while the task is not STOPPED (its
// desired status STOPPED too: a task being stopped needs no fresh identity), and only when its
// task definition names a taskRoleArn. The role itself (existence, trust in ecs-tasks.amazonaws.com)
// is the issuer's to check: it answers AccessDenied otherwise. Execution-role credentials never
// come this way: the agent uses those itself (pull credentials), never a container.
import { accessDeniedException } from "../core/errors.js";
import type { TaskCredentialsAnswer } from "../protocol/index.js";
import type { TasksRepository } from "../store/index.js";
import { placedTaskSpec } from "./placed-task-spec.js";

/** The issuer's contract (role-sessions.ts): credentials for the task's role, or an AccessDenied AwsError. */
export interface TaskRoleCredentialsIssuer {
  issueForTask(task: { readonly taskArn: string; readonly taskRoleArn: string }): Promise<TaskCredentialsAnswer>;
}

export interface TaskCredentialsOptions {
  readonly tasks: Pick<TasksRepository, "get">;
  readonly issuer: TaskRoleCredentialsIssuer;
}

export class TaskCredentials {
  constructor(private readonly options: TaskCredentialsOptions) {}

  async forHost(hostId: string, taskArn: string): Promise<TaskCredentialsAnswer> {
    const task = await this.options.tasks.get(taskArn);
    // One refusal for "no such task" and "another host's task": a host learns nothing of others.
    if (!task || task.hostId !== hostId) throw accessDeniedException(`Task ${taskArn} is not placed on host ${hostId}.`); // wording not confirmed (Berth's own)
    if (task.lastStatus === "STOPPED" || task.desiredStatus === "STOPPED") throw accessDeniedException(`Task ${taskArn} is stopped or stopping.`);
    const taskRoleArn = placedTaskSpec(task)?.taskDefinition.taskRoleArn;
    if (!taskRoleArn) throw accessDeniedException(`Task ${taskArn} has no task role.`);
    const issued = await this.options.issuer.issueForTask({ taskArn, taskRoleArn });
    // Only the fields the protocol carries, whatever else the issuer's object holds.
    return {
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiration: issued.expiration,
      roleArn: issued.roleArn,
    };
  }
}
