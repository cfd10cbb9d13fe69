// Issue 12 through the front door: security groups, VPCs, the overlay and NAT driven by Debian's
// AWS CLI against a real `berth server`, enforced on real containers run by two `berth agent`s,
// each in a network namespace of its own that this file creates:
//
//   host ns: bridge bthe2e-br 10.213.50.1 (the registry; the AWS CLI runs here)
//     ├─ veth ── bthe2e-ctl: 10.213.50.2, `berth server --tls` and its embedded agent (zone a)
//     ├─ veth ── bthe2e-h1: 10.213.50.11, `berth agent --zone us-east-1b --overlay-address
//     │            10.213.50.11 --uplink bthe2eup`; bthe2eup 192.0.2.1 ── bthe2e-inet 192.0.2.254,
//     │            the "internet" (203.0.113.10 on its lo, a server answering "from <source>")
//     └─ veth ── bthe2e-h2: 10.213.50.12, `berth agent --zone us-east-1c --overlay-address 10.213.50.12`
//
// Placement is by zone: the embedded agent serves only zone a's default subnet (--subnet), so a task
// in a subnet of zone b runs on h1 and one of zone c on h2. Every task runs the same image, a busybox
// `nc` on 8080 answering "hello-<role>", so a probe says whom it reached, not only that it connected.
// Probes run in the task's own network namespace (`ip netns exec bth-<task id>`), as the task would.
// Nothing is routed beyond the namespaces and the bridge made here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultNetwork } from "../../src/core/default-network.js";
import { routerNames } from "../../src/network/names.js";
import {
  AuthorizeSecurityGroupIngressCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import type { CliResult, TestServer } from "../support/server.js";
import { freePort, startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { isListeningInNetns } from "../support/netns-listener.js";
import { waitFor } from "../support/wait-for.js";

const leaksBefore = new Set(findLeaks());
const ipForwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const BRIDGE = { link: "bthe2e-br", address: "10.213.50.1" };
/** The server's own namespace: its embedded agent's firewall is there, not in the machine's (one agent per namespace). */
const CONTROL = { netns: "bthe2e-ctl", port: "bthe2e-ctlp", address: "10.213.50.2" };
const HOSTS = {
  h1: { netns: "bthe2e-h1", port: "bthe2e-h1p", address: "10.213.50.11", zone: "us-east-1b", dir: mkdtempSync(join(tmpdir(), "berth-vpc-h1-")) },
  h2: { netns: "bthe2e-h2", port: "bthe2e-h2p", address: "10.213.50.12", zone: "us-east-1c", dir: mkdtempSync(join(tmpdir(), "berth-vpc-h2-")) },
};
type HostName = keyof typeof HOSTS;
const INTERNET = { netns: "bthe2e-inet", uplink: "bthe2eup", uplinkAddress: "192.0.2.1", far: "192.0.2.254", server: "203.0.113.10" };
/** A bound on each change-to-enforced wait (the measured figures are printed; this only fails a stuck change). */
const CHANGE_BOUND_MS = 10_000;
/**
 * The first task of a VPC on a host gets its overlay peers only from the next poll answer, up to
 * the server's 20 s long poll later (see the todo test below): the cross-host waits allow that.
 */
const FIRST_PEERS_BOUND_MS = 30_000;

const serverDir = mkdtempSync(join(tmpdir(), "berth-vpc-server-"));
const site = mkdtempSync(join(tmpdir(), "berth-vpc-site-"));
let registry: TestRegistry | undefined;
let server: TestServer | undefined;
const agents: Partial<Record<HostName, { child: ChildProcess; log: string }>> = {};
const children: ChildProcess[] = [];

const sh = (command: string, args: string[]) => execFileSync(command, args, { encoding: "utf8" });
const began = Date.now();
const note = (what: string) => process.stderr.write(`vpc-networking +${((Date.now() - began) / 1000).toFixed(1)}s ${what}\n`);

function aws(args: string[]): Promise<CliResult> {
  // The server listens on the bridge (the agents' way in), so over TLS with its own CA.
  return awsCli(server!, ["--ca-bundle", join(serverDir, "ca.pem"), ...args]);
}
async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await aws(args);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

// ---- tasks -------------------------------------------------------------------------------------

interface RunningTask {
  readonly role: string;
  readonly arn: string;
  readonly netns: string;
  readonly ip: string;
  readonly eniId: string;
}
type DescribedTask = {
  lastStatus: string;
  containers: { networkInterfaces: { privateIpv4Address: string }[] }[];
  attachments: { type: string; details: { name: string; value: string }[] }[];
};
const describeTask = async (arn: string) => ((await cli(["ecs", "describe-tasks", "--cluster", "e2e", "--tasks", arn])).tasks as DescribedTask[])[0]!;

async function waitForStatus(arn: string, status: string, timeoutMs = 60_000): Promise<DescribedTask> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await describeTask(arn);
    if (task.lastStatus === status) return task;
    if (Date.now() > deadline) throw new Error(`task ${arn} is ${task.lastStatus}, not ${status}\n${agentLogs()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const agentLogs = () =>
  Object.entries(agents)
    .map(([name, agent]) => `agent ${name}:\n${agent!.log.slice(-3000)}`)
    .join("\n");

/** Runs the echo task as `role` in `subnet` (groups: the VPC's default group when none), RUNNING and listening. */
async function runTask(role: string, subnet: string, options: { groups?: string[]; publicIp?: boolean } = {}): Promise<RunningTask> {
  const groups = options.groups ?? [];
  const network = `awsvpcConfiguration={subnets=[${subnet}]${groups.length > 0 ? `,securityGroups=[${groups.join(",")}]` : ""},assignPublicIp=${options.publicIp ? "ENABLED" : "DISABLED"}}`;
  const overrides = { containerOverrides: [{ name: "echo", environment: [{ name: "ROLE", value: role }] }] };
  const run = ["ecs", "run-task", "--cluster", "e2e", "--task-definition", "echo", "--launch-type", "FARGATE"];
  const answer = await cli([...run, "--network-configuration", network, "--overrides", JSON.stringify(overrides)]);
  assert.deepEqual(answer.failures, [], `run-task ${role}`);
  const arn = (answer.tasks as { taskArn: string }[])[0]!.taskArn;
  const task = await waitForStatus(arn, "RUNNING");
  const id = arn.slice(arn.lastIndexOf("/") + 1);
  const eni = task.attachments.find((attachment) => attachment.type === "ElasticNetworkInterface")!;
  const running = {
    role,
    arn,
    netns: `bth-${id.slice(0, 12)}`,
    ip: task.containers[0]!.networkInterfaces[0]!.privateIpv4Address,
    eniId: eni.details.find((detail) => detail.name === "networkInterfaceId")!.value,
  };
  await waitFor(() => isListeningInNetns(running.netns, 8080), { what: `${role}'s listener`, timeoutMs: 20_000 });
  note(`${role} runs at ${running.ip} (${running.eniId}, ${running.netns})`);
  return running;
}

async function stopTask(task: RunningTask): Promise<void> {
  await cli(["ecs", "stop-task", "--cluster", "e2e", "--task", task.arn]);
  await waitForStatus(task.arn, "STOPPED");
}

/** What a TCP connect from inside `from`'s namespace got: "hello-<role>" (a task), "from <source>" (the internet), or "closed". */
async function probe(from: RunningTask, address: string, port = 8080, timeoutSeconds = 2): Promise<string> {
  const stdout = await new Promise<string>((resolve) =>
    execFile(
      "ip",
      ["netns", "exec", from.netns, "timeout", String(timeoutSeconds), "busybox", "nc", address, String(port)],
      { timeout: (timeoutSeconds + 3) * 1000 },
      (_error, out) => resolve(String(out)),
    ),
  );
  return /hello-\S+|from \S+/.exec(stdout)?.[0] ?? "closed";
}

/**
 * Milliseconds from now until a probe from `from` to `to` answers as `expected` (probes of 1 s
 * back to back: the figure is the start of the first probe that saw the change).
 */
async function untilProbe(from: RunningTask, to: RunningTask, expected: string, boundMs = CHANGE_BOUND_MS): Promise<number> {
  const start = performance.now();
  for (;;) {
    const attempt = performance.now();
    if ((await probe(from, to.ip, 8080, 1)) === expected) return Math.round(attempt - start);
    if (performance.now() - start > boundMs) throw new Error(`${from.role} -> ${to.role} still not '${expected}' after ${boundMs} ms\n${routerState()}`);
  }
}

/** Which agent supervises `task`'s container, by the data dir in its conmon's arguments. */
function hostOf(task: RunningTask): HostName | "embedded" | "none" {
  const id = task.arn.slice(task.arn.lastIndexOf("/") + 1);
  const conmon = sh("ps", ["-eo", "stat=,args="])
    .split("\n")
    .find((line) => /\/conmon /.test(line) && line.includes(`-c ${id}-`) && !/^Z/.test(line));
  if (!conmon) return "none";
  if (conmon.includes(serverDir)) return "embedded";
  return (Object.keys(HOSTS) as HostName[]).find((name) => conmon.includes(HOSTS[name].dir)) ?? "none";
}

/** What each agent last applied and what its routers hold: printed with a failed wait, to say which side is wrong. */
function routerState(): string {
  const quietly = (read: () => string) => {
    try {
      return read();
    } catch (error) {
      return (error as Error).message;
    }
  };
  return (Object.keys(HOSTS) as HostName[])
    .flatMap((name) => {
      const stateDir = join(HOSTS[name].dir, "agent", "network");
      const routers = [ids.vpcA, ids.vpcB].filter((id) => id !== "").map((vpcId) => routerNames(stateDir, vpcId).netns);
      const commands = [
        ["nft", "list", "ruleset"],
        ["ip", "-d", "link", "show"],
        ["ip", "route"],
        ["ip", "neigh"],
        ["bridge", "fdb", "show"],
      ];
      return [
        `== ${name} view.json: ${quietly(() => readFileSync(join(stateDir, "view.json"), "utf8"))}`,
        ...routers.map((netns) => [`== ${name} router ${netns}`, ...commands.map((args) => quietly(() => inNetns(netns, args)))].join("\n")),
      ];
    })
    .join("\n");
}

// ---- the fabric, the server and the agents -----------------------------------------------------

const ipBatch = (netns: string | undefined, lines: string[]) =>
  execFileSync("ip", [...(netns ? ["-n", netns] : []), "-batch", "-"], { input: `${lines.join("\n")}\n`, encoding: "utf8" });
const tryQuietly = (action: () => unknown) => {
  try {
    action();
  } catch {
    // Already gone.
  }
};

function makeFabric(): void {
  ipBatch(undefined, [`link add ${BRIDGE.link} type bridge`, `addr add ${BRIDGE.address}/24 dev ${BRIDGE.link}`, `link set ${BRIDGE.link} up`]);
  for (const host of [CONTROL, ...Object.values(HOSTS)]) {
    sh("ip", ["netns", "add", host.netns]);
    ipBatch(undefined, [`link add ${host.port} type veth peer name bthe2eul netns ${host.netns}`, `link set ${host.port} master ${BRIDGE.link} up`]);
    ipBatch(host.netns, ["link set lo up", `addr add ${host.address}/24 dev bthe2eul`, "link set bthe2eul up"]);
  }
  // The internet, behind h1's uplink. Its default route leads back to h1, so a reply always has a
  // way home: a probe that fails was dropped, not lost.
  sh("ip", ["netns", "add", INTERNET.netns]);
  ipBatch(HOSTS.h1.netns, [
    `link add ${INTERNET.uplink} type veth peer name eth0 netns ${INTERNET.netns}`,
    `addr add ${INTERNET.uplinkAddress}/24 dev ${INTERNET.uplink}`,
    `link set ${INTERNET.uplink} up`,
    `route add 203.0.113.0/24 via ${INTERNET.far}`,
  ]);
  ipBatch(INTERNET.netns, [
    "link set lo up",
    `addr add ${INTERNET.far}/24 dev eth0`,
    "link set eth0 up",
    `addr add ${INTERNET.server}/24 dev lo`,
    `route add default via ${INTERNET.uplinkAddress}`,
  ]);
}

function removeFabric(): void {
  // The hosts' veths first, from this side: deleting a veth removes its peer at once, whereas a
  // deleted namespace's links go later, from the kernel's workqueue (after its sockets are purged),
  // and the leak check that follows would see them still there.
  for (const port of [HOSTS.h1.port, HOSTS.h2.port, CONTROL.port]) tryQuietly(() => sh("ip", ["link", "del", port]));
  for (const netns of [INTERNET.netns, HOSTS.h1.netns, HOSTS.h2.netns, CONTROL.netns]) tryQuietly(() => sh("ip", ["netns", "del", netns]));
  tryQuietly(() => sh("ip", ["link", "del", BRIDGE.link]));
}

const inNetns = (netns: string, args: string[]) => sh("ip", ["netns", "exec", netns, ...args]).trim();
const inHost = (name: HostName, args: string[]) => inNetns(HOSTS[name].netns, args);

async function startAgent(name: HostName): Promise<void> {
  const host = HOSTS[name];
  const token = readFileSync(join(serverDir, "agent-token"), "utf8").trim();
  const child = spawn(
    "nsenter",
    [
      // The network namespace only: the agent keeps the host's mounts (cgroups, /run/netns).
      `--net=/run/netns/${host.netns}`,
      process.execPath,
      berth,
      "agent",
      ...["--server", `https://${CONTROL.address}:${new URL(server!.endpoint).port}`, "--token", token, "--zone", host.zone, "--data-dir", host.dir],
      ...["--insecure-registry", registry!.address, "--capacity-cpu-units", "2048", "--capacity-memory-mib", "4096", "--overlay-address", host.address],
      ...(name === "h1" ? ["--uplink", INTERNET.uplink] : []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const agent = { child, log: "" };
  agents[name] = agent;
  const keep = (chunk: Buffer) => (agent.log = (agent.log + chunk.toString()).slice(-200_000));
  child.stdout!.on("data", keep);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent ${name} did not join:\n${agent.log}`)), 30_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      keep(chunk);
      if (/joined/.test(agent.log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agent ${name} exited with ${code}:\n${agent.log}`));
    });
  });
  note(`agent ${name} joined`);
}

