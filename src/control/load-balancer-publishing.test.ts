import { test } from "node:test";
import assert from "node:assert/strict";
import { fullyPublished, publishedPorts } from "./load-balancer-publishing.js";
import type { PublishingNode } from "./load-balancer-publishing.js";

const node = (arn: string, listeners: [port: number, createdAt: number][], internetFacing = true, eniId = `eni-${arn}`): PublishingNode => ({
  eniId,
  loadBalancerArn: arn,
  internetFacing,
  listeners: listeners.map(([port, createdAt]) => ({ arn: `${arn}/listener/${port}`, port, createdAt })),
});

test("a contested port goes to the oldest listener on it, whoever's load balancer was made first; internal ones never publish", () => {
  const older = node("lb-a", [[80, 10]]);
  // lb-b adds port 80 later, and 443 nobody else holds: it gets 443 only, lb-a keeps 80.
  const newer = node("lb-b", [
    [80, 20],
    [443, 5],
  ]);
  const internal = node("lb-c", [[8080, 1]], false);
  const published = publishedPorts([newer, older, internal]);
  assert.deepEqual(published.get("eni-lb-a"), [80]);
  assert.deepEqual(published.get("eni-lb-b"), [443]);
  assert.deepEqual(published.get("eni-lb-c"), []);
  assert.equal(fullyPublished(older, published), true);
  assert.equal(fullyPublished(newer, published), false, "a load balancer missing a port is not reported as published");
  assert.equal(fullyPublished(internal, published), false);
  assert.equal(fullyPublished(node("lb-d", []), publishedPorts([node("lb-d", [])])), false, "no listener: nothing to publish");
  // The order the nodes are listed in does not matter.
  assert.deepEqual([...publishedPorts([older, newer, internal])].sort(), [...published].sort());
});

test("a listener created later never takes a published port over", () => {
  const first = node("lb-a", [[80, 100]]);
  const before = publishedPorts([first]);
  const later = node("lb-b", [[80, 200]]);
  assert.deepEqual(publishedPorts([first, later]).get("eni-lb-a"), before.get("eni-lb-a"));
  // Ties (same instant) are broken by the listener's ARN, so every replica decides alike.
  const tie = publishedPorts([node("lb-y", [[80, 1]]), node("lb-x", [[80, 1]])]);
  assert.deepEqual(tie.get("eni-lb-x"), [80]);
});

test("two nodes of one load balancer on one host: the port is published once, through the first interface", () => {
  const second = node("lb-a", [[80, 1]], true, "eni-0000000000000000b");
  const first = node("lb-a", [[80, 1]], true, "eni-0000000000000000a");
  const published = publishedPorts([second, first]);
  assert.deepEqual(published.get("eni-0000000000000000a"), [80]);
  assert.deepEqual(published.get("eni-0000000000000000b"), []);
  assert.equal(fullyPublished(first, published), true);
  assert.equal(fullyPublished(second, published), false);
});
