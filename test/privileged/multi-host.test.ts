// Two hosts in one fleet: `berth server` (embedded agent, room for one task) and a second
// `berth agent --server URL --token T --zone us-east-1b` running in its own network namespace,
// joined to the server over a veth pair this test creates (10.213.7.0/30, nothing else is
// touched). The second host takes the task the first cannot fit; then the remote agent restarts
// while its task runs, then the server restarts while the remote agent keeps running its task:
// after each, no task is lost, duplicated or orphaned.
//
// The agent joins the namespace's network only (nsenter --net), not a fresh mount namespace as
// `ip netns exec` would make: that one remounts /sys (hiding the cgroup hierarchies the runtime
// needs) and would keep the task mounts out of sight of a restarted agent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultNetwork } from "../../src/core/default-network.js";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { freePort, startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";
import { assertRoutedToRouter, webSecurityGroup } from "../support/web-security-group.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const NETNS = "bthmh";
// Not named bth*: the host firewall takes bth* interfaces for task ports and drops their input.
const HOST_SIDE = { link: "mhost0", address: "10.213.7.1" };
const NS_SIDE = { link: "mhost1", address: "10.213.7.2" };

let registry: TestRegistry;
let server: TestServer;
let serverArgs: string[];
let agent: ChildProcess | undefined;
let agentLog = "";
const site = mkdtempSync(join(tmpdir(), "berth-site-"));
const serverDir = mkdtempSync(join(tmpdir(), "berth-mh-server-"));
const agentDir = mkdtempSync(join(tmpdir(), "berth-mh-agent-"));
let subnetB: string;
/** A group letting port 80 in: the default group lets in only its members, and the probing host is not one. */
let webGroupId: string;

const sh = (command: string, args: string[]) => execFileSync(command, args, { encoding: "utf8" });
async function cli(args: string[]): Promise<Record<string, unknown>> {
  // The server listens off loopback, so over TLS (its generated CA in the data dir).
  const result = await awsCli(server, ["--ca-bundle", join(serverDir, "ca.pem"), ...args]);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}
type Task = { taskArn: string; lastStatus: string; containers: { networkInterfaces: { privateIpv4Address: string }[] }[] };
const describe = async (arn: string) => ((await cli(["ecs", "describe-tasks", "--cluster", "demo", "--tasks", arn])).tasks as Task[])[0]!;
const idOf = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

async function waitFor(arn: string, status: string, timeoutMs = 60_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await describe(arn);
    if (task.lastStatus === status) return task;
    if (Date.now() > deadline) throw new Error(`task ${arn} is ${task.lastStatus}, not ${status}\nremote agent:\n${agentLog.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function runTask(): Promise<string> {
  const answer = await cli([
    "ecs",
    "run-task",
    "--cluster",
    "demo",
    "--task-definition",
    "web",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${subnetB}],securityGroups=[${webGroupId}],assignPublicIp=DISABLED}`,
  ]);
  assert.deepEqual(answer.failures, []);
  return (answer.tasks as Task[])[0]!.taskArn;
}

/** conmon processes supervising a task's containers, by the agent data dir they belong to. */
function conmonsOf(taskId: string): { remote: number; embedded: number } {
  const lines = sh("ps", ["-eo", "stat=,args="])
    .split("\n")
    .filter((line) => /\/conmon /.test(line) && line.includes(`-c ${taskId}-`) && !/^Z/.test(line));
  return { remote: lines.filter((line) => line.includes(agentDir)).length, embedded: lines.filter((line) => line.includes(serverDir)).length };
}

/** The task's web page, fetched from inside the remote host's network namespace. */
function pageInNamespace(ip: string): string {
  assertRoutedToRouter(ip, NETNS);
  const probe = `fetch("http://${ip}/", { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then((t) => process.stdout.write(t))`;
  return sh("nsenter", [`--net=/run/netns/${NETNS}`, process.execPath, "-e", probe]);
}

const began = Date.now();
const step = (what: string) => process.stderr.write(`multi-host +${((Date.now() - began) / 1000).toFixed(1)}s ${what}\n`);