async function stopAgent(name: HostName): Promise<number | null> {
  const child = agents[name]?.child;
  if (!child) return null;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

const berthCommand = (args: string[]) =>
  new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [berth, ...args], (error, _stdout, stderr) => (error ? reject(new Error(`berth ${args[0]}: ${stderr}`)) : resolve())),
  );

// ---- the account: one cluster, one task definition, VPC A with two groups ---------------------

const ACCOUNT = "123456789012";
const ids = { vpcA: "", subnetA: { b: "", c: "" }, web: "", client: "", vpcB: "", subnetB: { b: "", c: "" } };
const tasks: Record<string, RunningTask> = {};

async function createVpc(cidr: string): Promise<string> {
  return ((await cli(["ec2", "create-vpc", "--cidr-block", cidr])).Vpc as { VpcId: string }).VpcId;
}
async function createSubnet(vpcId: string, cidr: string, zone: string): Promise<string> {
  const answer = await cli(["ec2", "create-subnet", "--vpc-id", vpcId, "--cidr-block", cidr, "--availability-zone", zone]);
  return (answer.Subnet as { SubnetId: string }).SubnetId;
}
async function createGroup(name: string, vpcId: string): Promise<string> {
  return (await cli(["ec2", "create-security-group", "--group-name", name, "--description", `${name} tasks`, "--vpc-id", vpcId])).GroupId as string;
}

