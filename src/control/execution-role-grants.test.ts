import { test } from "node:test";
import assert from "node:assert/strict";
import type { TaskSpec } from "../protocol/index.js";
import type { RoleDecision, RolePermissionCheck } from "./authorizer.js";
import { ExecutionRoleGrants } from "./execution-role-grants.js";

const ROLE = "arn:aws:iam::123456789012:role/exec";
const SCOPE = { partition: "aws", region: "us-east-1", accountId: "123456789012" };
const REPO_ARN = "arn:aws:ecr:us-east-1:123456789012:repository/team/web";
const STREAM_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:log-stream:ecs/app/t1";

/** A fake role check: allowed "action resource" pairs; every question is recorded. */
function permissions(allowed: readonly string[]): RolePermissionCheck & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async roleMay(roleArn, action, resource, sessionName): Promise<RoleDecision> {
      asked.push(`${action} ${resource}`);
      if (allowed.includes(`${action} ${resource}`)) return { allowed: true };
      const session = `arn:aws:sts::123456789012:assumed-role/${roleArn.split("/").pop()}/${sessionName}`;
      return { allowed: false, message: `User: ${session} is not authorized to perform: ${action} on resource: ${resource}` };
    },
  };
}

function spec(options: { images?: string[]; awslogs?: Record<string, string>; check?: boolean; role?: string | null; taskArn?: string }): TaskSpec {
  const images = options.images ?? ["127.0.0.1:8470/team/web:v1"];
  return {
    taskArn: options.taskArn ?? "arn:aws:ecs:us-east-1:123456789012:task/c/t1",
    taskId: "t1",
    region: "us-east-1",
    taskDefinition: { containerDefinitions: images.map((image, i) => ({ name: i === 0 ? "app" : `c${i}`, image })) },
    logConfigurations: options.awslogs ? { app: { logDriver: "awslogs", options: options.awslogs } } : {},
    credentials: {
      ...(options.role === null ? {} : { executionRoleArn: options.role ?? ROLE }),
      ...(options.check === false ? {} : { checkExecutionRole: true }),
    },
  } as unknown as TaskSpec;
}

const grants = (check: RolePermissionCheck) => new ExecutionRoleGrants({ permissions: check, registryHosts: () => ["127.0.0.1:8470"], scope: SCOPE });
const PULL = ["ecr:GetAuthorizationToken *", `ecr:BatchGetImage ${REPO_ARN}`, `ecr:GetDownloadUrlForLayer ${REPO_ARN}`];
const LOGS = [`logs:CreateLogStream ${STREAM_ARN}`, `logs:PutLogEvents ${STREAM_ARN}`];
const AWSLOGS = { "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs", "awslogs-region": "us-east-1" };

test("a task launched by the root is not checked: no question is asked, whatever its role", async () => {
  const check = permissions([]);
  const grant = await grants(check).grantFor(spec({ check: false, role: "arn:aws:iam::123456789012:role/does-not-exist", awslogs: AWSLOGS }));
  assert.equal(grant.failure, undefined);
  assert.equal(grant.unrestricted, true);
  assert.deepEqual(check.asked, []);
});

test("a role without ecr:GetAuthorizationToken: Fargate's ResourceInitializationError naming the assumed-role session", async () => {
  const grant = await grants(permissions([])).grantFor(spec({}));
  assert.equal(
    grant.failure,
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: " +
      "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/exec/t1 is not authorized to perform: ecr:GetAuthorizationToken on resource: *",
  );
});

test("each repository of this registry needs BatchGetImage and GetDownloadUrlForLayer on its own ARN; other registries are not asked about", async () => {
  const denied = await grants(permissions(PULL.slice(0, 2))).grantFor(spec({ images: ["127.0.0.1:8470/team/web:v1", "docker.io/library/nginx:1"] }));
  assert.match(
    denied.failure ?? "",
    /not authorized to perform: ecr:GetDownloadUrlForLayer on resource: arn:aws:ecr:us-east-1:123456789012:repository\/team\/web$/,
  );
  const check = permissions(PULL);
  const allowed = await grants(check).grantFor(spec({ images: ["127.0.0.1:8470/team/web:v1", "docker.io/library/nginx:1", "NOT a ref"] }));
  assert.equal(allowed.failure, undefined);
  assert.deepEqual(check.asked, PULL);
  // A repository allowed does not stand for another one of the same task.
  const other = await grants(permissions(PULL)).grantFor(spec({ images: ["127.0.0.1:8470/team/web:v1", "127.0.0.1:8470/secret/db:v1"] }));
  assert.match(other.failure ?? "", /ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:123456789012:repository\/secret\/db$/);
});

