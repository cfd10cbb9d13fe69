// ECS services over real tasks (conmon + runc under `berth server`'s embedded agent, and a second
// `berth agent` in a network namespace of its own), driven through the front door with the SDK v3
// ECSClient and /usr/bin/aws: a task whose container is SIGKILLed on the host is replaced; a rolling
// deployment sampled every 50 ms stays within minimumHealthyPercent/maximumPercent; a revision whose
// container exits at once trips the circuit breaker and rolls back; a server SIGKILLed mid-deployment
// finishes the same deployment after its restart with exactly the desired tasks, none doubled, no
// container orphaned; a host lost with service tasks on it has them replaced on the host left.
//
// One server for the whole file. It listens on the host side of a veth pair this file creates
// (10.213.61.0/30, TLS, as multi-host.test.ts does), so the second agent, in its namespace on the
// other side, reaches it too; nothing else is touched, and the pair and namespace go at the end.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Service, Task } from "@aws-sdk/client-ecs";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServicesCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { defaultNetwork } from "../../src/core/default-network.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { freePort, startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";
import { waitFor } from "../support/wait-for.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
const NETNS = "bthsvc";
// Not named bth*: the host firewall takes bth* interfaces for task ports and drops their input.
const HOST_SIDE = { link: "svchost0", address: "10.213.61.1" };
const NS_SIDE = { link: "svchost1", address: "10.213.61.2" };
/** Where every Berth agent on this machine keeps runc's state (src/runtime/task-runtime.ts). */
const RUNC_ROOT = "/run/berth/runc";
const CLUSTER = "svc";

let registry: TestRegistry;
let server: TestServer;
let serverArgs: string[];
let ecs: ECSClient;
let remote: ChildProcess | undefined;
let remoteLog = "";
let remoteJoined = false;
const serverDir = mkdtempSync(join(tmpdir(), "berth-svc-server-"));
const remoteDir = mkdtempSync(join(tmpdir(), "berth-svc-agent-"));
const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
const subnetA = network.subnets.find((subnet) => subnet.availabilityZone === "us-east-1a")!.subnetId;
const subnetB = network.subnets.find((subnet) => subnet.availabilityZone === "us-east-1b")!.subnetId;

const began = Date.now();
const step = (what: string) => process.stderr.write(`services +${((Date.now() - began) / 1000).toFixed(1)}s ${what}\n`);
const sh = (command: string, args: string[]) => execFileSync(command, args, { encoding: "utf8" });
const idOf = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);
const revisionOf = (task: Task) => Number(task.taskDefinitionArn!.slice(task.taskDefinitionArn!.lastIndexOf(":") + 1));

async function cli(args: string[]): Promise<Record<string, unknown>> {
  // The server listens off loopback, so over TLS (its generated CA in the data dir).
  const result = await awsCli(server, ["--ca-bundle", join(serverDir, "ca.pem"), ...args]);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

function connect(): void {
  ecs?.destroy();
  ecs = new ECSClient({ ...sdkConfig(server), requestHandler: { httpsAgent: new HttpsAgent({ ca: readFileSync(join(serverDir, "ca.pem")) }) } });
}

async function startServer(): Promise<void> {
  server = await startTestServer({ agent: true, dataDir: serverDir, args: serverArgs });
  connect();
}

async function describeService(name: string): Promise<Service> {
  const answer = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }));
  assert.equal(answer.failures?.length ?? 0, 0, JSON.stringify(answer.failures));
  return answer.services![0]!;
}

/** Every task of the service the store still shows (told to run or told to stop), described. */
async function tasksOf(name: string): Promise<Task[]> {
  const arns = new Set<string>();
  for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: name, desiredStatus, nextToken }));
      for (const arn of page.taskArns ?? []) arns.add(arn);
      nextToken = page.nextToken;
    } while (nextToken);
  }
  const all = [...arns];
  const tasks: Task[] = [];
  for (let at = 0; at < all.length; at += 100) {
    const described = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: all.slice(at, at + 100) }));
    tasks.push(...described.tasks!);
  }
  return tasks;
}

