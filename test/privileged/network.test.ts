// Real task networks: namespaces, veths, a bridge per subnet, IPAM, the metadata address.
// Runs as root; uses only a test subnet on a bridge it creates, and checks for leaks afterwards.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskNetworks, METADATA_ENDPOINT_ADDRESS } from "../../src/network/index.js";
import { assertNoLeaks } from "../support/leaks.js";
import { isListeningInNetns } from "../support/netns-listener.js";
import { waitFor } from "../support/wait-for.js";

const stateDir = mkdtempSync(join(tmpdir(), "berth-net-"));
const subnet = { subnetId: "subnet-0bth0test000000001", cidr: "10.213.7.0/24" };
const networks = new TaskNetworks({ stateDir, region: "us-east-1" });

after(async () => {
  for (const attachment of networks.list()) await networks.detach(attachment.taskId);
  await networks.removeSubnetIfIdle(subnet.subnetId);
  rmSync(stateDir, { recursive: true, force: true });
  assertNoLeaks();
});

const inNetns = (netns: string, args: string[], timeoutMs = 5000) =>
  new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile("ip", ["netns", "exec", netns, ...args], { timeout: timeoutMs }, (error, stdout) => resolve({ code: error ? 1 : 0, stdout })),
  );

/** A one-shot TCP listener inside a namespace that answers "hello". */
function listenInNetns(netns: string, port: number) {
  const child = spawn("ip", ["netns", "exec", netns, "busybox", "nc", "-l", "-p", String(port), "-e", "/bin/busybox", "echo", "hello"], { stdio: "ignore" });
  return child;
}