test("an image of this registry without any execution role fails the task (no credential could be issued)", async () => {
  const grant = await grants(permissions(PULL)).grantFor(spec({ role: null }));
  assert.match(grant.failure ?? "", /^ResourceInitializationError: .*no executionRoleArn/);
});

test("awslogs: CreateLogStream and PutLogEvents on the stream's ARN, CreateLogGroup on the group's only when the task creates it", async () => {
  const denied = await grants(permissions([...PULL, LOGS[0]!])).grantFor(spec({ awslogs: AWSLOGS }));
  assert.equal(
    denied.failure,
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: " +
      `AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/exec/t1 is not authorized to perform: logs:PutLogEvents on resource: ${STREAM_ARN}`,
  );
  const allowed = await grants(permissions([...PULL, ...LOGS])).grantFor(spec({ awslogs: AWSLOGS }));
  assert.equal(allowed.failure, undefined);
  assert.deepEqual([...allowed.logStreams], ["/ecs/web\0ecs/app/t1"]);
  assert.deepEqual([...allowed.logGroupsToCreate], []);
  const creating = { ...AWSLOGS, "awslogs-create-group": "true" };
  const noCreate = await grants(permissions([...PULL, ...LOGS])).grantFor(spec({ awslogs: creating }));
  assert.match(
    noCreate.failure ?? "",
    /failed to create Cloudwatch log group: AccessDeniedException: .*logs:CreateLogGroup on resource: arn:aws:logs:us-east-1:123456789012:log-group:\/ecs\/web$/,
  );
  const withCreate = await grants(permissions([...PULL, ...LOGS, "logs:CreateLogGroup arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web"])).grantFor(
    spec({ awslogs: creating }),
  );
  assert.deepEqual([...withCreate.logGroupsToCreate], ["/ecs/web"]);
});

test("a group name made to look like another stream's ARN part is checked as its whole ARN", async () => {
  // "/ecs/web:log-stream:x" as a group: the ARN asked about carries the whole name, never a shorter one.
  const check = permissions([]);
  await grants(check).grantFor(spec({ images: [], awslogs: { "awslogs-group": "/ecs/web:log-stream:x", "awslogs-stream-prefix": "ecs" } }));
  assert.deepEqual(check.asked, ["logs:CreateLogStream arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:log-stream:x:log-stream:ecs/app/t1"]);
});

test("the decision is made once per task and kept; a failed evaluation is not kept", async () => {
  const check = permissions(PULL);
  const owner = grants(check);
  await owner.grantFor(spec({}));
  await owner.grantFor(spec({}));
  assert.equal(check.asked.length, 3);
  let calls = 0;
  const flaky = grants({
    async roleMay() {
      calls += 1;
      if (calls === 1) throw new Error("store down");
      return { allowed: true };
    },
  });
  await assert.rejects(flaky.grantFor(spec({})), /store down/);
  assert.equal((await flaky.grantFor(spec({}))).failure, undefined);
});

test("a repository's policy goes with its pull questions: the role check is handed it, repository by repository", async () => {
  const asked: (string | undefined)[] = [];
  const check: RolePermissionCheck = {
    async roleMay(_roleArn, action, resource, _sessionName, resourcePolicy): Promise<RoleDecision> {
      asked.push(`${action} ${resource} ${resourcePolicy ?? "-"}`);
      // A repository policy denying the role refuses, whatever the identity policies say.
      if (resourcePolicy?.includes("Deny")) return { allowed: false, message: `denied on ${resource} with an explicit deny in a resource-based policy` };
      return { allowed: true };
    },
  };
  const policies = new Map([["team/web", '{"Statement":[{"Effect":"Deny"}]}']]);
  const withPolicies = new ExecutionRoleGrants({
    permissions: check,
    registryHosts: () => ["127.0.0.1:8470"],
    scope: SCOPE,
    repositoryPolicyOf: async (name) => policies.get(name),
  });
  const refused = await withPolicies.grantFor(spec({ images: ["127.0.0.1:8470/open:v1", "127.0.0.1:8470/team/web:v1"] }));
  assert.match(refused.failure ?? "", /explicit deny in a resource-based policy/);
  const openArn = "arn:aws:ecr:us-east-1:123456789012:repository/open";
  assert.deepEqual(asked, [
    "ecr:GetAuthorizationToken * -",
    `ecr:BatchGetImage ${openArn} -`,
    `ecr:GetDownloadUrlForLayer ${openArn} -`,
    `ecr:BatchGetImage ${REPO_ARN} {"Statement":[{"Effect":"Deny"}]}`,
  ]);
});
