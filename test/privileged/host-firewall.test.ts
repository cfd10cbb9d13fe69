// The host firewall (src/network/host-firewall*.ts) tried as an attacker holding a task would:
// real busybox tasks under a real agent probe every host port they can name, forge their source
// address and MAC, and reach for a task on another subnet; the policy holds across an agent
// restart without a moment open, and the uninstall leaves nothing. Forwarding and ip_forward are
// exercised in a network namespace this file creates (with ip_forward 1 there), never on the host.
// Traffic goes only to addresses on bridges, namespaces and a dummy link this file creates.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createAgent } from "../../src/agent/index.js";
import type { Agent } from "../../src/agent/index.js";
import { HostNetworkAdapter } from "../../src/agent/network-adapter.js";
import { HostRuntimeAdapter } from "../../src/agent/runtime-adapter.js";
import { compileAgentConfig } from "../../src/cli/agent-config.js";
import { uninstallHostAgent } from "../../src/cli/host-agent-assembly.js";
import { systemClock } from "../../src/core/clock.js";
import { runCommand } from "../../src/core/command-runner.js";
import { HostFirewall, TaskNetworks } from "../../src/network/index.js";
import type { CommandRunner, TaskAttachment } from "../../src/network/index.js";
import { TaskRuntime } from "../../src/runtime/index.js";
import { MemoryReporter } from "../support/agent-fakes.js";
import { makeBusyboxLayer } from "../support/busybox-rootfs.js";
import { LocalBusyboxImages, TaskLogs, runTaskToCompletion } from "../support/host-agent-parts.js";
import { hostTaskSpecs, waitUntil } from "../support/host-task-spec.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { isListeningInNetns } from "../support/netns-listener.js";
import { waitFor } from "../support/wait-for.js";

const dataDir = mkdtempSync(join(tmpdir(), "berth-fw-"));
const agentDir = join(dataDir, "agent");
const layerDir = makeBusyboxLayer(mkdtempSync(join(tmpdir(), "berth-fw-layer-")));
const subnetA = { subnetId: "subnet-0bth0firewall0000a", cidr: "10.213.30.0/24" };
const subnetB = { subnetId: "subnet-0bth0firewall0000b", cidr: "10.213.31.0/24" };
const GATEWAY_A = "10.213.30.1";
/** An address of the host that is neither on a task bridge nor loopback (on a link of ours). */
const DUMMY = { link: "bthfwdum0", address: "10.213.34.1" };
/** The namespace standing in for a host that routes (see the last test). */
const FORWARD_NS = "bthfw-router";
const specA = hostTaskSpecs({ family: "fw", idFiller: "f17e", subnet: subnetA, defaultImage: "busybox" });
const specB = hostTaskSpecs({ family: "fw", idFiller: "f17f", subnet: subnetB, defaultImage: "busybox" });
const sleeper = () => [{ name: "sleeper", linuxParameters: { initProcessEnabled: true }, command: ["sleep", "600"] }];
const ipForwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
const leaksBefore = new Set(findLeaks());

const exec: CommandRunner = (command, args, options) => runCommand(command, args, { timeoutMs: 20_000, ...options });
/** Exit status and output of a command that is expected to fail sometimes. */
const attempt = (command: string, args: string[], timeoutMs = 6_000) =>
  new Promise<{ ok: boolean; stdout: string }>((resolve) =>
    execFile(command, args, { timeout: timeoutMs }, (error, stdout) => resolve({ ok: !error, stdout })),
  );
const inNetns = (netns: string, args: string[], timeoutMs?: number) => attempt("ip", ["netns", "exec", netns, ...args], timeoutMs);
const ping = (netns: string, target: string, source?: string) =>
  inNetns(netns, ["busybox", "ping", "-c", "1", "-W", "2", ...(source ? ["-I", source] : []), target]);