test("two tasks on one subnet talk over TCP, the host reaches them, and they reach 169.254.170.2", async () => {
  const a = await networks.attach("task-aaaaaaaaaaaaaaaa", subnet);
  const b = await networks.attach("task-bbbbbbbbbbbbbbbb", subnet);
  assert.equal(a.ipv4, "10.213.7.4");
  assert.equal(b.ipv4, "10.213.7.5");
  assert.match(a.eniId, /^eni-[0-9a-f]{17}$/);
  assert.equal(a.privateDnsName, "ip-10-213-7-4.ec2.internal");
  assert.match(a.macAddress, /^02:[0-9a-f]{2}:0a:d5:07:04$/);

  // task b → task a
  const server = listenInNetns(a.netnsName, 8080);
  await waitFor(() => isListeningInNetns(a.netnsName, 8080), { what: "nc listening in task a" });
  const reply = await inNetns(b.netnsName, ["busybox", "nc", "-w", "3", a.ipv4, "8080"]);
  server.kill();
  assert.match(reply.stdout, /hello/);

  // host → task b
  const hostServer = listenInNetns(b.netnsName, 8081);
  await waitFor(() => isListeningInNetns(b.netnsName, 8081), { what: "nc listening in task b" });
  const fromHost = await new Promise<string>((resolve, reject) => {
    execFile("busybox", ["nc", "-w", "3", b.ipv4, "8081"], { timeout: 5000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
  hostServer.kill();
  assert.match(fromHost, /hello/);

  // task a → the agent's endpoint address on the host
  const endpoint = createServer((socket) => socket.end("metadata\n"));
  await new Promise<void>((resolve) => endpoint.listen(0, METADATA_ENDPOINT_ADDRESS, resolve));
  const port = (endpoint.address() as AddressInfo).port;
  const metadata = await inNetns(a.netnsName, ["busybox", "nc", "-w", "3", METADATA_ENDPOINT_ADDRESS, String(port)]);
  endpoint.close();
  assert.match(metadata.stdout, /metadata/);

  // the only routes lead to the bridge: nothing toward the outside, forwarding untouched
  const routes = await inNetns(a.netnsName, ["ip", "route"]);
  assert.match(routes.stdout, /^default via 10\.213\.7\.1 dev eth0/m);
  assert.equal(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(), "0");
});

test("attach is idempotent, detach releases everything, and leases survive a restart", async () => {
  const first = await networks.attach("task-cccccccccccccccc", subnet);
  assert.deepEqual(await networks.attach("task-cccccccccccccccc", subnet), first);
  const restarted = new TaskNetworks({ stateDir, region: "us-east-1" });
  const other = await restarted.attach("task-dddddddddddddddd", subnet);
  assert.notEqual(other.ipv4, first.ipv4);
  await restarted.detach("task-cccccccccccccccc");
  await restarted.detach("task-cccccccccccccccc");
  const again = await restarted.attach("task-eeeeeeeeeeeeeeee", subnet);
  assert.equal(again.ipv4, first.ipv4, "a released address is handed out again");
});

test("tasks attaching at once to a new subnet share one bridge; an idle-bridge removal racing an attach never strands it", async () => {
  const fresh = { subnetId: "subnet-0bth0test000000002", cidr: "10.213.10.0/24" };
  const ids = Array.from({ length: 5 }, (_, i) => `race-${i}-aaaaaaaaaaaaaaa`);
  const attached = await Promise.all(ids.map((id) => networks.attach(id, fresh)));
  assert.equal(new Set(attached.map((a) => a.ipv4)).size, 5);
  const bridge = attached[0]!.bridge;
  // The last tasks leave (each teardown removes the bridge when idle) while a new one arrives.
  const [, late] = await Promise.all([
    (async () => {
      for (const id of ids) {
        await networks.detach(id);
        await networks.removeSubnetIfIdle(fresh.subnetId);
      }
    })(),
    networks.attach("race-late-aaaaaaaaaaaa", fresh),
  ]);
  const members = await new Promise<string>((resolve, reject) =>
    execFile("ip", ["-o", "link", "show", "master", bridge], (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
  assert.match(members, new RegExp(late.hostVeth), "the late task's veth is still in the (existing) bridge");
  await networks.detach(late.taskId);
  assert.equal(await networks.removeSubnetIfIdle(fresh.subnetId), true);
});

test("reserve makes only the namespace; connect plugs it in, is idempotent, and finishes a connect a restart interrupted", async () => {
  const ip = (args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => execFile("ip", args, (error, stdout) => resolve({ code: error ? 1 : 0, stdout })));
  const reserved = await networks.reserve("task-ffffffffffffffff", subnet);
  assert.equal(reserved.connected, false);
  assert.equal((await ip(["netns", "list"])).stdout.includes(reserved.netnsName), true, "the namespace exists");
  assert.equal((await ip(["link", "show", reserved.hostVeth])).code, 1, "no veth yet");
  assert.deepEqual(await networks.reserve("task-ffffffffffffffff", subnet), reserved, "reserve is idempotent");
  // What an agent stopped half way through connect leaves: the pair, nothing configured.
  assert.equal((await ip(["link", "add", reserved.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", reserved.netnsName])).code, 0);
  const restarted = new TaskNetworks({ stateDir, region: "us-east-1" });
  const connected = await restarted.connect("task-ffffffffffffffff");
  assert.equal(connected.connected, true);
  assert.deepEqual(await restarted.connect("task-ffffffffffffffff"), connected, "connect is idempotent");
  assert.match(
    (await ip(["-n", reserved.netnsName, "-o", "addr", "show", "dev", "eth0"])).stdout,
    new RegExp(`inet ${reserved.ipv4.replace(/\./g, "\\.")}/24`),
  );
  assert.match((await ip(["-n", reserved.netnsName, "link", "show", "eth0"])).stdout, new RegExp(reserved.macAddress));
  assert.match((await ip(["-o", "link", "show", "master", reserved.bridge])).stdout, new RegExp(reserved.hostVeth));
  await restarted.detach("task-ffffffffffffffff");
  assert.equal((await ip(["netns", "list"])).stdout.includes(reserved.netnsName), false);
});

test("a record left empty (a power loss before it reached the disk) neither breaks list() nor stops its task's teardown", async () => {
  const ip = (args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => execFile("ip", args, (error, stdout) => resolve({ code: error ? 1 : 0, stdout })));
  const attached = await networks.attach("task-abababababababab", subnet);
  writeFileSync(join(stateDir, "tasks", "task-abababababababab.json"), "");
  assert.ok(!networks.list().some((attachment) => attachment.taskId === "task-abababababababab"));
  await networks.detach("task-abababababababab");
  assert.equal((await ip(["netns", "list"])).stdout.includes(attached.netnsName), false, "the namespace is gone");
  assert.equal((await ip(["link", "show", attached.hostVeth])).code, 1, "the veth is gone");
});
