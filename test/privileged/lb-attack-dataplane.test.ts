// Attacker review of the load balancer data plane (commit 308ec88), on real nodes: `berth server`
// with its embedded agent, no tasks. Reproductions, written against the intended behaviour:
//
//   1. a target that is the node's own address: the node forwards each request to itself, over
//      and over (inside its own namespace, where no security group applies), so one client
//      request costs the node many connections
//   2. a network load balancer made without security groups: its node's interface has none, and
//      the VPC router drops everything to and from it: no client connects (one made with a group
//      that lets port 80 in does)
//
// Every address used is a load balancer node's, inside the default VPC the server's agent created,
// reached through its router's host link (checked before anything is sent).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { defaultNetwork } from "../../src/core/default-network.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { assertNoLeaks } from "../support/leaks.js";
import { waitFor } from "../support/wait-for.js";
import { assertRoutedToRouter, webSecurityGroup } from "../support/web-security-group.js";
import { haproxyProcesses, loadBalancerNodes } from "../support/load-balancer-fixtures.js";
import { loadBalancerNodeId } from "../../src/control/load-balancer-model-compile.js";

let server: TestServer;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let subnets: string[];
let vpcId: string;
const dataDir = mkdtempSync(join(tmpdir(), "berth-lb-attack-"));

before(async () => {
  server = await startTestServer({ agent: true, dataDir });
  ec2 = new EC2Client(sdkConfig(server));
  elb = new ElasticLoadBalancingV2Client(sdkConfig(server));
  const network = defaultNetwork({ accountId: server.accountId, region: server.region });
  subnets = network.subnets.map((subnet) => subnet.subnetId);
  vpcId = network.vpcId;
});

after(async () => {
  for (const loadBalancer of (await elb.send(new DescribeLoadBalancersCommand({})).catch(() => undefined))?.LoadBalancers ?? [])
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn! }));
  await waitFor(async () => haproxyProcesses() === 0, { what: "the nodes to stop", timeoutMs: 20_000 }).catch(() => undefined);
  await server.stop();
  await server.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
  assertNoLeaks();
});

/** The HAProxy `show info` of the node on interface `eniId` (its admin socket in the agent's state dir). */
function nodeInfo(eniId: string): Map<string, string> {
  const socket = join(dataDir, "agent", "load-balancers", loadBalancerNodeId(eniId), "admin.sock");
  let text = "";
  try {
    text = execFileSync("socat", ["-t", "2", "-", `UNIX-CONNECT:${socket}`], { input: "show info\n", encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] });
  } catch {
    return new Map(); // not running (yet)
  }
  return new Map(text.split("\n").flatMap((line) => (line.includes(": ") ? [line.split(": ", 2) as [string, string]] : [])));
}

/** Waits until the host routes `address` into a Berth router (the agent plugs the node in after its interface is made), then checks it. */
async function routed(address: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        assertRoutedToRouter(address);
        return true;
      } catch {
        return false;
      }
    },
    { what: `a route to ${address} into a Berth router`, timeoutMs: 30_000 },
  ).catch(() => undefined);
  assertRoutedToRouter(address);
}

/** Whether a TCP connection to address:port is established within timeoutMs. */
function connects(address: string, port: number, timeoutMs = 3_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

test("1. one request to a load balancer whose target is its own node costs the node one upstream connection, not a loop", { timeout: 120_000 }, async () => {
  const groupId = await webSecurityGroup(server, { groupName: "bth-test-lbattack" });
  const loadBalancerArn = (
    await elb.send(new CreateLoadBalancerCommand({ Name: "self", Type: "application", Subnets: subnets.slice(0, 2), SecurityGroups: [groupId] }))
  ).LoadBalancers![0]!.LoadBalancerArn!;
  // Its health check path is answered by a rule of the node itself, so the target (the node) passes.
  const targetGroupArn = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: "self",
        Protocol: "HTTP",
        Port: 80,
        TargetType: "ip",
        VpcId: vpcId,
        HealthCheckPath: "/hc",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  const listenerArn = (
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancerArn,
        Protocol: "HTTP",
        Port: 80,
        DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
      }),
    )
  ).Listeners![0]!.ListenerArn!;
  await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 1,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/hc"] } }],
      Actions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200", ContentType: "text/plain", MessageBody: "ok" } }],
    }),
  );
  const { address, eniId } = (await loadBalancerNodes(ec2, loadBalancerArn, 2))[0]!;
  await routed(address);
  let registered = true;
  try {
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [{ Id: address, Port: 80 }] }));
  } catch {
    registered = false; // refusing the node's own address is the fix
  }
  if (!registered) return;
  // Wait until the node's health checks find the target (itself) healthy.
  await waitFor(
    async () =>
      (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions?.[0]?.TargetHealth?.State === "healthy",
    { what: "the node's own address to pass its health checks", timeoutMs: 60_000, intervalMs: 500 },
  );
  const before = Number(nodeInfo(eniId).get("CumConns"));
  const started = Date.now();
  const status = await fetch(`http://${address}/`, { signal: AbortSignal.timeout(30_000) })
    .then((response) => response.status)
    .catch((error: Error) => error.message);
  const elapsed = Date.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const after = Number(nodeInfo(eniId).get("CumConns"));
  const cost = after - before;
  console.log(`one request to ${address}: answer ${status} after ${elapsed} ms; the node accepted ${cost} connections for it`);
  assert.ok(cost <= 2, `one client request made the node accept ${cost} connections (it forwards to itself): answer ${status} after ${elapsed} ms`);
});

test("2. a network load balancer made without security groups takes connections as one with a group that lets them in does", { timeout: 120_000 }, async () => {
  const groupId = await webSecurityGroup(server, { groupName: "bth-test-lbattack" });
  const make = async (name: string, groups?: string[]) => {
    const arn = (
      await elb.send(new CreateLoadBalancerCommand({ Name: name, Type: "network", Subnets: [subnets[0]!], ...(groups ? { SecurityGroups: groups } : {}) }))
    ).LoadBalancers![0]!.LoadBalancerArn!;
    const tg = (await elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: "TCP", Port: 80, TargetType: "ip", VpcId: vpcId }))).TargetGroups![0]!
      .TargetGroupArn!;
    await elb.send(new CreateListenerCommand({ LoadBalancerArn: arn, Protocol: "TCP", Port: 80, DefaultActions: [{ Type: "forward", TargetGroupArn: tg }] }));
    const [node] = await loadBalancerNodes(ec2, arn, 1);
    return { arn, ...node! };
  };
  const withGroup = await make("nlb-group", [groupId]);
  const without = await make("nlb-none");
  for (const node of [withGroup, without]) await routed(node.address);
  await waitFor(async () => connects(withGroup.address, 80), { what: "the node with a group to take a connection", timeoutMs: 30_000 });
  // The node without groups: up (its HAProxy runs), but can a client reach it?
  await waitFor(async () => nodeInfo(without.eniId).has("CumConns"), { what: "the groupless node to run", timeoutMs: 30_000 });
  assert.equal(
    await connects(without.address, 80, 5_000),
    true,
    `no connection reaches ${without.address}: its interface has no security group and the router drops all`,
  );
});
