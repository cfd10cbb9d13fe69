import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson } from "../canonical-json.js";
import { createServiceDigest } from "./create-service-digest.js";

const clusterArn = "arn:aws:ecs:us-east-1:123456789012:cluster/demo";
const request = {
  cluster: "demo",
  serviceName: "web",
  taskDefinition: "web:1",
  desiredCount: 2,
  networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"], assignPublicIp: "DISABLED" as const } },
  tags: [{ key: "team", value: "a" }],
};

test("canonical JSON sorts keys at every depth, keeps array order and drops undefined members", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } }), '{"a":{"d":[2,1]},"b":1}');
  assert.equal(canonicalJson({ a: { c: 1, b: 2 } }), canonicalJson({ a: { b: 2, c: 1 } }));
});

test("the same request digests the same whatever its clientToken, member order or cluster reference", () => {
  const digest = createServiceDigest({ ...request, clientToken: "one" }, clusterArn);
  assert.match(digest, /^[0-9a-f]{64}$/);
  assert.equal(createServiceDigest({ clientToken: "two", ...request }, clusterArn), digest);
  assert.equal(createServiceDigest({ ...request, cluster: clusterArn, desiredCount: 2 }, clusterArn), digest);
  assert.equal(createServiceDigest({ ...request, platformVersion: undefined }, clusterArn), digest);
});

test("any meaningful difference changes the digest", () => {
  const digest = createServiceDigest(request, clusterArn);
  for (const other of [
    { ...request, taskDefinition: "web:2" },
    { ...request, desiredCount: 3 },
    { ...request, tags: [{ key: "team", value: "b" }] },
    { ...request, networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1", "subnet-2"] } } },
    { ...request, propagateTags: "SERVICE" as const },
  ]) {
    assert.notEqual(createServiceDigest(other, clusterArn), digest, JSON.stringify(other));
  }
});