/** ListTasks --service-name as the CLI gives it (desired status RUNNING, the default). */
async function listedByCli(name: string): Promise<string[]> {
  return (await cli(["ecs", "list-tasks", "--cluster", CLUSTER, "--service-name", name])).taskArns as string[];
}

/** Until the service's only deployment is COMPLETED on `revision` with `count` running tasks. */
async function waitCompleted(name: string, revision: number, count: number, timeoutMs = 60_000): Promise<Service> {
  let service: Service | undefined;
  await waitFor(
    async () => {
      service = await describeService(name);
      const primary = service.deployments?.[0];
      return (
        service.deployments?.length === 1 &&
        primary?.rolloutState === "COMPLETED" &&
        primary.taskDefinition!.endsWith(`:${revision}`) &&
        service.runningCount === count &&
        primary.runningCount === count &&
        service.pendingCount === 0
      );
    },
    {
      what: `service ${name} COMPLETED on revision ${revision} with ${count} tasks`,
      timeoutMs,
      intervalMs: 200,
    },
  ).catch((error: Error) => {
    throw new Error(
      `${error.message}\nlast seen: ${JSON.stringify(service?.deployments)}\nevents: ${service?.events?.map((event) => event.message).join("\n")}`,
    );
  });
  return service!;
}

/** runc's containers whose bundle lies under `dataDir` (one agent's), by id. */
function runcContainers(dataDir: string): string[] {
  // `runc list` fails (or warns on stderr) when an agent removes a container while it reads their
  // states: read again.
  for (let attempt = 1; ; attempt++) {
    try {
      const out = execFileSync("runc", ["--root", RUNC_ROOT, "list", "--format", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      const listed = JSON.parse(out.trim() || "null") as { id: string; bundle: string }[] | null;
      return (listed ?? [])
        .filter((container) => container.bundle.startsWith(dataDir))
        .map((container) => container.id)
        .sort();
    } catch (error) {
      if (attempt >= 20) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/** conmon processes supervising containers of `dataDir`'s agent. */
function conmonsOf(dataDir: string): string[] {
  return sh("ps", ["-eo", "stat=,args="])
    .split("\n")
    .filter((line) => /\/conmon /.test(line) && line.includes(dataDir) && !/^Z/.test(line));
}

/** SIGKILLs the task's container process from outside: its pid from runc's state, checked against the task's cgroup. */
function killContainerProcess(taskArn: string): number {
  const containerId = `${idOf(taskArn)}-app`;
  const state = JSON.parse(sh("runc", ["--root", RUNC_ROOT, "state", containerId])) as { pid: number; status: string };
  assert.equal(state.status, "running");
  const cgroups = readFileSync(`/proc/${state.pid}/cgroup`, "utf8");
  assert.ok(cgroups.includes(`/berth/${idOf(taskArn)}/app`), `pid ${state.pid} is in the task's cgroup:\n${cgroups}`);
  const procs = readFileSync(`/sys/fs/cgroup/pids/berth/${idOf(taskArn)}/app/cgroup.procs`, "utf8")
    .split("\n")
    .filter(Boolean)
    .map(Number);
  assert.ok(procs.includes(state.pid), `cgroup.procs ${procs.join(",")} holds ${state.pid}`);
  process.kill(state.pid, "SIGKILL");
  return state.pid;
}

async function registerRevision(container: Record<string, unknown>): Promise<void> {
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "svc",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      // stopTimeout 2: sleep as PID 1 ignores SIGTERM, so each stop would otherwise wait the 30 s default.
      containerDefinitions: [{ name: "app", image: `${registry.address}/svc:v1`, essential: true, stopTimeout: 2, ...container }],
    }),
  );
}

async function startRemoteAgent(): Promise<void> {
  step("starting the remote agent");
  const from = remoteLog.length;
  const token = readFileSync(join(serverDir, "agent-token"), "utf8").trim();
  const child = spawn(
    "nsenter",
    [
      `--net=/run/netns/${NETNS}`,
      process.execPath,
      berth,
      "agent",
      "--server",
      `https://${HOST_SIDE.address}:${new URL(server.endpoint).port}`,
      "--token",
      token,
      "--zone",
      "us-east-1b",
      "--data-dir",
      remoteDir,
      "--insecure-registry",
      registry.address,
      // Room for two of the service's tasks: the tighter host (best fit) takes those first.
      "--capacity-cpu-units",
      "512",
      "--capacity-memory-mib",
      "1024",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  remote = child;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth agent did not join:\n${remoteLog}`)), 30_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      remoteLog += chunk.toString();
      if (/joined/.test(remoteLog.slice(from))) {
        remoteJoined = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`berth agent exited with ${code}:\n${remoteLog}`));
    });
  });
}

async function stopRemoteAgent(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  const child = remote;
  remote = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`berth agent did not exit on ${signal}`)), 15_000))]);
  // Stopped cleanly (its tasks were stopped first): nothing of it for after() to clean up.
  if (signal === "SIGTERM") remoteJoined = false;
}

/** Scales to zero, deletes, and waits until the service is INACTIVE with every task STOPPED. */
async function removeService(name: string): Promise<void> {
  await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: name, desiredCount: 0 }));
  await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: name, force: true }));
  await waitFor(async () => (await describeService(name)).status === "INACTIVE", { what: `${name} INACTIVE`, timeoutMs: 60_000, intervalMs: 200 });
  await waitFor(async () => (await tasksOf(name)).every((task) => task.lastStatus === "STOPPED"), { what: `${name}'s tasks STOPPED`, timeoutMs: 60_000 });
}

/**
 * A test's own service goes when the test ends, passed or failed, so the next one starts on an
 * empty host (its checks of the host's containers would otherwise see this one's).
 */
async function removeServiceForNext(name: string): Promise<void> {
  step(`removing ${name}`);
  if (server.process.exitCode !== null || server.process.signalCode !== null) await startServer();
  // A remote agent killed by a test that failed before bringing it back still has containers running.
  if (remoteJoined && !remote) await startRemoteAgent();
  await removeService(name).catch((error: Error) => {
    if (error.name !== "ServiceNotFoundException") throw error;
  });
  await waitFor(() => runcContainers(serverDir).length === 0 && runcContainers(remoteDir).length === 0, {
    what: `${name}'s containers removed`,
    timeoutMs: 30_000,
  });
  await stopRemoteAgent("SIGTERM");
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
  registry = await startRegistry({ host: HOST_SIDE.address });
  await new Promise<void>((resolve, reject) =>
    execFile(
      process.execPath,
      [berth, "image", "build", "--tag", `${registry.address}/svc:v1`, "--cmd", '["sleep","3600"]', "--push", "--insecure-registry", registry.address],
      (error, _out, stderr) => (error ? reject(new Error(stderr)) : resolve()),
    ),
  );
  serverArgs = [
    "--listen",
    `${HOST_SIDE.address}:${await freePort()}`,
    "--tls",
    // Sixteen 0.25 vCPU / 512 MiB tasks: a 6-task service with 6 more of its next revision fits.
    "--capacity-cpu-units",
    "4096",
    "--capacity-memory-mib",
    "8192",
    "--insecure-registry",
    registry.address,
  ];
  await startServer();
  await cli(["ecs", "create-cluster", "--cluster-name", CLUSTER]);
  await registerRevision({ command: ["sleep", "3600"] }); // svc:1
  await registerRevision({ command: ["sleep", "3600"], environment: [{ name: "REVISION", value: "2" }] }); // svc:2
  await registerRevision({ command: ["sh", "-c", "exit 1"] }); // svc:3, exits at once
});

after(async () => {
  try {
    // A test that failed half-way must not strand tasks: the agents leave containers running across
    // their own restarts by design, so only stopping them through the control plane removes them.
    if (server.process.exitCode !== null || server.process.signalCode !== null) await startServer();
    if (remoteJoined && !remote) await startRemoteAgent().catch((error: Error) => process.stderr.write(`${error.message}\n`));
    const services = (await ecs.send(new ListServicesCommand({ cluster: CLUSTER })).catch(() => ({ serviceArns: [] }))).serviceArns ?? [];
    for (const arn of services) await removeService(idOf(arn)).catch((error: Error) => process.stderr.write(`${error.message}\n`));
    const listed = await cli(["ecs", "list-tasks", "--cluster", CLUSTER]).catch(() => ({ taskArns: [] }));
    for (const arn of (listed.taskArns ?? []) as string[]) await cli(["ecs", "stop-task", "--cluster", CLUSTER, "--task", arn]);
    await waitFor(async () => ((await cli(["ecs", "list-tasks", "--cluster", CLUSTER])).taskArns as string[]).length === 0, {
      what: "every task stopped",
      timeoutMs: 60_000,
    }).catch((error: Error) => process.stderr.write(`${error.message}\n`));
    await waitFor(() => conmonsOf(serverDir).length === 0 && conmonsOf(remoteDir).length === 0, { what: "no conmon left", timeoutMs: 30_000 }).catch(
      (error: Error) => process.stderr.write(`${error.message}\n`),
    );
    await stopRemoteAgent("SIGTERM").catch((error: Error) => process.stderr.write(`${error.message}\n`));
    ecs.destroy();
    await server.stop();
    await server.cleanup();
  } finally {
    if (process.env.BERTH_TEST_AGENT_LOG) writeFileSync(process.env.BERTH_TEST_AGENT_LOG, remoteLog);
    await registry.stop();
    execFileSync("ip", ["link", "del", HOST_SIDE.link]);
    execFileSync("ip", ["netns", "del", NETNS]);
    rmSync(remoteDir, { recursive: true, force: true });
  }
  assertNoLeaks();
});

test("a service task whose container is SIGKILLed on the host is replaced and the service is steady again", async () => {
  step("create-service web (2 tasks)");
  const created = await cli([
    "ecs",
    "create-service",
    "--cluster",
    CLUSTER,
    "--service-name",
    "web",
    "--task-definition",
    "svc:1",
    "--desired-count",
    "2",
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${subnetA},${subnetB}],assignPublicIp=DISABLED}`,
  ]);
  assert.equal((created.service as Service).status, "ACTIVE");
  await waitCompleted("web", 1, 2);
  const waited = await awsCli(server, ["--ca-bundle", join(serverDir, "ca.pem"), "ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", "web"]);
  assert.equal(waited.code, 0, waited.stderr);
  const running = await listedByCli("web");
  assert.equal(running.length, 2);
  assert.deepEqual(runcContainers(serverDir), running.map((arn) => `${idOf(arn)}-app`).sort(), "one container per task on the host");

  const victim = running[0]!;
  step(`SIGKILL of ${idOf(victim)}'s container process`);
  killContainerProcess(victim);
  let replacement: string | undefined;
  await waitFor(
    async () => {
      const tasks = await tasksOf("web");
      replacement = tasks.find((task) => !running.includes(task.taskArn!) && task.lastStatus === "RUNNING")?.taskArn;
      return replacement !== undefined;
    },
    { what: "a replacement RUNNING", timeoutMs: 30_000, intervalMs: 100 },
  );
  step("replacement RUNNING");
  let steady = await waitCompleted("web", 1, 2);
  // The deployment was COMPLETED before the kill and stays so: its counts are written by the pass
  // that sees the stop, which may come after the replacement is seen RUNNING here.
  await waitFor(
    async () => {
      steady = await describeService("web");
      return steady.deployments![0]!.failedTasks === 1;
    },
    { what: "the killed task to count as a failed task of the deployment", timeoutMs: 20_000 },
  );
  const killed = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [victim] }))).tasks![0]!;
  assert.equal(killed.lastStatus, "STOPPED");
  assert.equal(killed.stopCode, "EssentialContainerExited");
  assert.equal(killed.containers![0]!.exitCode, 137);
  const now = await listedByCli("web");
  assert.deepEqual(now.sort(), [running[1]!, replacement!].sort());
  await waitFor(
    () =>
      runcContainers(serverDir).join() ===
      now
        .map((arn) => `${idOf(arn)}-app`)
        .sort()
        .join(),
    { what: "the killed container removed" },
  );
  const messages = steady.events!.map((event) => event.message!);
  assert.ok(
    messages.some((message) => message.includes(`(task ${idOf(replacement!)})`) && message.startsWith("(service web) has started 1 tasks")),
    messages.join("\n"),
  );
});

