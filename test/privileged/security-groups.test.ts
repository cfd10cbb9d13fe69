// Security groups enforced by a VPC router's nftables table (src/network/router-*.ts), as EC2
// defines them: rules only allow, by protocol/port, CIDR or group membership; an interface's groups
// add up; a new group allows all egress; rules are stateful. Each case is a view change applied to
// running task namespaces, probed with real TCP and ICMP. The "host" is a namespace of this file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostFirewall, TaskNetworks } from "../../src/network/index.js";
import type { TaskAttachment } from "../../src/network/index.js";
import type { SecurityGroupSpec } from "../../src/protocol/network-view.js";
import type { TaskNetworkSpec } from "../../src/protocol/task-spec.js";
import { ALL_OUT, group, listenIn, makeHost, pings, probe, rule, taskInterface, viewOf } from "../support/dataplane.js";
import type { TestHost } from "../support/dataplane.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";

const leaksBefore = new Set(findLeaks());
const stateDir = mkdtempSync(join(tmpdir(), "berth-sg-"));
const VPC = "vpc-05e6";
const vpc = { vpcId: VPC, vpcCidr: "10.214.0.0/16", vni: 7201, subnetId: "subnet-05e6", subnetCidr: "10.214.1.0/24" };
const names = ["a", "b", "c"] as const;
type Name = (typeof names)[number];
const specs: Record<Name, TaskNetworkSpec> = {
  a: taskInterface({ ...vpc, host: 4 }),
  b: taskInterface({ ...vpc, host: 5 }),
  c: taskInterface({ ...vpc, host: 6 }),
};
const taskId = (name: Name) => `sg-task-${name}-aaaaaaaaaa`;
const children: ChildProcess[] = [];
const applyMs: number[] = [];
let host: TestHost;
let networks: TaskNetworks;
const tasks = {} as Record<Name, TaskAttachment>;

/** Applies a view where each task is in the groups given (none: no group). */
async function apply(assignment: Partial<Record<Name, string[]>>, groups: SecurityGroupSpec[]): Promise<void> {
  const interfaces = names.map((name) => ({ taskId: taskId(name), spec: { ...specs[name], securityGroups: assignment[name] ?? [] } }));
  applyMs.push((await networks.applyView(viewOf(interfaces, groups))).durationMs);
}
const ip = (name: Name) => specs[name].privateIpv4Address!;
/** The outcome of TCP connects from one task to others' ports, all at once. */
async function reach(from: Name, targets: [Name, number][]): Promise<string[]> {
  return Promise.all(targets.map(([to, port]) => probe(tasks[from].netnsName, ip(to), port, 1)));
}

before(async () => {
  host = await makeHost("bthtsg-host");
  networks = new TaskNetworks({ stateDir, region: "us-east-1", run: host.run, firewall: new HostFirewall({ stateDir, run: host.run, ipForward: "off" }) });
  await networks.start();
  for (const name of names) tasks[name] = await networks.attach(taskId(name), specs[name]);
  for (const port of [22, 80, 443]) children.push(await listenIn(tasks.b.netnsName, port, `b${port}`));
  children.push(await listenIn(tasks.a.netnsName, 80, "a80"));
});

after(async () => {
  for (const child of children) child.kill();
  try {
    await networks?.removeEverything();
  } finally {
    await host?.remove();
    rmSync(stateDir, { recursive: true, force: true });
  }
  assertNoNewLeaks(leaksBefore);
});

test("by port: only the ports a rule names are open", async () => {
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, [group("sg-0a", VPC, []), group("sg-0b", VPC, [rule("tcp", 80, 80, { cidrs: ["0.0.0.0/0"] })])]);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 443],
      ["b", 22],
    ]),
    ["open-b80", "closed", "closed"],
  );
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, [group("sg-0a", VPC, []), group("sg-0b", VPC, [rule("tcp", 20, 100, { cidrs: ["0.0.0.0/0"] })])]);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 443],
      ["b", 22],
    ]),
    ["open-b80", "closed", "open-b22"],
    "a port range",
  );
});

test("by CIDR: a source outside the rule's CIDRs is dropped", async () => {
  await apply({ a: ["sg-0a"], b: ["sg-0b"], c: ["sg-0a"] }, [
    group("sg-0a", VPC, []),
    group("sg-0b", VPC, [rule("tcp", 443, 443, { cidrs: [`${ip("a")}/32`] })]),
  ]);
  assert.deepEqual(await reach("a", [["b", 443]]), ["open-b443"]);
  assert.deepEqual(await reach("c", [["b", 443]]), ["closed"]);
});

