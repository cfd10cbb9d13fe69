import { test } from "node:test";
import assert from "node:assert/strict";
import { handedOverCredentials } from "./image-adapter.js";

const credentials = {
  executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  registryAuth: [{ registry: "Build-1:8470", username: "AWS", password: "v1.p.s", expiresAtMs: 1 }],
};

test("the handed-over credential is used for images of its registry only", () => {
  assert.deepEqual(handedOverCredentials("build-1:8470/web:v1", credentials), { username: "AWS", password: "v1.p.s" });
  assert.deepEqual(handedOverCredentials("build-1:8470/team/api@sha256:" + "b".repeat(64), credentials), { username: "AWS", password: "v1.p.s" });
  assert.equal(handedOverCredentials("build-2:8470/web:v1", credentials), undefined);
  assert.equal(handedOverCredentials("nginx:latest", credentials), undefined);
  assert.equal(handedOverCredentials("Not a reference", credentials), undefined);
  assert.equal(handedOverCredentials("build-1:8470/web:v1", { executionRoleArn: credentials.executionRoleArn }), undefined);
});