test("a rolling deployment (minimumHealthyPercent 100, maximumPercent 200) never drops below 2 RUNNING nor exceeds 4 tasks", async () => {
  step("update-service web to svc:2");
  const updated = await ecs.send(
    new UpdateServiceCommand({
      cluster: CLUSTER,
      service: "web",
      taskDefinition: "svc:2",
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
    }),
  );
  const deploymentId = updated.service!.deployments![0]!.id!;
  let lowRunning = Infinity;
  let highOccupying = 0;
  let lowServiceRunning = Infinity;
  let highServiceTotal = 0;
  let samples = 0;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const [service, tasks] = await Promise.all([describeService("web"), tasksOf("web")]);
    samples++;
    const running = tasks.filter((task) => task.lastStatus === "RUNNING").length;
    const occupying = tasks.filter((task) => task.lastStatus !== "STOPPED").length;
    lowRunning = Math.min(lowRunning, running);
    highOccupying = Math.max(highOccupying, occupying);
    lowServiceRunning = Math.min(lowServiceRunning, service.runningCount!);
    highServiceTotal = Math.max(highServiceTotal, service.runningCount! + service.pendingCount!);
    const primary = service.deployments![0]!;
    const done =
      service.deployments!.length === 1 &&
      primary.rolloutState === "COMPLETED" &&
      primary.taskDefinition!.endsWith(":2") &&
      occupying === 2 &&
      tasks.filter((task) => task.lastStatus !== "STOPPED").every((task) => revisionOf(task) === 2);
    if (done) break;
    if (Date.now() > deadline) assert.fail(`the deployment did not complete: ${JSON.stringify(service.deployments)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  step(`deployment COMPLETED after ${samples} samples`);
  assert.ok(lowRunning >= 2, `never fewer than 2 RUNNING tasks (saw ${lowRunning})`);
  assert.ok(highOccupying <= 4, `never more than 4 tasks not STOPPED (saw ${highOccupying})`);
  assert.ok(lowServiceRunning >= 2, `the service's runningCount never below 2 (saw ${lowServiceRunning})`);
  assert.ok(highServiceTotal <= 4, `the service's runningCount + pendingCount never above 4 (saw ${highServiceTotal})`);
  const service = await waitCompleted("web", 2, 2);
  assert.equal(service.deployments![0]!.id, deploymentId);
  const live = await listedByCli("web");
  const described = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: live }))).tasks!;
  assert.deepEqual(
    described.map((task) => [task.lastStatus, revisionOf(task), task.startedBy]),
    [
      ["RUNNING", 2, deploymentId],
      ["RUNNING", 2, deploymentId],
    ],
  );
  await waitFor(
    () =>
      runcContainers(serverDir).join() ===
      live
        .map((arn) => `${idOf(arn)}-app`)
        .sort()
        .join(),
    { what: "the old containers removed" },
  );
});

