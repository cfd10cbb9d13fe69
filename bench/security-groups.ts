// The routed data plane's costs (src/network): how long a security-group change (a membership
// change, a rule change) takes to reach a running task's traffic, and task-to-task TCP throughput
// with 500 rules in the path vs one, and across two hosts over the VXLAN overlay vs on one host.
// Everything runs in namespaces this bench creates ("hosts" joined by a test fabric); nothing
// touches the real host's links. Root. Run: node --import tsx bench/security-groups.ts
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostFirewall, TaskNetworks } from "../src/network/index.js";
import type { TaskAttachment } from "../src/network/index.js";
import type { SecurityGroupRuleSpec } from "../src/protocol/network-view.js";
import { attempt, exec, group, listenIn, makeHost, probe, rule, taskInterface, viewOf } from "../test/support/dataplane.js";
import type { TestHost } from "../test/support/dataplane.js";

const FABRIC = "bthbsg-fabric";
const CHANGES = Number(process.env.CHANGES ?? 60);
const STREAM_MIB = Number(process.env.STREAM_MIB ?? 512);
const vpc = { vpcId: "vpc-0b5", vpcCidr: "10.216.0.0/16", vni: 7601, subnetId: "subnet-0b5", subnetCidr: "10.216.1.0/24" };
const spec = (n: number, groups: string[]) => taskInterface({ ...vpc, host: n, groups });
const specs = { a: spec(4, ["sg-0c"]), b: spec(5, ["sg-05"]), c: spec(6, ["sg-0c"]), remote: spec(7, ["sg-05"]) };
const ids = { a: "bsg-a-aaaaaaaaaaaaaaa", b: "bsg-b-aaaaaaaaaaaaaaa", c: "bsg-c-aaaaaaaaaaaaaaa", remote: "bsg-r-aaaaaaaaaaaaaaa" };
const percentile = (values: number[], p: number) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;

/** 500 rules none of the bench's traffic matches before the one that lets it in. */
function manyRules(count: number, last: SecurityGroupRuleSpec): SecurityGroupRuleSpec[] {
  return [...Array.from({ length: count - 1 }, (_, i) => rule("tcp", 10000 + i, 10000 + i, { cidrs: [`172.${16 + (i % 16)}.${i % 256}.0/24`] })), last];
}

const hosts: { host: TestHost; networks: TaskNetworks; stateDir: string }[] = [];
/** Listeners this bench started: killed at the end, or they keep it running. */
const listeners: ChildProcess[] = [];
async function makeDataplaneHost(name: string, address: string): Promise<(typeof hosts)[number]> {
  const host = await makeHost(name);
  await exec("ip", ["-n", FABRIC, "link", "add", `${name}p`.slice(0, 15), "type", "veth", "peer", "name", "bthul0", "netns", name]);
  await exec("ip", ["-n", FABRIC, "link", "set", `${name}p`.slice(0, 15), "master", "bthbsgbr", "up"]);
  await host.run("ip", ["-batch", "-"], { input: `addr add ${address}/24 dev bthul0\nlink set bthul0 up\n` });
  const stateDir = mkdtempSync(join(tmpdir(), `berth-bsg-${name}-`));
  const networks = new TaskNetworks({
    stateDir,
    region: "us-east-1",
    run: host.run,
    firewall: new HostFirewall({ stateDir, run: host.run, ipForward: "off", overlayAddress: address }),
  });
  await networks.start();
  const entry = { host, networks, stateDir };
  hosts.push(entry);
  return entry;
}