async function registerEcho(): Promise<void> {
  const file = join(site, "echo.json");
  writeFileSync(
    file,
    JSON.stringify({
      family: "echo",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name: "echo",
          image: `${registry!.address}/echo:v1`,
          essential: true,
          // nc as PID 1 ignores SIGTERM: stop after 2 s rather than the default 30.
          stopTimeout: 2,
          command: ["sh", "-c", "exec nc -ll -p 8080 -e /bin/busybox echo hello-$ROLE"],
        },
      ],
    }),
  );
  await cli(["ecs", "register-task-definition", "--cli-input-json", `file://${file}`]);
}

let uplinkForwardingBefore = "";

before(async () => {
  makeFabric();
  uplinkForwardingBefore = inHost("h1", ["sysctl", "-n", `net.ipv4.conf.${INTERNET.uplink}.forwarding`]);
  // The internet's server tells each client the address it came from.
  const internetServer = `require("net").createServer((s) => s.end("from " + s.remoteAddress + "\\n")).listen(80, "0.0.0.0")`;
  children.push(spawn("nsenter", [`--net=/run/netns/${INTERNET.netns}`, process.execPath, "-e", internetServer], { stdio: "ignore" }));
  await waitFor(() => isListeningInNetns(INTERNET.netns, 80), { what: "the internet's server" });
  registry = await startRegistry({ host: BRIDGE.address });
  await berthCommand(["image", "build", "--tag", `${registry.address}/echo:v1`, "--push", "--insecure-registry", registry.address]);
  // The embedded agent serves zone a only: every task of this file runs on h1 (zone b) or h2 (zone c).
  const zoneA = defaultNetwork({ accountId: ACCOUNT, region: "us-east-1" }).subnets.find((subnet) => subnet.availabilityZone === "us-east-1a")!;
  const args = ["--listen", `${CONTROL.address}:${await freePort()}`, "--tls", "--subnet", zoneA.subnetId, "--insecure-registry", registry.address];
  server = await startTestServer({
    agent: true,
    netns: CONTROL.netns,
    dataDir: serverDir,
    args: [...args, "--capacity-cpu-units", "512", "--capacity-memory-mib", "1024"],
  });
  await startAgent("h1");
  await startAgent("h2");
  await cli(["ecs", "create-cluster", "--cluster-name", "e2e"]);
  await registerEcho();
  ids.vpcA = await createVpc("10.0.0.0/16");
  ids.subnetA.b = await createSubnet(ids.vpcA, "10.0.1.0/24", "us-east-1b");
  ids.subnetA.c = await createSubnet(ids.vpcA, "10.0.2.0/24", "us-east-1c");
  ids.web = await createGroup("web", ids.vpcA);
  ids.client = await createGroup("client", ids.vpcA);
  await cli(["ec2", "authorize-security-group-ingress", "--group-id", ids.web, "--protocol", "tcp", "--port", "8080", "--source-group", ids.client]);
  tasks.web = await runTask("web", ids.subnetA.b, { groups: [ids.web] });
  tasks.client = await runTask("client", ids.subnetA.b, { groups: [ids.client] });
  tasks.plain = await runTask("plain", ids.subnetA.b);
});

