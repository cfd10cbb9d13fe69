// VPCs as routing domains (src/network/vpc-routers.ts): two VPCs with the same CIDR on one host,
// with the same task addresses in each, stay apart; two subnets of one VPC route to each other
// through the VPC's router; each reaches the metadata endpoint 169.254.170.2 in its own router,
// which sees the task's own (overlapping) address. The "host" is a namespace this file creates.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostFirewall, TaskNetworks } from "../../src/network/index.js";
import type { TaskAttachment } from "../../src/network/index.js";
import type { TaskNetworkSpec } from "../../src/protocol/task-spec.js";
import { exec, group, listenIn, makeHost, pings, probe, rule, taskInterface, viewOf } from "../support/dataplane.js";
import type { TestHost } from "../support/dataplane.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { TestEndpointListeners } from "../support/endpoint-listeners.js";

const leaksBefore = new Set(findLeaks());
const stateDir = mkdtempSync(join(tmpdir(), "berth-vpcs-"));
const one = { vpcId: "vpc-0e1", vpcCidr: "10.0.0.0/16", vni: 7301 };
const two = { vpcId: "vpc-0e2", vpcCidr: "10.0.0.0/16", vni: 7302 };
const specs: Record<string, TaskNetworkSpec> = {
  oneA: taskInterface({ ...one, subnetId: "subnet-0e11", subnetCidr: "10.0.1.0/24", host: 4, groups: ["sg-0e1"] }),
  oneB: taskInterface({ ...one, subnetId: "subnet-0e12", subnetCidr: "10.0.2.0/24", host: 4, groups: ["sg-0e1"] }),
  twoA: taskInterface({ ...two, subnetId: "subnet-0e21", subnetCidr: "10.0.1.0/24", host: 4, groups: ["sg-0e2"] }),
  twoB: taskInterface({ ...two, subnetId: "subnet-0e21", subnetCidr: "10.0.1.0/24", host: 5, groups: ["sg-0e2"] }),
};
const children: ChildProcess[] = [];
const tasks: Record<string, TaskAttachment> = {};
let host: TestHost;
let networks: TaskNetworks;
const endpoints = new TestEndpointListeners();

before(async () => {
  host = await makeHost("bthtvpc-host");
  networks = new TaskNetworks({
    stateDir,
    region: "us-east-1",
    run: host.run,
    firewall: new HostFirewall({ stateDir, run: host.run, ipForward: "off" }),
    endpointListeners: endpoints,
  });
  await networks.start();
  for (const [name, spec] of Object.entries(specs)) tasks[name] = await networks.attach(`vpc-${name}-aaaaaaaaaaaa`, spec);
  await networks.applyView(
    viewOf(
      Object.entries(specs).map(([name, spec]) => ({ taskId: `vpc-${name}-aaaaaaaaaaaa`, spec })),
      [
        group("sg-0e1", one.vpcId, [rule("all", -1, -1, { groupIds: ["sg-0e1"] })]),
        group("sg-0e2", two.vpcId, [rule("all", -1, -1, { groupIds: ["sg-0e2"] })]),
      ],
    ),
  );
  children.push(await listenIn(tasks.oneA!.netnsName, 80, "oneA"), await listenIn(tasks.twoA!.netnsName, 80, "twoA"));
});

after(async () => {
  for (const child of children) child.kill();
  await endpoints.closeAll();
  try {
    await networks?.removeEverything();
  } finally {
    await host?.remove();
    rmSync(stateDir, { recursive: true, force: true });
  }
  assertNoNewLeaks(leaksBefore);
});

test("two VPCs with the same CIDR and the same task addresses stay apart: each address reaches its own VPC's task", async () => {
  assert.equal(tasks.oneA!.ipv4, tasks.twoA!.ipv4, "the same address in both");
  assert.notEqual(tasks.oneA!.routerNetns, tasks.twoA!.routerNetns, "a router each");
  assert.equal(await probe(tasks.twoB!.netnsName, "10.0.1.4", 80), "open-twoA", "VPC two's 10.0.1.4 is its own");
  assert.equal(await probe(tasks.oneB!.netnsName, "10.0.1.4", 80), "open-oneA", "VPC one's 10.0.1.4 is its own");
  assert.equal(await pings(tasks.twoB!.netnsName, tasks.oneB!.ipv4), false, "VPC one's 10.0.2.4 does not exist in VPC two");
  // Each router's uplink has its own /30; the host holds both and routes nothing between them.
  const addresses = await host.run("ip", ["-4", "-o", "addr", "show"]);
  assert.equal([...addresses.matchAll(/inet 169\.254\.\d+\.\d+\/30/g)].length, 2);
  assert.doesNotMatch(await host.run("ip", ["route"]), /10\.0\./, "no VPC address is routed in the host (neither is the default one)");
});

