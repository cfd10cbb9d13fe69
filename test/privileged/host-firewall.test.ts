// The host's side of task isolation (src/network/host-firewall*.ts with the routers), tried as an
// attacker holding a task would: tasks (private and public) probe every host port they can name,
// forge their source address and MAC, and knock on a host port across an agent restart; the
// uninstall leaves nothing and gives the host its sysctls back, across a crash. The "host" is a
// namespace this file creates (with ip_forward 1 before the agent, like a host that routes), so
// nothing touches the real host; traffic goes only to namespaces and links this file creates.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostFirewall, TaskNetworks } from "../../src/network/index.js";
import type { TaskAttachment } from "../../src/network/index.js";
import { attempt, exec, group, listenIn, makeHost, pings, probe, rule, taskInterface, viewOf } from "../support/dataplane.js";
import type { TestHost } from "../support/dataplane.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { waitFor } from "../support/wait-for.js";
import { TestEndpointListeners } from "../support/endpoint-listeners.js";

const leaksBefore = new Set(findLeaks());
const stateDir = mkdtempSync(join(tmpdir(), "berth-fw-"));
const vpc = { vpcId: "vpc-0f17e", vpcCidr: "10.213.0.0/16", vni: 7101, subnetId: "subnet-0f17e", subnetCidr: "10.213.30.0/24" };
/** An address of the host on a link that is neither a router link nor loopback, and the uplink. */
const OTHER = { link: "bthfwdum0", address: "10.213.34.1" };
const UPLINK = { link: "bthfwup0", address: "10.213.35.1" };
const SELF = group("sg-0f1", vpc.vpcId, [rule("all", -1, -1, { groupIds: ["sg-0f1"] })]);
const specs = {
  one: taskInterface({ ...vpc, host: 4, groups: ["sg-0f1"] }),
  two: taskInterface({ ...vpc, host: 5, groups: ["sg-0f1"] }),
  public: taskInterface({ ...vpc, host: 6, groups: ["sg-0f1"], publicIp: true }),
};
const taskIds = { one: "fw-one-aaaaaaaaaaaaa", two: "fw-two-aaaaaaaaaaaaa", public: "fw-pub-aaaaaaaaaaaaa" };
const view = viewOf(
  (Object.keys(specs) as (keyof typeof specs)[]).map((key) => ({ taskId: taskIds[key], spec: specs[key] })),
  [SELF],
);
const children: ChildProcess[] = [];
let host: TestHost;
let networks: TaskNetworks;
let tasks: Record<keyof typeof specs, TaskAttachment>;
/** The endpoint's listener in each router, as the agent's (169.254.170.2 is the routers', not the host's). */
const endpoints = new TestEndpointListeners();

