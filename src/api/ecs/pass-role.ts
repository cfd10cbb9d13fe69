// iam:PassRole (IAM User Guide, "Grant a user permissions to pass a role to an AWS service"): a
// caller that names a role for ECS to give its tasks (a task definition's taskRoleArn and
// executionRoleArn, RunTask's overrides of them, the task definition a service runs) must be
// allowed to pass it, with iam:PassedToService "ecs-tasks.amazonaws.com". Otherwise anyone who
// may register a task definition could run code with any role's permissions.
import type { RequestContext } from "../service-module.js";

const ECS_TASKS = "ecs-tasks.amazonaws.com";

/** The roles a task definition, or RunTask's overrides, name. */
export function namedRoles(
  ...sources: readonly ({ readonly taskRoleArn?: string | undefined; readonly executionRoleArn?: string | undefined } | undefined)[]
): string[] {
  const roles = new Set<string>();
  for (const source of sources) {
    if (source?.taskRoleArn) roles.add(source.taskRoleArn);
    if (source?.executionRoleArn) roles.add(source.executionRoleArn);
  }
  return [...roles];
}

/** Throws AccessDeniedException unless the caller may pass each role to ECS tasks. */
export async function authorizePassRole(call: Pick<RequestContext, "authorize"> | undefined, roles: readonly string[]): Promise<void> {
  const authorize = call?.authorize;
  if (authorize === undefined) return;
  for (const role of roles) await authorize({ action: "iam:PassRole", resources: [role], extra: { "iam:PassedToService": ECS_TASKS } });
}
