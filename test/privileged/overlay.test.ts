// The VXLAN overlay between hosts (src/network/vpc-routers.ts): three "hosts", each a namespace
// with its own TaskNetworks, state dir and underlay address, joined by veths on a bridge in a
// "fabric" namespace this file creates. Tasks of one VPC on different hosts talk through their
// routers; another VPC with the same CIDR (and a task at the same address) does not see them; a
// peer removed from the view is unreachable; VXLAN from a host outside the view is dropped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostFirewall, OVERLAY_MTU, TaskNetworks } from "../../src/network/index.js";
import type { TaskAttachment } from "../../src/network/index.js";
import type { HostNetworkView } from "../../src/protocol/network-view.js";
import type { TaskNetworkSpec } from "../../src/protocol/task-spec.js";
import { attempt, exec, group, inNetns, listenIn, makeHost, pings, probe, rule, taskInterface, viewOf } from "../support/dataplane.js";
import type { TestHost } from "../support/dataplane.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";

const leaksBefore = new Set(findLeaks());
const FABRIC = "bthtov-fabric";
const hostNames = ["a", "b", "c"] as const;
type HostName = (typeof hostNames)[number];
const underlay = (name: HostName) => `172.31.213.${hostNames.indexOf(name) + 1}`;
const x = { vpcId: "vpc-0a1", vpcCidr: "10.1.0.0/16", vni: 7401, subnetId: "subnet-0a1", subnetCidr: "10.1.1.0/24" };
const y = { vpcId: "vpc-0a2", vpcCidr: "10.1.0.0/16", vni: 7402, subnetId: "subnet-0a2", subnetCidr: "10.1.1.0/24" };
const GROUPS = [
  group("sg-0a1", x.vpcId, [rule("all", -1, -1, { groupIds: ["sg-0a1"] })]),
  group("sg-0a2", y.vpcId, [rule("all", -1, -1, { groupIds: ["sg-0a2"] })]),
];
/** Where each task runs and its interface: x and y both have a task at 10.1.1.4 (on host a). */
const placement: { taskId: string; host: HostName; spec: TaskNetworkSpec }[] = [
  { taskId: "ov-xa-aaaaaaaaaaaaaa", host: "a", spec: taskInterface({ ...x, host: 4, groups: ["sg-0a1"] }) },
  { taskId: "ov-xb-aaaaaaaaaaaaaa", host: "b", spec: taskInterface({ ...x, host: 5, groups: ["sg-0a1"] }) },
  { taskId: "ov-ya-aaaaaaaaaaaaaa", host: "a", spec: taskInterface({ ...y, host: 4, groups: ["sg-0a2"] }) },
  { taskId: "ov-yb-aaaaaaaaaaaaaa", host: "b", spec: taskInterface({ ...y, host: 6, groups: ["sg-0a2"] }) },
];
const hosts = {} as Record<HostName, { host: TestHost; networks: TaskNetworks; stateDir: string }>;
const tasks: Record<string, TaskAttachment> = {};
const children: ChildProcess[] = [];

/** The view the control plane would send `name`: its interfaces, every member, its VPCs' remote interfaces as peers. */
function viewFor(name: HostName, removed: readonly string[] = []): HostNetworkView {
  const present = placement.filter((task) => !removed.includes(task.taskId));
  const local = present.filter((task) => task.host === name);
  const vpcs = new Set(local.map((task) => task.spec.vpcId));
  const remote = present.filter((task) => task.host !== name && vpcs.has(task.spec.vpcId));
  return viewOf(local, GROUPS, {
    remote,
    peers: remote.map((task) => ({ vpcId: task.spec.vpcId!, privateIpv4Address: task.spec.privateIpv4Address!, hostAddress: underlay(task.host) })),
  });
}

before(async () => {
  await exec("ip", ["netns", "add", FABRIC]);
  await exec("ip", ["-n", FABRIC, "-batch", "-"], { input: "link set lo up\nlink add bthtovbr type bridge\nlink set bthtovbr up\n" });
  for (const name of hostNames) {
    const host = await makeHost(`bthtov-${name}`);
    await exec("ip", ["-n", FABRIC, "link", "add", `bthtovp${name}`, "type", "veth", "peer", "name", "bthul0", "netns", host.name]);
    await exec("ip", ["-n", FABRIC, "link", "set", `bthtovp${name}`, "master", "bthtovbr", "up"]);
    await host.run("ip", ["-batch", "-"], { input: `addr add ${underlay(name)}/24 dev bthul0\nlink set bthul0 up\n` });
    const stateDir = mkdtempSync(join(tmpdir(), `berth-ov-${name}-`));
    const firewall = new HostFirewall({ stateDir, run: host.run, ipForward: "off", overlayAddress: underlay(name) });
    const networks = new TaskNetworks({ stateDir, region: "us-east-1", run: host.run, firewall });
    await networks.start();
    hosts[name] = { host, networks, stateDir };
  }
  for (const { taskId, host, spec } of placement) tasks[taskId] = await hosts[host].networks.attach(taskId, spec);
  for (const name of hostNames) await hosts[name].networks.applyView(viewFor(name));
  children.push(await listenIn(tasks["ov-xa-aaaaaaaaaaaaaa"]!.netnsName, 80, "xa"), await listenIn(tasks["ov-ya-aaaaaaaaaaaaaa"]!.netnsName, 80, "ya"));
});