async function stopAllTasks(): Promise<void> {
  const listed = (await cli(["ecs", "list-tasks", "--cluster", "e2e", "--desired-status", "RUNNING"])).taskArns as string[];
  for (const arn of listed) await cli(["ecs", "stop-task", "--cluster", "e2e", "--task", arn]);
  for (const arn of listed) await waitForStatus(arn, "STOPPED");
}

const serverRunning = () => server !== undefined && server.process.exitCode === null && server.process.signalCode === null;

after(async () => {
  const complain = (error: Error) => process.stderr.write(`vpc-networking cleanup: ${error.message}\n`);
  try {
    // A test that failed midway leaves its tasks running: the agents keep containers across their own stops.
    if (serverRunning()) await stopAllTasks().catch(complain);
    for (const name of Object.keys(HOSTS) as HostName[]) await stopAgent(name).catch(complain);
    if (serverRunning()) await server!.stop();
    await server?.cleanup();
  } finally {
    if (process.env.BERTH_TEST_AGENT_LOG) writeFileSync(process.env.BERTH_TEST_AGENT_LOG, agentLogs());
    for (const child of children) child.kill();
    await registry?.stop();
    removeFabric();
    for (const dir of [site, serverDir, HOSTS.h1.dir, HOSTS.h2.dir]) rmSync(dir, { recursive: true, force: true });
  }
  assertNoNewLeaks(leaksBefore);
});

