// What a task's execution role lets the platform do for it, decided once per task at its start:
// pull its images from this server's own registry (as Fargate pulls from ECR with the role) and
// deliver its awslogs lines. Without this, a caller allowed only RunTask and iam:PassRole on a
// powerless role could run an image of a repository it is denied, or write into any log group.
//
// Checked (the role's identity policies, RolePermissionCheck.roleMay, explicit deny wins):
//   images of this registry  ecr:GetAuthorizationToken on "*", ecr:BatchGetImage and
//                            ecr:GetDownloadUrlForLayer on arn:…:ecr:<region>:<account>:repository/<name>,
//                            with the repository's policy (SetRepositoryPolicy): its Deny refuses,
//                            its Allow grants a role without identity permission for the repository
//   awslogs                  logs:CreateLogStream and logs:PutLogEvents on the stream's ARN
//                            (arn:…:log-group:<group>:log-stream:<stream>), logs:CreateLogGroup on the
//                            group's ARN when awslogs-create-group is "true"
// The same decision serves the three places that act on it: the `secrets` call (the agent asks it
// before any pull; its failure is the task's ResourceInitializationError), the hand-over (no pull
// credential for a task that may not pull) and log ingest (no batch of a task that may not write).
//
// Only tasks whose spec says so are checked (credentials.checkExecutionRole: launched by a caller
// other than the account's root): the root key may read every repository and write every group
// itself, so its tasks keep running with whatever execution role they name, existing or not.
//
// The decision is kept in this replica's memory for the task's life (bounded): log batches do not
// cost a policy evaluation each. Another replica decides afresh, the same way, when it first needs to.
import type { AccountScope } from "../core/arn.js";
import { buildArn } from "../core/arn.js";
import { ownRegistryRepositories } from "./registry-pull-credentials.js";
import type { TaskSpec } from "../protocol/index.js";
import type { RolePermissionCheck } from "./authorizer.js";

/** The task may start; its pulls and log streams are those listed. */
export interface ExecutionRoleGrant {
  /** Why the task may not start (Fargate's ResourceInitializationError text), or undefined. */
  readonly failure?: string;
  /** Whether every check passed or none applied (root-launched): then the lists below are not consulted. */
  readonly unrestricted: boolean;
  /** "<group>\0<stream>" the task may write. */
  readonly logStreams: ReadonlySet<string>;
  /** Groups the task may create. */
  readonly logGroupsToCreate: ReadonlySet<string>;
}

export interface ExecutionRoleGrantsOptions {
  readonly permissions: RolePermissionCheck;
  /** The host[:port] names under which images reach this server's registry. */
  readonly registryHosts: () => readonly string[];
  readonly scope: AccountScope;
  /** A repository's policy by name, undefined when it has none. */
  readonly repositoryPolicyOf?: (name: string) => Promise<string | undefined>;
}

const MAX_CACHED_TASKS = 10_000;
/** One question for the role: an action, the resource, and that resource's own policy if it has one. */
type Check = readonly [action: string, resource: string, resourcePolicy?: string];
const UNRESTRICTED: ExecutionRoleGrant = { unrestricted: true, logStreams: new Set(), logGroupsToCreate: new Set() };

// The Fargate agent's texts as users report them (AccessDenied after "…: AccessDeniedException: ").
// Berth makes no network call and does not retry, so "service call has been retried N time(s)" and
// the "status code: 400, request id" tail are left out, as in task-secrets.ts.
const ECR_AUTH =
  "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: ";
const LOGGER = "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: ";

export class ExecutionRoleGrants {
  private readonly decided = new Map<string, Promise<ExecutionRoleGrant>>();

  constructor(private readonly options: ExecutionRoleGrantsOptions) {}

  /** The task's grant, decided at the first ask and kept (a failed evaluation is not kept: the next ask decides again). */
  grantFor(spec: TaskSpec): Promise<ExecutionRoleGrant> {
    if (spec.credentials.checkExecutionRole !== true) return Promise.resolve(UNRESTRICTED);
    const cached = this.decided.get(spec.taskArn);
    if (cached) return cached;
    // Oldest first out: a bound on memory, not a policy; an evicted task is decided again.
    if (this.decided.size >= MAX_CACHED_TASKS) this.decided.delete(this.decided.keys().next().value as string);
    const decision = this.decide(spec);
    this.decided.set(spec.taskArn, decision);
    decision.catch(() => this.decided.delete(spec.taskArn));
    return decision;
  }