test("a revision whose container exits at once trips the circuit breaker and rolls back to the last completed deployment at once", async (t) => {
  t.after(() => removeServiceForNext("web"));
  const completedId = (await describeService("web")).deployments![0]!.id!;
  // Six tasks of the failing revision fail together: the breaker (threshold 3) trips on them, and
  // the rollback must not then wait out a launch back-off for failures of the deployment it left.
  step("update-service web to svc:3 (exits at once) x 6 with the circuit breaker");
  const updated = await cli([
    "ecs",
    "update-service",
    "--cluster",
    CLUSTER,
    "--service",
    "web",
    "--task-definition",
    "svc:3",
    "--desired-count",
    "6",
    "--deployment-configuration",
    "maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}",
  ]);
  const failingId = (updated.service as Service).deployments![0]!.id!;
  let failed: Service | undefined;
  await waitFor(
    async () => {
      failed = await describeService("web");
      return failed.events!.some((event) => event.message!.endsWith(" deployment failed: tasks failed to start."));
    },
    { what: "the circuit breaker to trip", timeoutMs: 60_000, intervalMs: 100 },
  );
  const trippedAt = Date.now();
  step("circuit breaker tripped");
  const failedDeployment = failed!.deployments!.find((deployment) => deployment.id === failingId)!;
  assert.equal(failedDeployment.rolloutState, "FAILED");
  assert.equal(failedDeployment.rolloutStateReason, "ECS deployment circuit breaker: tasks failed to start.");
  assert.ok(failedDeployment.failedTasks! >= 3, `threshold 3 for 6 tasks (saw ${failedDeployment.failedTasks})`);
  assert.ok(
    failed!.events!.some((event) => event.message === `(service web) (deployment ${failingId}) deployment failed: tasks failed to start.`),
    failed!.events!.map((event) => event.message).join("\n"),
  );
  const service = await waitCompleted("web", 2, 6, 120_000);
  step(`rollback COMPLETED ${((Date.now() - trippedAt) / 1000).toFixed(1)} s after the trip was seen`);
  const rollback = service.deployments![0]!;
  assert.notEqual(rollback.id, completedId, "the rollback is a new deployment");
  assert.notEqual(rollback.id, failingId);
  assert.equal(rollback.rolloutStateReason?.startsWith("ECS deployment"), true, rollback.rolloutStateReason);
  const events = [...service.events!].reverse();
  const rollingBack = events.find((event) => event.message === `(service web) rolling back to deployment ${completedId}.`);
  assert.ok(rollingBack, events.map((event) => event.message).join("\n"));
  const live = await listedByCli("web");
  assert.equal(live.length, 6);
  const liveTasks = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: live }))).tasks!;
  for (const task of liveTasks) {
    assert.equal(revisionOf(task), 2);
    assert.equal(task.startedBy, rollback.id);
  }
  // The rollback's first tasks were launched within a few passes (2 s backstop) of the rollback.
  const firstLaunch = Math.min(...liveTasks.map((task) => new Date(task.createdAt!).getTime()));
  const waited = firstLaunch - new Date(rollingBack.createdAt!).getTime();
  step(`the rollback launched its first task ${(waited / 1000).toFixed(1)} s after it began`);
  assert.ok(
    waited < 4_000,
    `the rollback waited ${waited} ms before its first launch:\n${events.map((event) => `${new Date(event.createdAt!).toISOString()} ${event.message}`).join("\n")}`,
  );
  // Every task of the failing revision is STOPPED: those that exited count as failures, those still
  // starting when the breaker tripped were stopped by the scheduler.
  const crashed = (await tasksOf("web")).filter((task) => revisionOf(task) === 3);
  for (const task of crashed) assert.equal(task.lastStatus, "STOPPED");
  const exited = crashed.filter((task) => task.stopCode === "EssentialContainerExited");
  assert.ok(exited.length >= 3, `at least the threshold exited: ${crashed.map((task) => task.stopCode).join(" ")}`);
  for (const task of exited) assert.equal(task.containers![0]!.exitCode, 1);
  for (const task of crashed.filter((candidate) => !exited.includes(candidate))) assert.equal(task.stopCode, "ServiceSchedulerInitiated");
});