// ---- the tests ---------------------------------------------------------------------------------

test("placement by zone: every task of VPC A's zone-b subnet runs on h1, at the subnet's lowest free addresses", () => {
  for (const role of ["web", "client", "plain"]) assert.equal(hostOf(tasks[role]!), "h1", role);
  assert.deepEqual([tasks.web!.ip, tasks.client!.ip, tasks.plain!.ip], ["10.0.1.4", "10.0.1.5", "10.0.1.6"]);
});

test("a group's rule admits its source group only: client reaches web:8080; a default-group task and web -> client are dropped", async () => {
  assert.equal(await probe(tasks.client!, tasks.web!.ip), "hello-web");
  assert.equal(await probe(tasks.plain!, tasks.web!.ip), "closed", "plain is in the VPC's default group, not in client");
  assert.equal(await probe(tasks.web!, tasks.client!.ip), "closed", "client's group has no ingress rule (its listener is up: this is a drop)");
  // The listeners answer where a rule lets them: the client's "closed" above is the group's doing.
  assert.equal(await probe(tasks.client!, tasks.client!.ip), "hello-client");
});

/**
 * `change` sent with the SDK (in process: the answer is seen the moment it arrives, where the CLI
 * adds its own start and exit), then probes until `from` -> `to` answers `expected`: milliseconds
 * from the request sent and from its answer to the first probe that saw the change.
 */