/** MiB/s of one TCP stream from `from` to a sink on `to`:5001 (Node on both ends, 64 KiB writes). */
async function throughput(from: TaskAttachment, to: TaskAttachment): Promise<number> {
  const sink = `require("net").createServer((s) => { let n = 0; const t = process.hrtime.bigint(); s.on("data", (d) => n += d.length); s.on("end", () => { console.log(n / (Number(process.hrtime.bigint() - t) / 1e9) / 1048576); process.exit(0); }); }).listen(5001, "0.0.0.0")`;
  const server = spawn("nsenter", [`--net=${to.netnsPath}`, process.execPath, "-e", sink], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  server.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise((resolve) => server.on("exit", resolve));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const source = `const s = require("net").connect(5001, ${JSON.stringify(to.ipv4)}); const b = Buffer.alloc(65536); let left = ${STREAM_MIB * 16}; const go = () => { while (left > 0) { left--; if (!s.write(b)) return s.once("drain", go); } s.end(); }; s.on("connect", go);`;
  await exec("nsenter", [`--net=${from.netnsPath}`, process.execPath, "-e", source], { timeoutMs: 120_000 });
  await done;
  return Number(output.trim());
}

async function changeLatency(networks: TaskNetworks, tasks: Record<string, TaskAttachment>): Promise<void> {
  const web = (allowed: boolean) =>
    group("sg-05", vpc.vpcId, manyRules(500, rule("tcp", 80, 80, allowed ? { groupIds: ["sg-0c"] } : { cidrs: ["192.0.2.0/24"] })));
  const local = (cIn: boolean) => [
    { taskId: ids.a, spec: specs.a },
    { taskId: ids.b, spec: specs.b },
    { taskId: ids.c, spec: { ...specs.c, securityGroups: cIn ? ["sg-0c"] : ["sg-0d"] } },
  ];
  const groups = (allowed: boolean) => [web(allowed), group("sg-0c", vpc.vpcId, []), group("sg-0d", vpc.vpcId, [])];
  const timings = { membership: [] as number[], rule: [] as number[] };
  let wrong = 0;
  for (let i = 0; i < CHANGES; i++) {
    // A membership change: c joins or leaves the group b's rule names (c's groups change too).
    const cIn = i % 2 === 0;
    timings.membership.push((await networks.applyView(viewOf(local(cIn), groups(true)))).durationMs);
    if ((await probe(tasks.c!.netnsName, tasks.b!.ipv4, 80, 1)) !== (cIn ? "open-b" : "closed")) wrong++;
    // A rule change: b's port 80 rule switches between the group and a CIDR nobody is in.
    timings.rule.push((await networks.applyView(viewOf(local(cIn), groups(!cIn)))).durationMs);
  }
  for (const [kind, values] of Object.entries(timings)) {
    console.log(
      `${kind} change → applied (visible to the next packet): p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms (${values.length} changes)`,
    );
  }
  console.log(`probes right after a membership change that saw the old policy: ${wrong} of ${CHANGES}`);
}

async function main(): Promise<void> {
  await exec("ip", ["netns", "add", FABRIC]);
  await exec("ip", ["-n", FABRIC, "-batch", "-"], { input: "link set lo up\nlink add bthbsgbr type bridge\nlink set bthbsgbr up\n" });
  const one = await makeDataplaneHost("bthbsg-a", "172.31.214.1");
  const two = await makeDataplaneHost("bthbsg-b", "172.31.214.2");
  const tasks: Record<string, TaskAttachment> = {};
  for (const key of ["a", "b", "c"] as const) tasks[key] = await one.networks.attach(ids[key], specs[key]);
  tasks.remote = await two.networks.attach(ids.remote, specs.remote);
  listeners.push(await listenIn(tasks.b!.netnsName, 80, "b"));

  await changeLatency(one.networks, tasks);

  const everyone = (ingress: SecurityGroupRuleSpec[]) => [group("sg-05", vpc.vpcId, ingress), group("sg-0c", vpc.vpcId, [])];
  const locals = [
    { taskId: ids.a, spec: specs.a },
    { taskId: ids.b, spec: specs.b },
    { taskId: ids.c, spec: specs.c },
  ];
  const allFrom = rule("all", -1, -1, { cidrs: ["10.216.0.0/16"] });
  const rounds = 3;
  const results = { none: [] as number[], many: [] as number[], overlay: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    await one.networks.applyView(viewOf(locals, everyone([allFrom])));
    results.none.push(await throughput(tasks.a!, tasks.b!));
    await one.networks.applyView(viewOf(locals, everyone(manyRules(500, allFrom))));
    results.many.push(await throughput(tasks.a!, tasks.b!));
    const peers = (far: { spec: typeof specs.a; host: string }[]) =>
      far.map(({ spec: s, host }) => ({ vpcId: vpc.vpcId, privateIpv4Address: s.privateIpv4Address!, hostAddress: host }));
    await one.networks.applyView(
      viewOf(locals, everyone([allFrom]), { remote: [{ spec: specs.remote }], peers: peers([{ spec: specs.remote, host: "172.31.214.2" }]) }),
    );
    await two.networks.applyView(
      viewOf([{ taskId: ids.remote, spec: specs.remote }], everyone([allFrom]), {
        remote: locals,
        peers: peers(locals.map(({ spec: s }) => ({ spec: s, host: "172.31.214.1" }))),
      }),
    );
    results.overlay.push(await throughput(tasks.a!, tasks.remote!));
  }
  const median = (values: number[]) => percentile(values, 50).toFixed(0);
  console.log(`task → task TCP, one host, 1 rule: ${median(results.none)} MiB/s (runs: ${results.none.map((v) => v.toFixed(0)).join(", ")})`);
  console.log(`task → task TCP, one host, 500 rules per group: ${median(results.many)} MiB/s (runs: ${results.many.map((v) => v.toFixed(0)).join(", ")})`);
  console.log(`task → task TCP, two hosts over the overlay: ${median(results.overlay)} MiB/s (runs: ${results.overlay.map((v) => v.toFixed(0)).join(", ")})`);
}

try {
  await main();
} finally {
  for (const child of listeners) child.kill();
  for (const { networks, host, stateDir } of hosts) {
    await networks.removeEverything().catch((error: Error) => console.error(error.message));
    await host.remove();
    rmSync(stateDir, { recursive: true, force: true });
  }
  await attempt("ip", ["netns", "del", FABRIC]);
}
