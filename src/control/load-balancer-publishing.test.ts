import { test } from "node:test";
import assert from "node:assert/strict";
import { fullyPublished, publishedPorts, relocateForPublishing } from "./load-balancer-publishing.js";
import type { HostRecord, NetworkInterfaceRecord, Repositories, SubnetRecord } from "../store/index.js";
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

test("a node is moved for publishing only to a host below the nodes-per-host cap", async () => {
  const arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0123456789abcdef";
  const moved: [string, string][] = [];
  const tx = {
    elbv2: {
      listListeners: async () => [{ arn: `${arn}/l`, loadBalancerArn: arn, port: 8080, createdAt: 1 }],
      listLoadBalancers: async () => [{ arn, loadBalancer: { Scheme: "internet-facing" } }],
    },
    networkInterfaces: { setHost: async (eniId: string, hostId: string) => void moved.push([eniId, hostId]) },
  } as unknown as Repositories;
  const eni = { eniId: "eni-0000000000000000a", description: "ELB x", subnetId: "subnet-a", hostId: "private" } as NetworkInterfaceRecord;
  const hosts = [{ hostId: "public", publicAddress: "10.99.0.1" }, { hostId: "private" }] as HostRecord[];
  const placement = (publicLoad: number) => ({
    hosts,
    subnets: [{ subnetId: "subnet-a", availabilityZone: "zone-a" }] as SubnetRecord[],
    zonesOf: () => new Set(["zone-a"]),
    describe: () => "ELB x",
    load: new Map([
      ["public", publicLoad],
      ["private", 1],
    ]),
    maxNodesPerHost: 32,
  });
  assert.deepEqual(await relocateForPublishing(tx, [eni], placement(32)), [], "a full public host takes no node");
  assert.deepEqual(moved, []);
  const room = placement(31);
  assert.deepEqual((await relocateForPublishing(tx, [eni], room)).sort(), ["private", "public"]);
  assert.deepEqual(moved, [["eni-0000000000000000a", "public"]]);
  assert.equal(room.load.get("public"), 32, "the move counts against the host");
});