test("kill -9 of the server mid-deployment: after a restart the deployment completes with exactly 6 tasks of the new revision, none doubled, none orphaned", async (t) => {
  t.after(() => removeServiceForNext("deploy"));
  step("create-service deploy (6 tasks)");
  await ecs.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: "deploy",
      taskDefinition: "svc:1",
      desiredCount: 6,
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnetA, subnetB], assignPublicIp: "DISABLED" } },
    }),
  );
  await waitCompleted("deploy", 1, 6);
  step("update-service deploy to svc:2");
  const updated = await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "deploy", taskDefinition: "svc:2" }));
  const deploymentId = updated.service!.deployments![0]!.id!;
  // Mid-deployment: some of the new revision's tasks placed, none of the old ones all gone.
  await waitFor(
    async () => {
      const tasks = await tasksOf("deploy");
      const fresh = tasks.filter((task) => task.startedBy === deploymentId);
      const old = tasks.filter((task) => revisionOf(task) === 1 && task.lastStatus === "RUNNING");
      return fresh.length > 0 && old.length > 0;
    },
    { what: "the deployment under way", timeoutMs: 30_000, intervalMs: 20 },
  );
  const midway = await tasksOf("deploy");
  step(`SIGKILL of the server (${midway.map((task) => `${revisionOf(task)}:${task.lastStatus}`).join(" ")})`);
  await server.kill();
  await startServer();
  step("server restarted");
  const service = await waitCompleted("deploy", 2, 6, 120_000);
  step("deployment COMPLETED");
  assert.equal(service.deployments![0]!.id, deploymentId, "the same deployment completed");
  const live = await listedByCli("deploy");
  assert.equal(live.length, 6, `exactly 6 tasks told to run: ${live.join(" ")}`);
  const all = await tasksOf("deploy");
  const ofNew = all.filter((task) => revisionOf(task) === 2);
  assert.equal(
    ofNew.length,
    6,
    `exactly 6 tasks of the new revision were ever started: ${ofNew.map((task) => `${idOf(task.taskArn!)} ${task.lastStatus}`).join(", ")}`,
  );
  for (const task of ofNew) {
    assert.equal(task.lastStatus, "RUNNING");
    assert.equal(task.startedBy, deploymentId);
    assert.ok(live.includes(task.taskArn!));
  }
  for (const task of all.filter((candidate) => revisionOf(candidate) === 1)) assert.equal(task.lastStatus, "STOPPED");
  // The host runs exactly those containers, each under one conmon.
  const expected = live.map((arn) => `${idOf(arn)}-app`).sort();
  await waitFor(() => runcContainers(serverDir).join() === expected.join() && conmonsOf(serverDir).length === 6, {
    what: `only the service's 6 live containers on the host (runc: ${runcContainers(serverDir).join(" ")})`,
    timeoutMs: 30_000,
  });
  for (const id of expected) assert.equal(conmonsOf(serverDir).filter((line) => line.includes(`-c ${id} `)).length, 1, `one conmon for ${id}`);
});