async function timedChange(change: () => Promise<unknown>, from: RunningTask, to: RunningTask, expected: string) {
  const sent = performance.now();
  await change();
  const answered = performance.now();
  const sinceAnswer = await untilProbe(from, to, expected);
  return { sinceRequest: Math.round(answered - sent + sinceAnswer), sinceAnswer };
}

test("revoke, authorize again, and an interface moved into the source group reach the routers within a measured bound", async () => {
  const ec2 = new EC2Client({ ...sdkConfig(server!), requestHandler: { httpsAgent: new HttpsAgent({ ca: readFileSync(join(serverDir, "ca.pem")) }) } });
  const fromClient = { GroupId: ids.web, IpPermissions: [{ IpProtocol: "tcp", FromPort: 8080, ToPort: 8080, UserIdGroupPairs: [{ GroupId: ids.client }] }] };
  const revoked = await timedChange(() => ec2.send(new RevokeSecurityGroupIngressCommand(fromClient)), tasks.client!, tasks.web!, "closed");
  assert.equal(await probe(tasks.client!, tasks.web!.ip), "closed", "it stays closed");
  const authorized = await timedChange(() => ec2.send(new AuthorizeSecurityGroupIngressCommand(fromClient)), tasks.client!, tasks.web!, "hello-web");
  assert.equal(await probe(tasks.plain!, tasks.web!.ip), "closed");
  const moved = await timedChange(
    () => ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: tasks.plain!.eniId, Groups: [ids.client] })),
    tasks.plain!,
    tasks.web!,
    "hello-web",
  );
  ec2.destroy();
  // The CLI sees what the SDK did.
  const described = await cli(["ec2", "describe-network-interfaces", "--network-interface-ids", tasks.plain!.eniId]);
  const eni = (described.NetworkInterfaces as { Groups: { GroupId: string }[] }[])[0]!;
  assert.deepEqual(
    eni.Groups.map((group) => group.GroupId),
    [ids.client],
  );
  const rules = await cli(["ec2", "describe-security-group-rules", "--filters", `Name=group-id,Values=${ids.web}`]);
  assert.equal((rules.SecurityGroupRules as { IsEgress: boolean }[]).filter((rule) => !rule.IsEgress).length, 1);
  const figure = (what: string, time: { sinceRequest: number; sinceAnswer: number }) =>
    `${what} ${time.sinceRequest} ms after the request (${time.sinceAnswer} ms after the answer)`;
  note(
    `enforced: ${[figure("revoke -> dropped", revoked), figure("authorize -> passes", authorized), figure("interface into the group -> passes", moved)].join("; ")}`,
  );
  // The revoke by the CLI, as a user would type it, closes it again (and the authorize reopens it).
  const cliRule = ["--group-id", ids.web, "--protocol", "tcp", "--port", "8080", "--source-group", ids.client];
  assert.equal((await cli(["ec2", "revoke-security-group-ingress", ...cliRule])).Return, true);
  await untilProbe(tasks.client!, tasks.web!, "closed");
  await cli(["ec2", "authorize-security-group-ingress", ...cliRule]);
  await untilProbe(tasks.client!, tasks.web!, "hello-web");
});

