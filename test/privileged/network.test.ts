// Real task networks, routed (src/network): task namespaces, veths into a VPC router namespace,
// the interface as the control plane allocated it, the metadata address 169.254.170.2 held and
// answered by the router (a listener made in its namespace, as the agent's). The "host" is a
// namespace this file creates; everything is removed and checked for leaks after.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostFirewall, TaskNetworks } from "../../src/network/index.js";
import { EMPTY_NETWORK_VIEW } from "../../src/protocol/network-view.js";
import { attempt, group, inNetns, listenIn, makeHost, probe, rule, taskInterface, viewOf } from "../support/dataplane.js";
import type { TestHost } from "../support/dataplane.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { TestEndpointListeners } from "../support/endpoint-listeners.js";

const leaksBefore = new Set(findLeaks());
const stateDir = mkdtempSync(join(tmpdir(), "berth-net-"));
const vpc = { vpcId: "vpc-0b7e1", vpcCidr: "10.213.0.0/16", vni: 7001, subnetId: "subnet-0b7e1", subnetCidr: "10.213.7.0/24" };
const SELF = group("sg-0e1", vpc.vpcId, [rule("all", -1, -1, { groupIds: ["sg-0e1"] })]);
const children: ChildProcess[] = [];
let host: TestHost;
let networks: TaskNetworks;
const endpoints = new TestEndpointListeners();

const make = (run: TestHost["run"]) =>
  new TaskNetworks({ stateDir, region: "us-east-1", run, firewall: new HostFirewall({ stateDir, run, ipForward: "off" }), endpointListeners: endpoints });

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

test("two tasks of one subnet talk through their router when their group allows it; a task reaches 169.254.170.2:80 in its router, not the host; its routes go by the gateway", async () => {
  host = await makeHost("bthtnet-host");
  networks = make(host.run);
  await networks.start();
  const specA = taskInterface({ ...vpc, host: 4, groups: ["sg-0e1"] });
  const specB = taskInterface({ ...vpc, host: 5, groups: ["sg-0e1"] });
  const a = await networks.attach("net-aaaaaaaaaaaaaaaa", specA);
  const b = await networks.attach("net-bbbbbbbbbbbbbbbb", specB);
  assert.equal(a.ipv4, "10.213.7.4");
  assert.equal(a.eniId, specA.eniId);
  assert.equal(a.macAddress, specA.macAddress);
  assert.equal(a.privateDnsName, "ip-10-213-7-4.ec2.internal");
  assert.equal(a.gateway, "10.213.7.1");
  children.push(await listenIn(a.netnsName, 8080, "a"));
  assert.equal(await probe(b.netnsName, a.ipv4, 8080, 1), "closed", "no group known yet: the router drops it (fails closed)");
  const applied = await networks.applyView(
    viewOf(
      [
        { taskId: a.taskId, spec: specA },
        { taskId: b.taskId, spec: specB },
      ],
      [SELF],
    ),
  );
  assert.equal(applied.routers, 1);
  assert.equal(await probe(b.netnsName, a.ipv4, 8080), "open-a");

  // The metadata endpoint: the router's own 169.254.170.2:80 (on its lo), answered by the listener
  // made in its namespace, which sees the task's own address; the host holds no such address, and
  // a host service on port 80 is not reached.
  children.push(await listenIn(host.name, 80, "host80"));
  assert.equal(await probe(a.netnsName, "169.254.170.2", 80), `open-metadata-${vpc.vpcId}-${a.ipv4}`);
  assert.equal(await probe(b.netnsName, "169.254.170.2", 80), `open-metadata-${vpc.vpcId}-${b.ipv4}`);
  assert.equal(await probe(a.netnsName, "169.254.170.2", 81, 1), "closed", "only port 80");
  assert.doesNotMatch(await host.run("ip", ["-4", "-o", "addr", "show"]), /169\.254\.170\.2/, "not the host's address");
  assert.match((await attempt("ip", ["-n", a.routerNetns, "-4", "-o", "addr", "show", "dev", "lo"])).stdout, /inet 169\.254\.170\.2\/32/);

  const routes = (await inNetns(a.netnsName, ["ip", "route"])).stdout;
  assert.match(routes, /^default via 10\.213\.7\.1 dev eth0/m);
  assert.doesNotMatch(routes, /10\.213\.7\.0\/24/, "no on-link route for the subnet: same-subnet traffic goes through the router too");
  assert.match((await inNetns(a.netnsName, ["ip", "-o", "addr", "show", "dev", "eth0"])).stdout, /inet 10\.213\.7\.4\/24 .*noprefixroute/);
  assert.equal(await host.sysctl("net.ipv4.ip_forward"), "0", "the host routes nothing");
  const inRouter = (args: string[]) => attempt("nsenter", [`--net=/run/netns/${a.routerNetns}`, ...args]);
  assert.equal((await inRouter(["sysctl", "-n", "net.ipv4.ip_forward"])).stdout.trim(), "1", "the router does");
  assert.equal((await inRouter(["sysctl", "-n", `net.ipv4.conf.${a.hostVeth}.rp_filter`])).stdout.trim(), "1");
  assert.match((await inRouter(["ip", "neigh", "show", a.ipv4])).stdout, new RegExp(`lladdr ${a.macAddress} PERMANENT`));
});