async function startAgent(): Promise<void> {
  step("starting the remote agent");
  const from = agentLog.length;
  const token = readFileSync(join(serverDir, "agent-token"), "utf8").trim();
  const child = spawn(
    "nsenter",
    [
      `--net=/run/netns/${NETNS}`,
      process.execPath,
      berth,
      "agent",
      // The token pins the server's CA: the agent verifies the server's certificate for this address.
      "--server",
      `https://${HOST_SIDE.address}:${new URL(server.endpoint).port}`,
      "--token",
      token,
      "--zone",
      "us-east-1b",
      "--data-dir",
      agentDir,
      "--insecure-registry",
      registry.address,
      "--capacity-cpu-units",
      "1024",
      "--capacity-memory-mib",
      "2048",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  agent = child;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth agent did not join:\n${agentLog}`)), 30_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      agentLog += chunk.toString();
      if (/joined/.test(agentLog.slice(from))) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`berth agent exited with ${code}:\n${agentLog}`));
    });
  });
}

async function stopAgent(): Promise<void> {
  step("stopping the remote agent");
  const child = agent;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error("berth agent did not exit on SIGTERM")), 15_000))]);
  agent = undefined;
}

before(async () => {
  sh("ip", ["netns", "add", NETNS]);
  sh("ip", ["link", "add", HOST_SIDE.link, "type", "veth", "peer", "name", NS_SIDE.link]);
  sh("ip", ["link", "set", NS_SIDE.link, "netns", NETNS]);
  sh("ip", ["addr", "add", `${HOST_SIDE.address}/30`, "dev", HOST_SIDE.link]);
  sh("ip", ["link", "set", HOST_SIDE.link, "up"]);
  sh("ip", ["-n", NETNS, "addr", "add", `${NS_SIDE.address}/30`, "dev", NS_SIDE.link]);
  sh("ip", ["-n", NETNS, "link", "set", NS_SIDE.link, "up"]);
  sh("ip", ["-n", NETNS, "link", "set", "lo", "up"]);
  // The registry and the server listen on the host side of the veth: both hosts reach them.
  registry = await startRegistry({ host: HOST_SIDE.address });
  writeFileSync(join(site, "index.html"), "<h1>Hello from Berth</h1>\n");
  await new Promise<void>((resolve, reject) =>
    execFile(
      process.execPath,
      [
        berth,
        "image",
        "build",
        "--tag",
        `${registry.address}/web:v1`,
        "--dir",
        `${site}:/var/www`,
        "--cmd",
        '["httpd","-f","-p","80","-h","/var/www"]',
        "--push",
        "--insecure-registry",
        registry.address,
      ],
      (error, _out, stderr) => (error ? reject(new Error(stderr)) : resolve()),
    ),
  );
  const port = await freePort();
  // The embedded agent has room for exactly one 0.25 vCPU task.
  serverArgs = [
    "--listen",
    `${HOST_SIDE.address}:${port}`,
    "--tls",
    "--capacity-cpu-units",
    "256",
    "--capacity-memory-mib",
    "512",
    "--insecure-registry",
    registry.address,
  ];
  server = await startTestServer({ agent: true, dataDir: serverDir, args: serverArgs });
  subnetB = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets.find((subnet) => subnet.availabilityZone === "us-east-1b")!.subnetId;
  await cli(["ecs", "create-cluster", "--cluster-name", "demo"]);
  webGroupId = await webSecurityGroup(server, { caBundle: join(serverDir, "ca.pem") });
  // stopTimeout 2: httpd as PID 1 ignores SIGTERM, so each stop would otherwise wait the 30 s default.
  const definition = join(site, "web.json");
  writeFileSync(
    definition,
    JSON.stringify({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "web", image: `${registry.address}/web:v1`, essential: true, stopTimeout: 2 }],
    }),
  );
  await cli(["ecs", "register-task-definition", "--cli-input-json", `file://${definition}`]);
  await startAgent();
});

after(async () => {
  try {
    // A test that failed between stopping and restarting the server must not strand the tasks.
    if (server.process.exitCode !== null || server.process.signalCode !== null)
      server = await startTestServer({ agent: true, dataDir: serverDir, args: serverArgs });
    if (!agent) await startAgent().catch((error: Error) => process.stderr.write(`${error.message}\n`));
    const listed = await cli(["ecs", "list-tasks", "--cluster", "demo"]).catch(() => ({ taskArns: [] }));
    for (const arn of (listed.taskArns ?? []) as string[]) {
      await cli(["ecs", "stop-task", "--cluster", "demo", "--task", arn]);
      await waitFor(arn, "STOPPED").catch((error: Error) => process.stderr.write(`${error.message}\n`));
    }
    await stopAgent().catch((error: Error) => {
      process.stderr.write(`${error.message}\n`);
      agent?.kill("SIGKILL");
    });
    await server.stop();
    await server.cleanup();
  } finally {
    if (process.env.BERTH_TEST_AGENT_LOG) writeFileSync(process.env.BERTH_TEST_AGENT_LOG, agentLog);
    await registry.stop();
    execFileSync("ip", ["link", "del", HOST_SIDE.link]);
    execFileSync("ip", ["netns", "del", NETNS]);
    for (const dir of [site, agentDir]) rmSync(dir, { recursive: true, force: true });
  }
  assertNoLeaks();
});

let onEmbedded: string;
let onRemote: string;

test("a second agent in its own network namespace takes the task the first host cannot fit", async () => {
  step("onEmbedded = await runTask();");
  onEmbedded = await runTask();
  await waitFor(onEmbedded, "RUNNING");
  assert.deepEqual(conmonsOf(idOf(onEmbedded)), { remote: 0, embedded: 1 }, "the tighter host (best fit) took the first task");
  step("onRemote = await runTask();");
  onRemote = await runTask();
  const running = await waitFor(onRemote, "RUNNING");
  assert.deepEqual(conmonsOf(idOf(onRemote)), { remote: 1, embedded: 0 }, "the embedded host is full: the remote one runs it");
  assert.match(pageInNamespace(running.containers[0]!.networkInterfaces[0]!.privateIpv4Address), /Hello from Berth/);
});

test("restarting the remote agent while its task runs loses, duplicates and orphans nothing", async () => {
  const ip = (await describe(onRemote)).containers[0]!.networkInterfaces[0]!.privateIpv4Address;
  await stopAgent();
  assert.match(pageInNamespace(ip), /Hello from Berth/, "the container outlived its agent");
  await startAgent();
  // A new task lands on the restarted agent too: it is back in the fleet.
  step("const third = await runTask();");
  const third = await runTask();
  await waitFor(third, "RUNNING");
  assert.deepEqual(conmonsOf(idOf(third)), { remote: 1, embedded: 0 });
  assert.equal((await describe(onRemote)).lastStatus, "RUNNING");
  assert.deepEqual(conmonsOf(idOf(onRemote)), { remote: 1, embedded: 0 }, "reattached, not started twice");
  assert.match(pageInNamespace(ip), /Hello from Berth/);
  await cli(["ecs", "stop-task", "--cluster", "demo", "--task", third]);
  await waitFor(third, "STOPPED");
  assert.deepEqual(conmonsOf(idOf(third)), { remote: 0, embedded: 0 });
});

test("restarting the server while the remote agent runs its task: the agent reconnects and nothing is lost", async () => {
  const ip = (await describe(onRemote)).containers[0]!.networkInterfaces[0]!.privateIpv4Address;
  step("const code = await server.stop();");
  const code = await server.stop();
  assert.equal(code, 0);
  assert.match(pageInNamespace(ip), /Hello from Berth/, "the task runs on while the control plane is down");
  step("server = await startTestServer({ agent: true, dataDir: serve");
  server = await startTestServer({ agent: true, dataDir: serverDir, args: serverArgs });
  // Give the agent time to notice, back off and reconnect, and to heartbeat into the new server.
  await new Promise((resolve) => setTimeout(resolve, 7_000));
  assert.ok(agent && agent.exitCode === null, "the remote agent kept running");
  for (const arn of [onEmbedded, onRemote]) assert.equal((await describe(arn)).lastStatus, "RUNNING");
  assert.deepEqual(conmonsOf(idOf(onRemote)), { remote: 1, embedded: 0 });
  assert.deepEqual(conmonsOf(idOf(onEmbedded)), { remote: 0, embedded: 1 });
  const listed = (await cli(["ecs", "list-tasks", "--cluster", "demo", "--desired-status", "RUNNING"])).taskArns as string[];
  assert.deepEqual(listed.sort(), [onEmbedded, onRemote].sort());
  // The new server's desired state still reaches the remote agent.
  step('await cli(["ecs", "stop-task", "--cluster", "demo", "--task"');
  await cli(["ecs", "stop-task", "--cluster", "demo", "--task", onRemote]);
  await waitFor(onRemote, "STOPPED");
  assert.deepEqual(conmonsOf(idOf(onRemote)), { remote: 0, embedded: 0 });
});