test("a host lost with service tasks on it: its tasks are STOPPED and replaced on the remaining host, and the service is steady again", async (t) => {
  t.after(() => removeServiceForNext("spread"));
  await startRemoteAgent();
  step("create-service spread (4 tasks in us-east-1b)");
  await ecs.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: "spread",
      taskDefinition: "svc:1",
      desiredCount: 4,
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnetB], assignPublicIp: "DISABLED" } },
    }),
  );
  await waitCompleted("spread", 1, 4);
  const initial = await listedByCli("spread");
  const onRemote = initial.filter((arn) => runcContainers(remoteDir).includes(`${idOf(arn)}-app`));
  const onEmbedded = initial.filter((arn) => runcContainers(serverDir).includes(`${idOf(arn)}-app`));
  assert.equal(onRemote.length, 2, "the remote host (the tighter fit) took two");
  assert.equal(onEmbedded.length, 2, "the embedded host took the rest");

  step("SIGKILL of the remote agent");
  await stopRemoteAgent("SIGKILL");
  const lostAt = Date.now();
  await waitFor(
    async () => {
      const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: onRemote }))).tasks!;
      return tasks.every((task) => task.lastStatus === "STOPPED");
    },
    { what: "the lost host's tasks STOPPED", timeoutMs: 60_000, intervalMs: 250 },
  );
  step(`lost host's tasks STOPPED after ${((Date.now() - lostAt) / 1000).toFixed(1)} s`);
  for (const task of (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: onRemote }))).tasks!)
    assert.equal(task.stoppedReason, "Task stopped because its host stopped responding (infrastructure failure).");
  const service = await waitCompleted("spread", 1, 4, 60_000);
  step("spread steady again");
  assert.equal(service.deployments![0]!.failedTasks ?? 0, 0, "a lost host is not the tasks' failure");
  const final = await listedByCli("spread");
  assert.equal(final.length, 4);
  assert.deepEqual(final.filter((arn) => onEmbedded.includes(arn)).sort(), onEmbedded.sort(), "the surviving host's tasks kept running");
  const replacements = final.filter((arn) => !initial.includes(arn));
  assert.equal(replacements.length, 2);
  for (const arn of final) assert.ok(runcContainers(serverDir).includes(`${idOf(arn)}-app`), `${idOf(arn)} runs on the remaining host`);

  // The lost host's containers outlived their agent; back, it stops what the control plane no longer knows.
  assert.equal(runcContainers(remoteDir).length, 2, "the lost host's containers still run while its agent is down");
  await startRemoteAgent();
  await waitFor(() => runcContainers(remoteDir).length === 0 && conmonsOf(remoteDir).length === 0, {
    what: "the returning agent to stop its orphans",
    timeoutMs: 30_000,
  });
});