test("reserve makes only the namespace; connect plugs it in, is idempotent, and finishes a connect a restart interrupted", async () => {
  const spec = taskInterface({ ...vpc, host: 6 });
  const reserved = await networks.reserve("net-ffffffffffffffff", spec);
  assert.equal(reserved.connected, false);
  assert.ok(existsSync(reserved.netnsPath));
  assert.deepEqual(await networks.reserve("net-ffffffffffffffff", spec), reserved, "reserve is idempotent");
  // What an agent stopped half way through connect leaves: the pair, nothing configured.
  await attempt("ip", ["-n", reserved.routerNetns, "link", "add", reserved.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", reserved.netnsName]);
  const restarted = make(host.run);
  await restarted.start();
  const connected = await restarted.connect("net-ffffffffffffffff");
  assert.equal(connected.connected, true);
  assert.deepEqual(await restarted.connect("net-ffffffffffffffff"), connected, "connect is idempotent");
  assert.match((await inNetns(reserved.netnsName, ["ip", "link", "show", "eth0"])).stdout, new RegExp(reserved.macAddress));
  await restarted.detach("net-ffffffffffffffff");
  assert.equal(existsSync(reserved.netnsPath), false);
  assert.equal((await attempt("ip", ["-n", reserved.routerNetns, "link", "show", reserved.hostVeth])).ok, false, "the veth is gone");
  networks = restarted;
});

test("a spec without the allocated interface, or with values that do not fit, is refused before anything is made", async () => {
  const good = taskInterface({ ...vpc, host: 7 });
  const bad: [Partial<typeof good>, RegExp][] = [
    [{ vpcId: undefined }, /has no vpcId/],
    [{ macAddress: undefined, eniId: undefined }, /has no eniId, macAddress/],
    [{ privateIpv4Address: "10.213.8.9" }, /not a usable address/],
    [{ privateIpv4Address: "10.213.7.1" }, /not a usable address/],
    [{ subnetCidr: "10.214.7.0/24" }, /not inside VPC/],
    [{ macAddress: "03:00:00:00:00:01" }, /macAddress/],
    [{ macAddress: "02:00:00:00:00:01 netns 1" }, /macAddress/],
    [{ vpcId: "vpc-1; flush ruleset" }, /vpcId/],
    [{ vni: 1 << 24 }, /vni/],
    [{ securityGroups: ["sg-1 accept"] }, /security group/],
  ];
  for (const [change, message] of bad) await assert.rejects(networks.reserve("net-0000000000000bad", { ...good, ...change }), message);
  assert.ok(!networks.list().some((attachment) => attachment.taskId === "net-0000000000000bad"));
});

test("a record left empty (a power loss) neither breaks list() nor stops its task's teardown", async () => {
  const attached = await networks.attach("net-abababababababab", taskInterface({ ...vpc, host: 8 }));
  writeFileSync(join(stateDir, "tasks", "net-abababababababab.json"), "");
  assert.ok(!networks.list().some((attachment) => attachment.taskId === "net-abababababababab"));
  await networks.detach("net-abababababababab");
  assert.equal(existsSync(attached.netnsPath), false, "the namespace is gone");
});

test("the router goes with the view that leaves it no task; stop with no task removes the host table", async () => {
  const routerNetns = networks.list()[0]!.routerNetns;
  for (const attachment of networks.list()) await networks.detach(attachment.taskId);
  assert.ok(existsSync(`/run/netns/${routerNetns}`), "a detach alone keeps the router");
  const applied = await networks.applyView(EMPTY_NETWORK_VIEW);
  assert.deepEqual([applied.routers, applied.removedRouters], [0, 1]);
  assert.equal(existsSync(`/run/netns/${routerNetns}`), false);
  assert.deepEqual(endpoints.vpcs(), [], "its endpoint listener was closed before it went (an open one would keep the namespace alive)");
  await networks.stop();
  assert.doesNotMatch(await host.run("nft", ["list", "tables"]), /berth/);
  assert.doesNotMatch(await host.run("ip", ["-o", "link"]), /bthh/);
});
