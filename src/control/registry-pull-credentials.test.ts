import { test } from "node:test";
import assert from "node:assert/strict";
import type { TaskSpec } from "../protocol/index.js";
import { withCheckedPullCredentials, withRegistryPullCredentials } from "./registry-pull-credentials.js";

const role = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole";
const specWith = (images: string[], executionRoleArn?: string) =>
  ({
    taskArn: "arn:aws:ecs:us-east-1:123456789012:task/demo/t1",
    taskDefinition: { containerDefinitions: images.map((image, i) => ({ name: `c${i}`, image })) },
    credentials: executionRoleArn ? { executionRoleArn } : {},
  }) as unknown as TaskSpec;

const grants: { repositories: readonly string[]; roleArn: string }[] = [];
const issuer = {
  registryHosts: () => ["10.0.0.1:8470", "127.0.0.1:8470"],
  issue: (grant: { repositories: readonly string[]; roleArn: string }) => {
    grants.push(grant);
    return { username: "AWS", password: `secret-${grants.length}`, expiresAt: 42 };
  },
};

test("images in this server's registry get one credential per registry host, scoped to the task's repositories", () => {
  grants.length = 0;
  const spec = withRegistryPullCredentials(
    specWith(["10.0.0.1:8470/web:v1", "10.0.0.1:8470/team/api@sha256:" + "a".repeat(64), "nginx:latest", "127.0.0.1:8470/web", "10.0.0.1:8470/web:v2"], role),
    issuer,
  );
  assert.deepEqual(spec.credentials.registryAuth, [
    { registry: "10.0.0.1:8470", username: "AWS", password: "secret-1", expiresAtMs: 42 },
    { registry: "127.0.0.1:8470", username: "AWS", password: "secret-2", expiresAtMs: 42 },
  ]);
  assert.deepEqual(grants, [
    { repositories: ["team/api", "web"], roleArn: role },
    { repositories: ["web"], roleArn: role },
  ]);
  assert.equal(spec.credentials.executionRoleArn, role);
});

test("a task without an execution role, or without images of ours, gets no credential", () => {
  grants.length = 0;
  const noRole = specWith(["10.0.0.1:8470/web:v1"]);
  assert.equal(withRegistryPullCredentials(noRole, issuer), noRole);
  const foreign = specWith(["nginx", "10.0.0.2:8470/web:v1", "Not A Valid Ref"], role);
  assert.equal(withRegistryPullCredentials(foreign, issuer), foreign);
  assert.deepEqual(grants, []);
});

test("a task whose execution role may not start it is handed over without any credential", async () => {
  grants.length = 0;
  const spec = specWith(["10.0.0.1:8470/web:v1"], role);
  const refused = { failure: "ResourceInitializationError: …", unrestricted: false, logStreams: new Set<string>(), logGroupsToCreate: new Set<string>() };
  assert.equal(await withCheckedPullCredentials(spec, issuer, { grantFor: async () => refused }), spec);
  assert.deepEqual(grants, []);
  const allowed = await withCheckedPullCredentials(spec, issuer, { grantFor: async () => ({ ...refused, failure: undefined }) as never });
  assert.equal(allowed.credentials.registryAuth?.length, 1);
});