test("a second VPC with the same CIDR: its task gets web's address, and it reaches nothing of VPC A", async () => {
  ids.vpcB = await createVpc("10.0.0.0/16");
  ids.subnetB.b = await createSubnet(ids.vpcB, "10.0.1.0/24", "us-east-1b");
  ids.subnetB.c = await createSubnet(ids.vpcB, "10.0.2.0/24", "us-east-1c");
  // The client group now admits all of 10.0.0.0/16: only the VPC boundary can keep B's task out.
  await cli(["ec2", "authorize-security-group-ingress", "--group-id", ids.client, "--protocol", "tcp", "--port", "8080", "--cidr", "10.0.0.0/16"]);
  tasks.b1 = await runTask("b1", ids.subnetB.b);
  assert.equal(hostOf(tasks.b1), "h1");
  assert.equal(tasks.b1.ip, tasks.web!.ip, "B's first task has A's web address");
  // From 10.0.1.4 in A (web) the client answers; from 10.0.1.4 in B nothing does.
  await untilProbe(tasks.web!, tasks.client!, "hello-client");
  assert.equal(await probe(tasks.b1, tasks.client!.ip), "closed");
  assert.equal(await probe(tasks.b1, tasks.plain!.ip), "closed");
  // And A's 10.0.1.4 is web, whoever else holds that address elsewhere.
  assert.equal(await probe(tasks.client!, tasks.web!.ip), "hello-web");
  assert.equal(await probe(tasks.plain!, tasks.b1.ip), "hello-web");
});

/** How long the first task of a VPC on h2 waited, once RUNNING, for its first answer from h1. */
const firstPeerWaits = { farToWeb: -1, b2ToB1: -1 };

test("across hosts over the overlay: VPC A's tasks on h1 and h2 reach each other, VPC B's reach only VPC B's", async () => {
  // Each the first task of its VPC on h2, probed before anything else changes in the fleet.
  tasks.far = await runTask("far", ids.subnetA.c, { groups: [ids.client] });
  firstPeerWaits.farToWeb = await untilProbe(tasks.far, tasks.web!, "hello-web", FIRST_PEERS_BOUND_MS);
  const webToFar = await untilProbe(tasks.web!, tasks.far, "hello-far");
  tasks.b2 = await runTask("b2", ids.subnetB.c);
  firstPeerWaits.b2ToB1 = await untilProbe(tasks.b2, tasks.b1!, "hello-b1", FIRST_PEERS_BOUND_MS);
  assert.deepEqual([hostOf(tasks.far), hostOf(tasks.b2)], ["h2", "h2"]);
  assert.equal(tasks.b2.ip, tasks.far.ip, "the same address in both VPCs, on the same host");
  assert.equal(await probe(tasks.b1!, tasks.b2.ip), "hello-b2");
  assert.equal(await probe(tasks.b2, tasks.client!.ip), "closed", "10.0.1.5 is VPC A's");
  assert.equal(await probe(tasks.b1!, tasks.far.ip), "hello-b2", "10.0.2.4 from VPC B is B's task");
  assert.equal(await probe(tasks.client!, tasks.b2.ip), "hello-far", "10.0.2.4 from VPC A is A's task");
  // Across hosts the task's link leaves room for the VXLAN header.
  assert.match(sh("ip", ["-n", tasks.far.netns, "link", "show", "eth0"]), /mtu 1450 /);
  note(
    `first answer across hosts after RUNNING (listener up): far -> web ${firstPeerWaits.farToWeb} ms, web -> far ${webToFar} ms, b2 -> b1 ${firstPeerWaits.b2ToB1} ms`,
  );

  // VPC B goes (5 VPCs per region): its tasks stop, its routers leave both hosts, then the VPC.
  await stopTask(tasks.b1!);
  await stopTask(tasks.b2);
  const routersOfB = (Object.keys(HOSTS) as HostName[]).map((name) => routerNames(join(HOSTS[name].dir, "agent", "network"), ids.vpcB).netns);
  await waitFor(() => !routersOfB.some((netns) => sh("ip", ["netns", "list"]).includes(netns)), { what: "VPC B's routers to go", timeoutMs: 20_000 });
  for (const subnet of [ids.subnetB.b, ids.subnetB.c]) await cli(["ec2", "delete-subnet", "--subnet-id", subnet]);
  await cli(["ec2", "delete-vpc", "--vpc-id", ids.vpcB]);
  const vpcs = (await cli(["ec2", "describe-vpcs"])).Vpcs as { VpcId: string }[];
  assert.equal(
    vpcs.some((vpc) => vpc.VpcId === ids.vpcB),
    false,
  );
  // VPC A's overlay is untouched by B's going.
  assert.equal(await probe(tasks.far, tasks.web!.ip), "hello-web");
});