  /** The repositories of this server's registry that the task's images name, by registry host as the images spell it. */
  ownRepositories(spec: TaskSpec): Map<string, Set<string>> {
    return ownRegistryRepositories(spec, this.options.registryHosts());
  }

  private async decide(spec: TaskSpec): Promise<ExecutionRoleGrant> {
    const role = spec.credentials.executionRoleArn;
    const repositories = new Set([...this.ownRepositories(spec).values()].flatMap((names) => [...names]));
    const logs = awslogsTargets(spec);
    const denied = (failure: string): ExecutionRoleGrant => ({ failure, unrestricted: false, logStreams: new Set(), logGroupsToCreate: new Set() });
    if (repositories.size > 0) {
      // RegisterTaskDefinition requires the role for awslogs; nothing requires it for our images there (yet).
      if (!role) return denied(`${ECR_AUTH}the task definition has no executionRoleArn to pull images from this registry with`); // wording not confirmed
      const checks: Check[] = [["ecr:GetAuthorizationToken", "*"]];
      for (const name of [...repositories].sort()) {
        const arn = buildArn(this.options.scope, "ecr", `repository/${name}`);
        const policy = await this.options.repositoryPolicyOf?.(name);
        checks.push(["ecr:BatchGetImage", arn, policy], ["ecr:GetDownloadUrlForLayer", arn, policy]);
      }
      const refusal = await this.firstRefusal(role, spec.taskId, checks);
      // The GetAuthorizationToken text is Fargate's; a repository's BatchGetImage/GetDownloadUrlForLayer
      // is refused by ECR at the pull there (CannotPullContainerError, 403): here before it, in the same form.
      if (refusal) return denied(`${ECR_AUTH}AccessDeniedException: ${refusal}`);
    }
    const logStreams = new Set<string>();
    const logGroupsToCreate = new Set<string>();
    for (const target of logs) {
      if (!role) return denied(`${LOGGER}failed to create Cloudwatch log stream: the task definition has no executionRoleArn`); // wording not confirmed
      const groupArn = buildArn(this.options.scope, "logs", `log-group:${target.group}`);
      if (target.createGroup) {
        const refusal = await this.firstRefusal(role, spec.taskId, [["logs:CreateLogGroup", groupArn]]);
        if (refusal) return denied(`${LOGGER}failed to create Cloudwatch log group: AccessDeniedException: ${refusal}`); // wording not confirmed ("log group")
        logGroupsToCreate.add(target.group);
      }
      const streamArn = `${groupArn}:log-stream:${target.stream}`;
      const refusal = await this.firstRefusal(role, spec.taskId, [
        ["logs:CreateLogStream", streamArn],
        ["logs:PutLogEvents", streamArn],
      ]);
      if (refusal) return denied(`${LOGGER}failed to create Cloudwatch log stream: AccessDeniedException: ${refusal}`);
      logStreams.add(`${target.group}\0${target.stream}`);
    }
    return { unrestricted: false, logStreams, logGroupsToCreate };
  }

  /** IAM's message for the first of `checks` the role may not do, in order; undefined when it may do them all. */
  private async firstRefusal(role: string, sessionName: string, checks: readonly Check[]): Promise<string | undefined> {
    for (const [action, resource, resourcePolicy] of checks) {
      const decision =
        resourcePolicy === undefined
          ? await this.options.permissions.roleMay(role, action, resource, sessionName)
          : await this.options.permissions.roleMay(role, action, resource, sessionName, resourcePolicy);
      if (!decision.allowed) return decision.message;
    }
    return undefined;
  }
}

/** The awslogs group and stream of each container, as the agent's AwslogsSink names them and log-ingest.ts checks them. */
export function awslogsTargets(spec: TaskSpec): { readonly group: string; readonly stream: string; readonly createGroup: boolean }[] {
  const targets: { group: string; stream: string; createGroup: boolean }[] = [];
  for (const [container, config] of Object.entries(spec.logConfigurations ?? {})) {
    if (!config || config.logDriver !== "awslogs") continue;
    const options = config.options ?? {};
    const group = options["awslogs-group"];
    if (group === undefined) continue; // refused at registration; nothing is shipped without it
    const prefix = options["awslogs-stream-prefix"];
    targets.push({
      group,
      stream: prefix ? `${prefix}/${container}/${spec.taskId}` : `${container}/${spec.taskId}`,
      createGroup: options["awslogs-create-group"] === "true",
    });
  }
  return targets;
}
