// TaskCredentials.forHost: who may have a task's role credentials (only the host it is placed on,
// only while it is neither stopped nor stopping, only with a task role), and that the answer holds
// the protocol's fields and nothing else of what the issuer returned. The store and the issuer are
// fakes here; the issuer (RoleSessions) and the whole path have their own tests
// (test/privileged/task-endpoints.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { StoredTask as TaskRecord } from "../store/index.js";
import type { TaskCredentialsAnswer } from "../protocol/index.js";
import { accessDeniedException } from "../core/errors.js";
import { TaskCredentials } from "./task-credentials.js";

const ARN = "arn:aws:ecs:us-east-1:123456789012:task/demo/0123456789abcdef0123456789abcdef";
const ROLE = "arn:aws:iam::123456789012:role/app";

function record(change: { hostId?: string; lastStatus?: string; desiredStatus?: string; taskRoleArn?: string | null } = {}): TaskRecord {
  const taskRoleArn = change.taskRoleArn === null ? undefined : (change.taskRoleArn ?? ROLE);
  return {
    taskArn: ARN,
    hostId: change.hostId ?? "h1",
    lastStatus: change.lastStatus ?? "RUNNING",
    desiredStatus: change.desiredStatus ?? "RUNNING",
    spec: { taskArn: ARN, taskDefinition: taskRoleArn === undefined ? {} : { taskRoleArn } },
  } as unknown as TaskRecord;
}

/** An issuer that answers more than the protocol carries (as RoleSessions' session object might), and records what it was asked. */
function issuer(fail?: Error) {
  const asked: { taskArn: string; taskRoleArn: string }[] = [];
  return {
    asked,
    async issueForTask(task: { taskArn: string; taskRoleArn: string }) {
      asked.push(task);
      if (fail) throw fail;
      const issued: TaskCredentialsAnswer & Record<string, unknown> = {
        accessKeyId: "ASIAEXAMPLEEXAMPLE01",
        secretAccessKey: "secret",
        sessionToken: "token",
        expiration: 1_900_000_000_000,
        roleArn: ROLE,
        tokenSha256: "ff".repeat(32),
        identity: { kind: "role-session" },
      };
      return issued;
    },
  };
}

const credentialsFor = (task: TaskRecord | undefined, fake = issuer()) => ({
  fake,
  credentials: new TaskCredentials({ tasks: { get: async (arn: string) => (arn === task?.taskArn ? task : undefined) }, issuer: fake }),
});

const denied = (pattern: RegExp) => (error: Error & { code?: string; httpStatus?: number }) => {
  assert.equal(error.code, "AccessDeniedException");
  assert.equal(error.httpStatus, 403);
  assert.match(error.message, pattern);
  return true;
};

test("the host a running task with a task role is placed on gets the protocol's five fields, nothing more of the issuer's", async () => {
  const { fake, credentials } = credentialsFor(record());
  const answer = await credentials.forHost("h1", ARN);
  assert.deepEqual(answer, {
    accessKeyId: "ASIAEXAMPLEEXAMPLE01",
    secretAccessKey: "secret",
    sessionToken: "token",
    expiration: 1_900_000_000_000,
    roleArn: ROLE,
  });
  assert.deepEqual(fake.asked, [{ taskArn: ARN, taskRoleArn: ROLE }], "the issuer is asked for the task's own role");
});

test("another host's task and an unknown task get one and the same refusal, and the issuer is never asked", async () => {
  const { fake, credentials } = credentialsFor(record({ hostId: "h2" }));
  await assert.rejects(credentials.forHost("h1", ARN), denied(/^Task .* is not placed on host h1\.$/));
  const other = "arn:aws:ecs:us-east-1:123456789012:task/demo/ffffffffffffffffffffffffffffffff";
  await assert.rejects(credentials.forHost("h1", other), denied(/^Task .* is not placed on host h1\.$/));
  // A host id naming no host, or another host's id spelled differently, is no better.
  await assert.rejects(credentials.forHost("", ARN), denied(/is not placed on host/));
  await assert.rejects(credentials.forHost("H2", ARN), denied(/is not placed on host/));
  assert.deepEqual(fake.asked, []);
});

test("a stopped task and a stopping one (desired STOPPED, still RUNNING) are refused", async () => {
  for (const change of [{ lastStatus: "STOPPED", desiredStatus: "STOPPED" }, { lastStatus: "RUNNING", desiredStatus: "STOPPED" }, { lastStatus: "STOPPED" }]) {
    const { fake, credentials } = credentialsFor(record(change));
    await assert.rejects(credentials.forHost("h1", ARN), denied(/is stopped or stopping/), JSON.stringify(change));
    assert.deepEqual(fake.asked, []);
  }
});

test("a task without a task role is refused (an execution role never comes this way)", async () => {
  const { fake, credentials } = credentialsFor(record({ taskRoleArn: null }));
  await assert.rejects(credentials.forHost("h1", ARN), denied(/has no task role/));
  const withExecutionRoleOnly = record({ taskRoleArn: null });
  (withExecutionRoleOnly.spec as { taskDefinition: Record<string, unknown> }).taskDefinition.executionRoleArn = ROLE;
  await assert.rejects(credentialsFor(withExecutionRoleOnly, fake).credentials.forHost("h1", ARN), denied(/has no task role/));
  const withoutSpec = { ...record(), spec: undefined } as TaskRecord;
  await assert.rejects(credentialsFor(withoutSpec, fake).credentials.forHost("h1", ARN), denied(/has no task role/));
  assert.deepEqual(fake.asked, []);
});

test("the issuer's refusal (a role that does not trust ecs-tasks.amazonaws.com) reaches the agent as it is", async () => {
  const refusal = accessDeniedException(`ecs-tasks.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`);
  const { credentials } = credentialsFor(record(), issuer(refusal));
  await assert.rejects(credentials.forHost("h1", ARN), (error) => error === refusal);
});