test(
  "the first task of a VPC on a host reaches its peers on other hosts as soon as it runs",
  {
    todo:
      "known gap: the agent applies a poll answer's view before converging its tasks (src/agent/host-agent.ts pollAndConverge), so the view " +
      "skips the router that does not exist yet, and TaskNetworks.connect (src/network/task-networks.ts) applies the policy but not the overlay " +
      "peers (syncRouter does both): the peers come with the next poll answer, up to 20 s later",
  },
  () => {
    assert.ok(firstPeerWaits.farToWeb >= 0 && firstPeerWaits.farToWeb < 2_000, `far -> web took ${firstPeerWaits.farToWeb} ms`);
    assert.ok(firstPeerWaits.b2ToB1 >= 0 && firstPeerWaits.b2ToB1 < 2_000, `b2 -> b1 took ${firstPeerWaits.b2ToB1} ms`);
  },
);

test("NAT: a task with a public IP reaches the internet as h1's uplink address, a private one does not; only the public one shows a public IP", async () => {
  tasks.pub = await runTask("pub", ids.subnetA.b, { groups: [ids.client], publicIp: true });
  tasks.priv = await runTask("priv", ids.subnetA.b, { groups: [ids.client] });
  assert.equal(await probe(tasks.pub, INTERNET.server, 80), `from ${INTERNET.uplinkAddress}`);
  assert.equal(await probe(tasks.priv, INTERNET.server, 80), "closed");
  assert.equal(await probe(tasks.far!, INTERNET.server, 80), "closed", "h2 has no uplink");
  const described = await cli(["ec2", "describe-network-interfaces", "--network-interface-ids", tasks.pub.eniId, tasks.priv.eniId]);
  const publicIps = Object.fromEntries(
    (described.NetworkInterfaces as { NetworkInterfaceId: string; Association?: { PublicIp?: string } }[]).map((eni) => [
      eni.NetworkInterfaceId,
      eni.Association?.PublicIp,
    ]),
  );
  assert.deepEqual(publicIps, { [tasks.pub.eniId]: INTERNET.uplinkAddress, [tasks.priv.eniId]: undefined });
  const filtered = await cli(["ec2", "describe-network-interfaces", "--filters", `Name=association.public-ip,Values=${INTERNET.uplinkAddress}`]);
  assert.deepEqual(
    (filtered.NetworkInterfaces as { NetworkInterfaceId: string }[]).map((eni) => eni.NetworkInterfaceId),
    [tasks.pub.eniId],
  );
  // NAT without routing: h1's ip_forward stays pinned at 0.
  assert.equal(inHost("h1", ["sysctl", "-n", "net.ipv4.ip_forward"]), "0");
});

test("after the suite nothing of Berth's is left: no task, router, veth, vxlan, nft table or process, and ip_forward as before", async () => {
  await stopAllTasks();
  for (const name of Object.keys(HOSTS) as HostName[]) {
    assert.equal(await stopAgent(name), 0, `agent ${name} exits cleanly`);
    assert.equal(inHost(name, ["nft", "list", "tables"]), "", `no nft table left in ${name}`);
    const links = inHost(name, ["ip", "-o", "link", "show"])
      .split("\n")
      .map((line) => line.split(":")[1]!.trim().split("@")[0]!);
    assert.deepEqual(
      links.filter((link) => !["lo", "bthe2eul", INTERNET.uplink].includes(link)),
      [],
      `no router link or vxlan left in ${name}`,
    );
    assert.equal(inHost(name, ["sysctl", "-n", "net.ipv4.ip_forward"]), "0");
  }
  assert.equal(inHost("h1", ["sysctl", "-n", `net.ipv4.conf.${INTERNET.uplink}.forwarding`]), uplinkForwardingBefore, "the uplink's flag restored");
  assert.equal(await server!.stop(), 0);
  assert.equal(inNetns(CONTROL.netns, ["nft", "list", "tables"]), "", "the embedded agent's firewall went with the server");
  const ours = sh("ps", ["-eo", "stat=,args="])
    .split("\n")
    .filter((line) => !/^Z/.test(line) && [serverDir, HOSTS.h1.dir, HOSTS.h2.dir].some((dir) => line.includes(dir)));
  assert.deepEqual(ours, [], "no process of the server, the agents or their tasks");
  removeFabric();
  assertNoNewLeaks(leaksBefore);
  assert.equal(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(), ipForwardBefore);
});