test("two subnets of one VPC route to each other through the VPC's router", async () => {
  assert.equal(await probe(tasks.oneB!.netnsName, tasks.oneA!.ipv4, 80), "open-oneA");
  assert.equal(await pings(tasks.oneA!.netnsName, tasks.oneB!.ipv4), true);
  const gateways = await exec("ip", ["-n", tasks.oneA!.routerNetns, "-4", "-o", "addr", "show", "dev", "lo"]);
  assert.match(gateways, /10\.0\.1\.1\/32/);
  assert.match(gateways, /10\.0\.2\.1\/32/);
});

test("tasks of both VPCs reach the metadata endpoint in their own router, which sees their own (same) address; the host has no such address", async () => {
  assert.equal(await probe(tasks.oneA!.netnsName, "169.254.170.2", 80), `open-metadata-${one.vpcId}-10.0.1.4`);
  assert.equal(await probe(tasks.twoA!.netnsName, "169.254.170.2", 80), `open-metadata-${two.vpcId}-10.0.1.4`);
  assert.equal(await probe(tasks.twoB!.netnsName, "169.254.170.2", 80), `open-metadata-${two.vpcId}-10.0.1.5`);
  assert.doesNotMatch(await host.run("ip", ["-4", "-o", "addr", "show"]), /169\.254\.170\.2/);
});

test("the default VPC's CIDR is routed from the host to its router: the machine reaches its tasks through their groups; the other VPC stays unreachable", async () => {
  const interfaces = Object.entries(specs).map(([name, spec]) => ({ taskId: `vpc-${name}-aaaaaaaaaaaa`, spec }));
  const vpcs = (oneIsDefault: boolean) => [
    { ...one, cidrBlock: one.vpcCidr, isDefault: oneIsDefault, subnets: [] },
    { ...two, cidrBlock: two.vpcCidr, isDefault: false, subnets: [] },
  ];
  const groups = [
    group("sg-0e1", one.vpcId, [rule("all", -1, -1, { groupIds: ["sg-0e1"] }), rule("tcp", 80, 80, { cidrs: ["169.254.128.0/17"] })]),
    group("sg-0e2", two.vpcId, [rule("all", -1, -1, { cidrs: ["0.0.0.0/0"] })]),
  ];
  const fromHost = (address: string) => probe(host.name, address, 80);
  await networks.applyView(viewOf(interfaces, groups, { vpcs: vpcs(true) }));
  assert.equal(await fromHost("10.0.1.4"), "open-oneA", "the default VPC's task, port 80 allowed from the host link");
  assert.equal(await pings(host.name, "10.0.1.4"), false, "ICMP is not in its groups");
  assert.match(await host.run("ip", ["route"]), /^10\.0\.0\.0\/16 via 169\.254\./m);
  await networks.applyView(viewOf(interfaces, groups, { vpcs: vpcs(false) }));
  assert.doesNotMatch(await host.run("ip", ["route"]), /10\.0\./, "no longer the default: no route");
  assert.equal(await fromHost("10.0.1.4"), "closed");
});

test("a VPC's router goes when its last task does (with the next view); the other stays", async () => {
  const routerTwo = tasks.twoA!.routerNetns;
  await networks.detach("vpc-twoA-aaaaaaaaaaaa");
  await networks.detach("vpc-twoB-aaaaaaaaaaaa");
  const applied = await networks.applyView(
    viewOf(
      ["oneA", "oneB"].map((name) => ({ taskId: `vpc-${name}-aaaaaaaaaaaa`, spec: specs[name]! })),
      [group("sg-0e1", one.vpcId, [rule("all", -1, -1, { groupIds: ["sg-0e1"] })])],
    ),
  );
  assert.deepEqual([applied.routers, applied.removedRouters], [1, 1]);
  assert.equal(existsSync(`/run/netns/${routerTwo}`), false);
  assert.deepEqual(endpoints.vpcs(), [one.vpcId], "the gone router's listener was closed");
  assert.equal(await probe(tasks.oneB!.netnsName, tasks.oneA!.ipv4, 80), "open-oneA");
});