after(async () => {
  for (const child of children) child.kill();
  try {
    for (const name of hostNames) await hosts[name]?.networks.removeEverything();
  } finally {
    for (const name of hostNames) {
      await hosts[name]?.host.remove();
      if (hosts[name]) rmSync(hosts[name].stateDir, { recursive: true, force: true });
    }
    await attempt("ip", ["netns", "del", FABRIC]);
  }
  assertNoNewLeaks(leaksBefore);
});

test("tasks of one VPC on different hosts talk over the overlay, with eth0's MTU leaving room for VXLAN", async () => {
  const xb = tasks["ov-xb-aaaaaaaaaaaaaa"]!;
  assert.equal(await probe(xb.netnsName, "10.1.1.4", 80), "open-xa");
  assert.equal(await pings(tasks["ov-xa-aaaaaaaaaaaaaa"]!.netnsName, xb.ipv4), true, "and back");
  assert.match((await inNetns(xb.netnsName, ["ip", "link", "show", "eth0"])).stdout, new RegExp(`mtu ${OVERLAY_MTU}`));
  // A full-size packet (1450 - 28 bytes of IP and ICMP headers) crosses without fragmenting.
  assert.equal((await inNetns(xb.netnsName, ["busybox", "ping", "-c", "1", "-W", "2", "-s", "1422", "10.1.1.4"])).ok, true);
  // Nothing was learned or flooded: the forwarding table holds what the view said.
  const fdb = await exec("bridge", ["-n", xb.routerNetns, "fdb", "show", "dev", xb.routerNetns.replace("bthr", "bthx")]);
  assert.match(fdb, new RegExp(`dst ${underlay("a").replace(/\./g, "\\.")} .*self permanent`));
  assert.doesNotMatch(fdb, /00:00:00:00:00:00/, "no flooding entry");
});

test("another VPC with the same CIDR does not see them: its 10.1.1.4 is its own, and the first VPC's addresses do not exist in it", async () => {
  const yb = tasks["ov-yb-aaaaaaaaaaaaaa"]!;
  assert.equal(await probe(yb.netnsName, "10.1.1.4", 80), "open-ya");
  assert.equal(await pings(yb.netnsName, "10.1.1.5"), false, "x's task on the same host b");
  assert.equal(await pings(tasks["ov-xb-aaaaaaaaaaaaaa"]!.netnsName, "10.1.1.6"), false, "y's task from x");
});

test("VXLAN from a host outside the view is dropped at the host", async () => {
  // Host c runs nothing of these VPCs: a VXLAN device of its own, with x's VNI, aimed at host a.
  const c = hosts.c.host;
  await c.run("ip", ["-batch", "-"], {
    input: `link add bthtovrogue type vxlan id ${x.vni} local ${underlay("c")} remote ${underlay("a")} dstport 4789\naddr add 10.1.1.99/24 dev bthtovrogue\nlink set bthtovrogue up\n`,
  });
  // Every drop counter of the chain: the packets are aimed at a's overlay address, so the rule that
  // takes them is the one for sources outside the view, not the first one (another destination).
  const dropped = async () =>
    [...(await hosts.a.host.run("nft", ["list", "chain", "inet", "berth", "input"])).matchAll(/counter packets (\d+)/g)].reduce(
      (sum, match) => sum + Number(match[1]),
      0,
    );
  const before = await dropped();
  assert.equal((await attempt("nsenter", [`--net=${c.path}`, "busybox", "ping", "-c", "2", "-W", "1", "10.1.1.4"])).ok, false);
  assert.ok((await dropped()) > before, "host a's input dropped the rogue VXLAN packets");
  await c.run("ip", ["link", "del", "bthtovrogue"]);
});

test("a peer removed from the view is unreachable; back in the view, reachable again", async () => {
  const xb = tasks["ov-xb-aaaaaaaaaaaaaa"]!;
  await hosts.b.networks.applyView(viewFor("b", ["ov-xa-aaaaaaaaaaaaaa"]));
  assert.equal(await probe(xb.netnsName, "10.1.1.4", 80, 1), "closed");
  assert.doesNotMatch(await exec("ip", ["-n", xb.routerNetns, "route"]), /10\.1\.1\.4/, "its route is gone");
  await hosts.b.networks.applyView(viewFor("b"));
  assert.equal(await probe(xb.netnsName, "10.1.1.4", 80), "open-xa");
  // A restarted agent reads the overlay back from the kernel and changes nothing that is right.
  const restarted = new TaskNetworks({
    stateDir: hosts.b.stateDir,
    region: "us-east-1",
    run: hosts.b.host.run,
    firewall: new HostFirewall({ stateDir: hosts.b.stateDir, run: hosts.b.host.run, ipForward: "off", overlayAddress: underlay("b") }),
  });
  await restarted.start();
  await restarted.applyView(viewFor("b", ["ov-xa-aaaaaaaaaaaaaa"]));
  assert.equal(await probe(xb.netnsName, "10.1.1.4", 80, 1), "closed", "the restarted agent removed it");
  hosts.b.networks = restarted;
});