/** The packets a `counter drop` rule of ours counted. */
async function dropCount(family: "bridge" | "inet", chain: string, netns?: string): Promise<number> {
  const args = ["list", "chain", family, "berth", chain];
  const listing = netns ? await exec("ip", ["netns", "exec", netns, "nft", ...args]) : await exec("nft", args);
  return [...listing.matchAll(/counter packets (\d+) bytes \d+ drop/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

// ── the agent under test, as `berth agent` wires it (same state layout, so the uninstall finds it)
const logs = new TaskLogs();
const errors: string[] = [];
let current: { agent: Agent; networks: TaskNetworks; close(): Promise<void> } | undefined;

async function startAgent() {
  const networkDir = join(agentDir, "network");
  const networks = new TaskNetworks({
    stateDir: networkDir,
    region: "us-east-1",
    firewall: new HostFirewall({ stateDir: networkDir, run: exec, ipForward: "off" }),
  });
  const agent = createAgent({
    stateDir: join(agentDir, "tasks"),
    images: new LocalBusyboxImages(),
    runtime: new HostRuntimeAdapter(new TaskRuntime({ stateDir: join(agentDir, "runtime") }), () => ({
      layerDirs: [layerDir],
      config: { env: ["PATH=/bin:/sbin:/usr/bin"] },
    })),
    networks: new HostNetworkAdapter(networks),
    logSink: logs,
    reporter: new MemoryReporter(),
    clock: systemClock,
    logger: { error: (details, message) => errors.push(`${message}: ${String((details as { err?: Error }).err?.message ?? "")}`), info: () => undefined },
    logPollMs: 100,
  });
  await networks.start();
  await agent.start();
  current = {
    agent,
    networks,
    async close() {
      await agent.close();
      await networks.stop();
    },
  };
  return current;
}

async function runSleeper(spec: ReturnType<typeof specA>): Promise<TaskAttachment> {
  await current!.agent.runTask(spec);
  await waitUntil(() => ["RUNNING", "STOPPED"].includes(current!.agent.describe(spec.taskArn)?.lastStatus ?? ""), `${spec.taskId} RUNNING`);
  const status = current!.agent.describe(spec.taskArn)!;
  assert.equal(status.lastStatus, "RUNNING", `${status.stoppedReason} ${JSON.stringify(status.containers)} ${errors.join("; ")}`);
  return current!.networks.list().find((attachment) => attachment.taskId === spec.taskId)!;
}

// ── host listeners: each answers "open-<name>", so a probe's output says which one it reached
const listeners: Server[] = [];
const accepted = new Map<string, number>();
async function listen(name: string, host: string, port = 0): Promise<number> {
  const server = createServer((socket) => {
    accepted.set(name, (accepted.get(name) ?? 0) + 1);
    socket.end(`open-${name}\n`);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  listeners.push(server);
  return (server.address() as AddressInfo).port;
}
const closeListener = (port: number) => {
  const server = listeners.find((s) => (s.address() as AddressInfo | null)?.port === port);
  listeners.splice(listeners.indexOf(server!), 1);
  return new Promise((resolve) => server!.close(resolve));
};

let peers: { one: TaskAttachment; two: TaskAttachment; other: TaskAttachment };
let wildPort: number;
let gatewayPort: number;
const peerListener: ChildProcess[] = [];

before(async () => {
  // (A veth pair stands in for a dummy link: this kernel has no dummy driver.)
  await exec("ip", ["-batch", "-"], {
    input: `link add ${DUMMY.link} type veth peer name ${DUMMY.link}p\naddr add ${DUMMY.address}/32 dev ${DUMMY.link}\nlink set ${DUMMY.link} up\nlink set ${DUMMY.link}p up\n`,
  });
  await startAgent();
  // What registration does for the subnets a host serves: the bridge (and its addresses) exists.
  await current!.networks.ensureSubnet(subnetA);
  wildPort = await listen("wildcard", "0.0.0.0");
  gatewayPort = await listen("gateway", GATEWAY_A);
});

after(async () => {
  for (const child of peerListener) child.kill();
  await Promise.all(listeners.map((server) => new Promise((resolve) => server.close(resolve))));
  try {
    // A failed test may leave tasks and tables: the uninstall (itself under test below) removes them.
    await current?.close();
    await uninstallHostAgent({ config: compileAgentConfig({}, { dataDir, region: "us-east-1", insecureRegistries: [] }), logger: pino({ level: "silent" }) });
  } finally {
    await attempt("ip", ["link", "del", DUMMY.link]);
    await attempt("ip", ["netns", "del", FORWARD_NS]);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(layerDir, { recursive: true, force: true });
  }
  assert.equal(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(), ipForwardBefore, "the host's ip_forward is as it was");
  assertNoNewLeaks(leaksBefore);
});

test("a task reaches the host only at 169.254.170.2:80 held by the endpoint's own socket; every other host port is closed to it, and ping too", async () => {
  peers = { one: await runSleeper(specA(sleeper())), two: await runSleeper(specA(sleeper())), other: await runSleeper(specB(sleeper())) };
  // A peer on the same subnet listens: tasks of one subnet talk, as in a default VPC.
  peerListener.push(
    spawn("ip", ["netns", "exec", peers.one.netnsName, "busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/busybox", "echo", "open-peer"], { stdio: "ignore" }),
  );
  // A host service on 0.0.0.0:80 would answer at 169.254.170.2:80 too: the rule must not let it.
  await listen("wildcard80", "0.0.0.0", 80);
  const viaWildcard = await inNetns(peers.two.netnsName, ["timeout", "3", "busybox", "nc", "169.254.170.2", "80"]);
  assert.doesNotMatch(viaWildcard.stdout, /open/, "a 0.0.0.0:80 host service is not the endpoint");
  await closeListener(80);
  await listen("metadata", "169.254.170.2", 80);
  await waitFor(() => isListeningInNetns(peers.one.netnsName, 8080), { what: "the peer's nc listening" });

  const targets: [string, string, number][] = [
    ["metadata", "169.254.170.2", 80],
    ["metadata-other-port", "169.254.170.2", wildPort],
    ["gateway-bound", GATEWAY_A, gatewayPort],
    ["gateway-wildcard", GATEWAY_A, wildPort],
    ["other-host-address", DUMMY.address, wildPort],
    ["peer", peers.one.ipv4, 8080],
  ];
  const script = `p() { r=$(timeout 3 nc $2 $3 </dev/null 2>/dev/null); echo "probe $1 \${r:-closed}"; }\n${targets.map(([name, host, port]) => `p ${name} ${host} ${port} &`).join("\n")}\nwait`;
  const probe = specA([{ name: "probe", command: ["sh", "-c", script] }]);
  const { report, lines } = await runTaskToCompletion(current!.agent, logs, probe);
  assert.equal(report.containers[0]!.exitCode, 0, lines.join("\n"));
  const results = Object.fromEntries(lines.map((line) => /probe (\S+) (\S+)/.exec(line)).flatMap((match) => (match ? [[match[1]!, match[2]!]] : [])));
  assert.deepEqual(results, {
    metadata: "open-metadata",
    "metadata-other-port": "closed",
    "gateway-bound": "closed",
    "gateway-wildcard": "closed",
    "other-host-address": "closed",
    peer: "open-peer",
  });
  // The host itself still reaches those listeners (they were up), and reaches its tasks.
  assert.match((await attempt("busybox", ["nc", "127.0.0.1", String(wildPort)])).stdout, /open-wildcard/);
  assert.equal((await attempt("busybox", ["ping", "-c", "1", "-W", "2", peers.one.ipv4])).ok, true, "host → task");
  const sysctl = (path: string) => readFileSync(`/proc/sys/net/${path}`, "utf8").trim();
  assert.deepEqual(
    [
      sysctl(`ipv4/conf/${peers.one.bridge}/rp_filter`),
      sysctl(`ipv4/conf/${peers.one.bridge}/arp_ignore`),
      sysctl(`ipv6/conf/${peers.one.bridge}/disable_ipv6`),
    ],
    ["1", "1", "1"],
    "the bridge filters reverse paths, answers ARP for its own addresses only, has no IPv6",
  );
  // ICMP echo to the gateway is dropped; ARP to it still resolves (the probes above used it).
  assert.equal((await ping(peers.two.netnsName, GATEWAY_A)).ok, false, "no echo from the gateway");
  assert.match((await inNetns(peers.two.netnsName, ["ip", "neigh", "show", GATEWAY_A])).stdout, /lladdr [0-9a-f:]{17}/, "ARP for the gateway answered");
});

test("a task sending from a forged IP or MAC reaches no peer", async () => {
  const { one, two } = peers;
  assert.equal((await ping(one.netnsName, two.ipv4, one.ipv4)).ok, true, "from its own address it does");
  const dropsBefore = await dropCount("bridge", "from_task");
  // Root inside the task's namespace (more than the task itself has) adds a second address.
  await exec("ip", ["-n", one.netnsName, "addr", "add", "10.213.30.99/24", "dev", "eth0"]);
  assert.equal((await ping(one.netnsName, two.ipv4, "10.213.30.99")).ok, false, "forged IP");
  await exec("ip", ["-n", one.netnsName, "addr", "del", "10.213.30.99/24", "dev", "eth0"]);
  // Its own IP from a forged MAC.
  await exec("ip", ["-n", one.netnsName, "link", "set", "eth0", "address", "02:00:00:00:00:99"]);
  assert.equal((await ping(one.netnsName, two.ipv4, one.ipv4)).ok, false, "forged MAC");
  await exec("ip", ["-n", one.netnsName, "link", "set", "eth0", "address", one.macAddress]);
  assert.ok((await dropCount("bridge", "from_task")) > dropsBefore, "the bridge table dropped them");
  assert.equal((await ping(one.netnsName, two.ipv4, one.ipv4)).ok, true, "its own addresses work again");
});

test("tasks on two subnets cannot reach each other; the host reaches both", async () => {
  const { one, other } = peers;
  assert.equal((await ping(one.netnsName, other.ipv4)).ok, false);
  assert.equal((await ping(other.netnsName, one.ipv4)).ok, false);
  assert.equal((await attempt("busybox", ["ping", "-c", "1", "-W", "2", other.ipv4])).ok, true, "host → task on the other subnet");
});

test("the policy survives an agent restart: no moment open, nothing duplicated, every task's element kept", async () => {
  const { one, two } = peers;
  const tables = async () =>
    (await exec("nft", ["list", "tables"]))
      .split("\n")
      .filter((line) => / berth$/.test(line))
      .sort();
  const elements = async () => (await exec("nft", ["-j", "list", "set", "bridge", "berth", "task_addrs"])).match(/"bthv[0-9a-f]+"/g)!.sort();
  const before = await elements();
  assert.deepEqual(before, [`"${one.hostVeth}"`, `"${two.hostVeth}"`, `"${peers.other.hostVeth}"`].sort());
  // A task knocking on a host port all along, ~20 times a second.
  const knocker = spawn(
    "ip",
    ["netns", "exec", one.netnsName, "sh", "-c", `while :; do timeout 1 busybox nc ${GATEWAY_A} ${gatewayPort} </dev/null; sleep 0.05; done`],
    { stdio: "ignore" },
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await current!.close();
    assert.deepEqual(await tables(), ["table bridge berth", "table inet berth"], "the tables stay while tasks run without an agent");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await startAgent();
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    knocker.kill();
  }
  assert.equal(accepted.get("gateway") ?? 0, 0, "the host port was never reached");
  assert.deepEqual(await tables(), ["table bridge berth", "table inet berth"]);
  assert.deepEqual(await elements(), before, "the same elements, once each");
  assert.equal((await exec("nft", ["list", "table", "inet", "berth"])).match(/socket wildcard 0 accept/g)?.length, 1, "rules not duplicated");
  assert.equal((await ping(one.netnsName, two.ipv4)).ok, true, "peers still talk");
  assert.equal(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(), "0");
});

test("uninstall stops the tasks and removes every namespace, veth, bridge and table; ip_forward is as before", async () => {
  await current!.close();
  current = undefined;
  const { tasksStopped } = await uninstallHostAgent({
    config: compileAgentConfig({}, { dataDir, region: "us-east-1", insecureRegistries: [] }),
    logger: pino({ level: "silent" }),
  });
  assert.equal(tasksStopped, 3);
  const left = findLeaks().filter((leak) => !leaksBefore.has(leak) && !leak.includes(DUMMY.link));
  assert.deepEqual(left, []);
  assert.equal(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(), ipForwardBefore);
  assert.deepEqual(errors, []);
});

// ── forwarding and ip_forward, in a namespace standing in for a host that routes (ip_forward 1)
const subnetX = { subnetId: "subnet-0bth0firewall0000x", cidr: "10.213.32.0/24" };
const subnetY = { subnetId: "subnet-0bth0firewall0000y", cidr: "10.213.33.0/24" };

test("on a host with ip_forward 1, the forward chain alone keeps subnets apart; 'off' pins ip_forward to 0 and the uninstall restores 1, across a crash", async (t) => {
  await exec("ip", ["netns", "add", FORWARD_NS]);
  // nsenter --net, not `ip netns exec`: the latter's private mount namespace would hide the task
  // namespaces that TaskNetworks names with `ip netns add` from inside.
  const inRouter: CommandRunner = (command, args, options) => exec("nsenter", [`--net=/var/run/netns/${FORWARD_NS}`, command, ...args], options);
  const ipForward = async () => (await inRouter("sysctl", ["-n", "net.ipv4.ip_forward"])).trim();
  await inRouter("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
  const stateDir = mkdtempSync(join(tmpdir(), "berth-fw-router-"));
  const plain = new TaskNetworks({ stateDir, region: "us-east-1", run: inRouter });
  try {
    const x1 = await plain.attach("fwx1-aaaaaaaaaaaaaaaa", subnetX);
    const x2 = await plain.attach("fwx2-aaaaaaaaaaaaaaaa", subnetX);
    const y1 = await plain.attach("fwy1-aaaaaaaaaaaaaaaa", subnetY);
    assert.equal((await ping(x1.netnsName, y1.ipv4)).ok, true, "without the firewall this host routes between the subnets");

    const keep = new HostFirewall({ stateDir, run: inRouter, ipForward: "keep" });
    await keep.install(plain.firewallState());
    assert.equal(await ipForward(), "1", "keep leaves it");
    assert.equal((await ping(x1.netnsName, y1.ipv4)).ok, false, "x → y");
    assert.equal((await ping(y1.netnsName, x1.ipv4)).ok, false, "y → x");
    assert.ok((await dropCount("inet", "forward", FORWARD_NS)) > 0, "the forward chain dropped them");
    assert.equal((await ping(x1.netnsName, x2.ipv4)).ok, true, "same subnet still talks (bridged, br_netfilter on)");

    // Per-task cost: the element add a connect runs alongside its `ip` work.
    const timings: number[] = [];
    for (let i = 0; i < 15; i++) {
      const port = { hostVeth: `bthvtime${i.toString(16).padStart(4, "0")}`, macAddress: "02:00:0a:d5:20:63", ipv4: "10.213.32.99" };
      const started = process.hrtime.bigint();
      await keep.allowPort(port);
      timings.push(Number(process.hrtime.bigint() - started) / 1e6);
      await keep.forgetPort(port);
    }
    timings.sort((a, b) => a - b);
    t.diagnostic(`nft element add alone: median ${timings[7]!.toFixed(1)} ms, max ${timings[14]!.toFixed(1)} ms`);
    // What a launch sees: reserve (the element add starts), then connect (awaits it alongside the
    // veth batch); a launch creates its containers in between, which this leaves out, so the
    // difference is an upper bound. With and without the firewall, interleaved on one subnet.
    const guarded = new TaskNetworks({ stateDir, region: "us-east-1", run: inRouter, firewall: keep });
    const connectMs: { plain: number[]; guarded: number[] } = { plain: [], guarded: [] };
    for (let i = 0; i < 8; i++) {
      for (const [kind, networks] of [
        ["plain", plain],
        ["guarded", guarded],
      ] as const) {
        const taskId = `fwt${i}${kind[0]}-aaaaaaaaaaaaaaa`;
        const started = process.hrtime.bigint();
        await networks.reserve(taskId, subnetX);
        await networks.connect(taskId);
        connectMs[kind].push(Number(process.hrtime.bigint() - started) / 1e6);
        await networks.detach(taskId);
      }
    }
    // Something flushes the ruleset (as `systemctl reload nftables` would): the next launch puts
    // the whole policy back, every recorded task's element with it.
    await inRouter("nft", ["-f", "-"], { input: "delete table bridge berth\ndelete table inet berth\n" });
    const relaunched = await guarded.attach("fwflush-aaaaaaaaaaaaaa", subnetX);
    const restored = await inRouter("nft", ["list", "set", "bridge", "berth", "task_addrs"]);
    for (const attachment of [x1, x2, relaunched]) assert.match(restored, new RegExp(`"${attachment.hostVeth}"`), "elements restored");
    assert.equal((await ping(x1.netnsName, y1.ipv4)).ok, false, "x → y blocked again");
    assert.equal((await ping(relaunched.netnsName, x1.ipv4)).ok, true, "the relaunched task talks to its subnet");
    await guarded.detach(relaunched.taskId);
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    t.diagnostic(
      `reserve + connect median: ${median(connectMs.plain).toFixed(1)} ms plain, ${median(connectMs.guarded).toFixed(1)} ms with the firewall element`,
    );

    const off = new HostFirewall({ stateDir, run: inRouter, ipForward: "off" });
    await off.install(plain.firewallState());
    assert.equal(await ipForward(), "0", "off pins it");
    // A crash, then a new agent: the value to restore is still the operator's, not 0.
    const afterCrash = new HostFirewall({ stateDir, run: inRouter, ipForward: "off" });
    await afterCrash.install(plain.firewallState());
    assert.equal(await ipForward(), "0");
    await afterCrash.uninstall();
    assert.equal(await ipForward(), "1", "restored");
    assert.doesNotMatch(await inRouter("nft", ["list", "tables"]), /berth/, "no table left");
  } finally {
    for (const attachment of plain.list()) await plain.detach(attachment.taskId);
    await plain.removeSubnetIfIdle(subnetX.subnetId);
    await plain.removeSubnetIfIdle(subnetY.subnetId);
    await exec("ip", ["netns", "del", FORWARD_NS]);
    rmSync(stateDir, { recursive: true, force: true });
  }
});