test("by group reference: members of the named group pass, others do not, and joining the group opens it", async () => {
  const groups = [group("sg-0c1", VPC, []), group("sg-0b", VPC, [rule("tcp", 22, 22, { groupIds: ["sg-0c1"] })]), group("sg-0a", VPC, [])];
  await apply({ a: ["sg-0c1"], b: ["sg-0b"], c: ["sg-0a"] }, groups);
  assert.deepEqual(await reach("a", [["b", 22]]), ["open-b22"]);
  assert.deepEqual(await reach("c", [["b", 22]]), ["closed"]);
  await apply({ a: ["sg-0c1"], b: ["sg-0b"], c: ["sg-0a", "sg-0c1"] }, groups);
  assert.deepEqual(await reach("c", [["b", 22]]), ["open-b22"], "c joined the group (a membership change)");
});

test("after a revoke (a view change) new connections are dropped", async () => {
  const open = [
    group("sg-0a", VPC, []),
    group("sg-0b", VPC, [rule("tcp", 80, 80, { cidrs: ["10.214.0.0/16"] }), rule("tcp", 22, 22, { cidrs: ["10.214.0.0/16"] })]),
  ];
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, open);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 22],
    ]),
    ["open-b80", "open-b22"],
  );
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, [open[0]!, group("sg-0b", VPC, [rule("tcp", 22, 22, { cidrs: ["10.214.0.0/16"] })])]);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 22],
    ]),
    ["closed", "open-b22"],
  );
});

test("an interface's groups change: its old group's rules no longer apply; two groups add up", async () => {
  const groups = [
    group("sg-0a", VPC, []),
    group("sg-080", VPC, [rule("tcp", 80, 80, { cidrs: ["0.0.0.0/0"] })]),
    group("sg-0443", VPC, [rule("tcp", 443, 443, { cidrs: ["0.0.0.0/0"] })]),
  ];
  await apply({ a: ["sg-0a"], b: ["sg-080"] }, groups);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 443],
    ]),
    ["open-b80", "closed"],
  );
  await apply({ a: ["sg-0a"], b: ["sg-0443"] }, groups);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 443],
    ]),
    ["closed", "open-b443"],
    "moved to another group",
  );
  await apply({ a: ["sg-0a"], b: ["sg-080", "sg-0443"] }, groups);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 443],
    ]),
    ["open-b80", "open-b443"],
    "the union of two groups",
  );
});

test("the default group's self reference lets its members talk, and no one else", async () => {
  const defaultGroup = group("sg-0def", VPC, [rule("all", -1, -1, { groupIds: ["sg-0def"] })]);
  await apply({ a: ["sg-0def"], b: ["sg-0def"], c: ["sg-0a"] }, [defaultGroup, group("sg-0a", VPC, [])]);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 443],
    ]),
    ["open-b80", "open-b443"],
  );
  assert.deepEqual(await reach("b", [["a", 80]]), ["open-a80"]);
  assert.deepEqual(await reach("c", [["b", 80]]), ["closed"]);
});

test("egress: a new group allows all out; a restricted egress blocks what its rules do not name", async () => {
  const open = group("sg-0b", VPC, [rule("all", -1, -1, { cidrs: ["0.0.0.0/0"] })]);
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, [group("sg-0a", VPC, [], [ALL_OUT]), open]);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 443],
    ]),
    ["open-b80", "open-b443"],
  );
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, [group("sg-0a", VPC, [], [rule("tcp", 80, 80, { cidrs: [`${ip("b")}/32`] })]), open]);
  assert.deepEqual(
    await reach("a", [
      ["b", 80],
      ["b", 443],
    ]),
    ["open-b80", "closed"],
  );
  assert.equal(await pings(tasks.a.netnsName, ip("b")), false, "no ICMP out either");
});

test("ICMP rules: echo requests pass only where a rule allows their type", async () => {
  const groups = (ingress: ReturnType<typeof rule>[]) => [group("sg-0a", VPC, []), group("sg-0b", VPC, ingress)];
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, groups([rule("tcp", 80, 80, { cidrs: ["0.0.0.0/0"] })]));
  assert.equal(await pings(tasks.a.netnsName, ip("b")), false);
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, groups([rule("icmp", 8, -1, { cidrs: ["10.214.1.0/24"] })]));
  assert.equal(await pings(tasks.a.netnsName, ip("b")), true, "echo request (type 8, any code)");
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, groups([rule("icmp", 13, -1, { cidrs: ["10.214.1.0/24"] })]));
  assert.equal(await pings(tasks.a.netnsName, ip("b")), false, "another type");
});

test("stateful: replies pass whatever the rules say the other way", async () => {
  // b allows nothing out at all, and a nothing in: the connection's replies still flow both ways.
  await apply({ a: ["sg-0a"], b: ["sg-0b"] }, [group("sg-0a", VPC, [], [ALL_OUT]), group("sg-0b", VPC, [rule("tcp", 80, 80, { cidrs: ["0.0.0.0/0"] })], [])]);
  assert.deepEqual(await reach("a", [["b", 80]]), ["open-b80"]);
  assert.deepEqual(await reach("b", [["a", 80]]), ["closed"], "b itself may not start anything");
  const sorted = [...applyMs].sort((x, y) => x - y);
  console.log(`view changes applied: ${sorted.length}, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`);
});