const make = () =>
  new TaskNetworks({
    stateDir,
    region: "us-east-1",
    run: host.run,
    firewall: new HostFirewall({ stateDir, run: host.run, ipForward: "off", uplink: UPLINK.link }),
    endpointListeners: endpoints,
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

/** A host listener that counts the connections it accepted (one line each on its stdout). */
function countingListener(port: number): { child: ChildProcess; count(): number } {
  let hits = 0;
  const code = `require("net").createServer((s) => { console.log("hit"); s.end("open-counted\\n"); }).listen(${port}, "0.0.0.0")`;
  const child = spawn("nsenter", [`--net=${host.path}`, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "ignore"] });
  child.stdout.on("data", (chunk: Buffer) => (hits += (chunk.toString().match(/hit/g) ?? []).length));
  children.push(child);
  return { child, count: () => hits };
}

test("a task, private or public, reaches 169.254.170.2:80 only in its router, answered by the endpoint's own socket; every host port is closed, and ping too", async () => {
  host = await makeHost("bthtfw-host");
  await host.run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
  for (const { link, address } of [OTHER, UPLINK]) {
    await host.run("ip", ["-batch", "-"], {
      input: `link add ${link} type veth peer name ${link}p\naddr add ${address}/24 dev ${link}\nlink set ${link} up\nlink set ${link}p up\n`,
    });
  }
  await host.run("sysctl", ["-q", "-w", `net.ipv4.conf.${UPLINK.link}.forwarding=0`]);
  networks = make();
  await networks.start();
  tasks = {
    one: await networks.attach(taskIds.one, specs.one),
    two: await networks.attach(taskIds.two, specs.two),
    public: await networks.attach(taskIds.public, specs.public),
  };
  await networks.applyView(view);
  children.push(await listenIn(tasks.one.netnsName, 8080, "peer"));
  // Host services on every address, port 80 included: none may be reached, 169.254.170.2:80 included (the router answers it).
  children.push(await listenIn(host.name, 80, "host80"), await listenIn(host.name, 9000, "wildcard"));
  assert.doesNotMatch(await host.run("ip", ["-4", "-o", "addr", "show"]), /169\.254\.170\.2/, "the host holds no endpoint address");
  const hostLink = (await host.run("ip", ["-4", "-o", "addr", "show"])).match(/inet (169\.254\.\d+\.\d+)\/30/)![1]!;

  for (const task of [tasks.two, tasks.public]) {
    const targets: [string, string, number][] = [
      ["metadata", "169.254.170.2", 80],
      ["metadata-other-port", "169.254.170.2", 9000],
      ["router-link-80", hostLink, 80],
      ["router-link", hostLink, 9000],
      ["other-host-address", OTHER.address, 9000],
      ["uplink-address", UPLINK.address, 9000],
      ["gateway", task.gateway, 9000],
      ["peer", tasks.one.ipv4, 8080],
    ];
    const results = Object.fromEntries(
      await Promise.all(targets.map(async ([name, address, port]) => [name, await probe(task.netnsName, address, port, 1.5)])),
    );
    assert.deepEqual(
      results,
      {
        metadata: `open-metadata-${vpc.vpcId}-${task.ipv4}`,
        "metadata-other-port": "closed",
        "router-link-80": "closed",
        "router-link": "closed",
        "other-host-address": "closed",
        "uplink-address": "closed",
        gateway: "closed",
        peer: "open-peer",
      },
      task.taskId,
    );
    for (const target of ["169.254.170.2", hostLink, task.gateway, OTHER.address])
      assert.equal(await pings(task.netnsName, target), false, `no echo from ${target}`);
  }
  assert.equal(await host.sysctl("net.ipv4.ip_forward"), "0", "pinned off");
  assert.equal(await host.sysctl(`net.ipv4.conf.${UPLINK.link}.forwarding`), "1", "the uplink forwards (NAT replies)");
  const link = tasks.one.routerNetns.replace("bthr", "bthh");
  assert.deepEqual(
    await Promise.all(
      ["ipv4/conf/X/rp_filter", "ipv4/conf/X/arp_ignore", "ipv6/conf/X/disable_ipv6", "ipv4/conf/X/forwarding"].map((key) =>
        host.sysctl(`net.${key.replace("X", link).replace(/\//g, ".")}`),
      ),
    ),
    ["1", "1", "1", "1"],
  );
});

test("a task sending from a forged IP or MAC reaches no peer", async () => {
  const { one, two } = tasks;
  const drops = async () =>
    [
      ...(await exec("nsenter", [`--net=/run/netns/${one.routerNetns}`, "nft", "list", "chain", "inet", "berth", "from_task"])).matchAll(
        /counter packets (\d+)/g,
      ),
    ].reduce((sum, match) => sum + Number(match[1]), 0);
  assert.equal(await pings(one.netnsName, two.ipv4, one.ipv4), true, "from its own address it does");
  const before = await drops();
  // Root inside the task's namespace (more than the task itself has) adds a second address.
  await exec("ip", ["-n", one.netnsName, "addr", "add", "10.213.30.99/24", "dev", "eth0"]);
  assert.equal(await pings(one.netnsName, two.ipv4, "10.213.30.99"), false, "forged IP");
  assert.equal(await pings(one.netnsName, "169.254.170.2", "10.213.30.99"), false, "forged IP to the endpoint");
  await exec("ip", ["-n", one.netnsName, "addr", "del", "10.213.30.99/24", "dev", "eth0"]);
  await exec("ip", ["-n", one.netnsName, "link", "set", "eth0", "address", "02:00:00:00:00:99"]);
  assert.equal(await pings(one.netnsName, two.ipv4, one.ipv4), false, "forged MAC");
  await exec("ip", ["-n", one.netnsName, "link", "set", "eth0", "address", one.macAddress]);
  assert.ok((await drops()) > before, "the router's source check dropped them");
  assert.equal(await pings(one.netnsName, two.ipv4, one.ipv4), true, "its own addresses work again");
});

test("the policy survives an agent restart: no moment open, nothing duplicated", async () => {
  const { one, two } = tasks;
  const knocked = countingListener(9100);
  await waitFor(async () => (await attempt("ip", ["netns", "exec", host.name, "ss", "-Hltn", "sport = :9100"])).stdout.trim() !== "", {
    what: "counting listener",
  });
  // A task knocking on a host port and on a peer's port no group opens, ~20 times a second.
  children.push(await listenIn(two.netnsName, 8081, "two"));
  const closedPeer = group("sg-0f1", vpc.vpcId, [rule("tcp", 8080, 8080, { groupIds: ["sg-0f1"] })]);
  await networks.applyView(
    viewOf(
      [
        { taskId: taskIds.one, spec: specs.one },
        { taskId: taskIds.two, spec: specs.two },
        { taskId: taskIds.public, spec: specs.public },
      ],
      [closedPeer],
    ),
  );
  const knocker = spawn(
    "ip",
    [
      "netns",
      "exec",
      one.netnsName,
      "sh",
      "-c",
      `while :; do timeout 1 busybox nc 169.254.170.2 9100 </dev/null; timeout 1 busybox nc ${two.ipv4} 8081 </dev/null; sleep 0.05; done`,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let peerAnswers = 0;
  knocker.stdout.on("data", (chunk: Buffer) => (peerAnswers += (chunk.toString().match(/open-two/g) ?? []).length));
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await networks.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    networks = make();
    await networks.start();
    await networks.applyView(
      viewOf(
        [
          { taskId: taskIds.one, spec: specs.one },
          { taskId: taskIds.two, spec: specs.two },
          { taskId: taskIds.public, spec: specs.public },
        ],
        [closedPeer],
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    knocker.kill();
  }
  assert.equal(knocked.count(), 0, "the host port was never reached");
  assert.equal(peerAnswers, 0, "the closed peer port was never reached");
  assert.equal((await host.run("nft", ["list", "table", "inet", "berth"])).match(/jump from_router/g)?.length, 1, "rules not duplicated");
  const routerTables = await exec("nsenter", [`--net=/run/netns/${one.routerNetns}`, "nft", "list", "tables"]);
  assert.deepEqual(routerTables.trim().split("\n"), ["table inet berth"]);
  // The endpoint's accept: once in from_task (past the source check), once in input.
  const routerRules = await exec("nsenter", [`--net=/run/netns/${one.routerNetns}`, "nft", "list", "table", "inet", "berth"]);
  assert.equal(routerRules.match(/ip daddr 169\.254\.170\.2 tcp dport 80 accept/g)?.length, 2, "endpoint rules not duplicated");
  assert.match(await probe(one.netnsName, "169.254.170.2", 80), /^open-metadata-/, "the endpoint answers after the restart");
  assert.equal(await probe(two.netnsName, one.ipv4, 8080), "open-peer", "what the group allows still passes");
});

test("uninstall removes every namespace, veth, router and table, and restores ip_forward and the uplink's forwarding, across a crash", async () => {
  // A crash, then a new agent: the values to restore are still the operator's, not the agent's.
  const crashed = make();
  await crashed.start();
  await crashed.removeEverything();
  assert.deepEqual(crashed.list(), []);
  assert.equal(await host.sysctl("net.ipv4.ip_forward"), "1", "restored");
  assert.equal(await host.sysctl(`net.ipv4.conf.${UPLINK.link}.forwarding`), "0", "restored");
  assert.doesNotMatch(await host.run("nft", ["list", "tables"]), /berth/, "no table left");
  const links = await host.run("ip", ["-o", "link"]);
  assert.doesNotMatch(links, /bth[hxv]/, "no router link, VXLAN or task veth left");
  const left = findLeaks().filter((leak) => !leaksBefore.has(leak) && !leak.includes(host.name));
  assert.deepEqual(left, []);
});
