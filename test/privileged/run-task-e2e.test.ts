// The Fargate user's day, end to end on one machine: `berth server` with its embedded agent, an
// image built by `berth image build` and pushed to Debian's docker-registry on loopback, and the
// AWS CLI driving RunTask, the ECS waiters, the task's web page over its private IP, CloudWatch
// Logs, StopTask; plus an essential container exiting 3, an image that does not exist, and a
// server killed with SIGKILL while its task runs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultNetwork } from "../../src/core/default-network.js";
import { awsCli, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { assertNoLeaks } from "../support/leaks.js";
import { assertRoutedToRouter, webSecurityGroup } from "../support/web-security-group.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
let registry: TestRegistry;
let server: TestServer;
let subnetId: string;
/** A group letting port 80 in: the default group lets in only its members, and this machine is not one. */
let webGroupId: string;
const site = mkdtempSync(join(tmpdir(), "berth-site-"));
const dataDir = mkdtempSync(join(tmpdir(), "berth-e2e-"));

const run = (args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [berth, ...args], (error, stdout, stderr) => (error ? reject(new Error(`${args.join(" ")}: ${stderr}`)) : resolve(stdout))),
  );
async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server, args);
  if (result.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}
type Task = {
  taskArn: string;
  lastStatus: string;
  stopCode?: string;
  stoppedReason?: string;
  containers: { exitCode?: number; reason?: string; lastStatus: string; networkInterfaces: { privateIpv4Address: string }[] }[];
  attachments: { details: { name: string; value: string }[] }[];
};
const describe = async (arn: string) => ((await cli(["ecs", "describe-tasks", "--cluster", "demo", "--tasks", arn])).tasks as Task[])[0]!;

async function waitFor(arn: string, status: string, timeoutMs = 30_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await describe(arn);
    if (task.lastStatus === status) return task;
    if (Date.now() > deadline) throw new Error(`task ${arn} is ${task.lastStatus}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function runTask(family: string): Promise<string> {
  const answer = await cli([
    "ecs",
    "run-task",
    "--cluster",
    "demo",
    "--task-definition",
    family,
    "--launch-type",
    "FARGATE",
    "--network-configuration",
    `awsvpcConfiguration={subnets=[${subnetId}],securityGroups=[${webGroupId}],assignPublicIp=ENABLED}`,
  ]);
  assert.deepEqual(answer.failures, []);
  return (answer.tasks as Task[])[0]!.taskArn;
}

async function register(family: string, container: Record<string, unknown>): Promise<void> {
  const file = join(site, `${family}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
      containerDefinitions: [{ name: family, essential: true, ...container }],
    }),
  );
  await cli(["ecs", "register-task-definition", "--cli-input-json", `file://${file}`]);
}

before(async () => {
  registry = await startRegistry();
  writeFileSync(join(site, "index.html"), "<h1>Hello from Berth</h1>\n");
  await run([
    "image",
    "build",
    "--tag",
    `${registry.address}/web:v1`,
    "--dir",
    `${site}:/var/www`,
    "--cmd",
    '["httpd","-f","-v","-p","80","-h","/var/www"]',
    "--push",
  ]);
  server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "8192", "--capacity-memory-mib", "16384"] });
  subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
  await cli(["ecs", "create-cluster", "--cluster-name", "demo"]);
  webGroupId = await webSecurityGroup(server);
});

after(async () => {
  // Tasks a failed test left running are stopped here: the agent leaves containers running across
  // its own restarts by design, so nothing else would clean them up.
  const listed = await cli(["ecs", "list-tasks", "--cluster", "demo", "--desired-status", "RUNNING"]).catch(() => ({ taskArns: [] }));
  for (const arn of (listed.taskArns ?? []) as string[]) {
    await cli(["ecs", "stop-task", "--cluster", "demo", "--task", arn]);
    await waitFor(arn, "STOPPED");
  }
  await server.stop();
  await server.cleanup();
  await registry.stop();
  rmSync(site, { recursive: true, force: true });
  assertNoLeaks();
});

test("run-task, wait tasks-running, fetch the page from the task's IP, read its logs, stop-task, wait tasks-stopped", async () => {
  await register("web", {
    image: `${registry.address}/web:v1`,
    portMappings: [{ containerPort: 80, protocol: "tcp" }],
    logConfiguration: {
      logDriver: "awslogs",
      options: { "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true" },
    },
  });
  const arn = await runTask("web");
  await cli(["ecs", "wait", "tasks-running", "--cluster", "demo", "--tasks", arn]);
  const task = await describe(arn);
  assert.equal(task.lastStatus, "RUNNING");
  const ip = task.containers[0]!.networkInterfaces[0]!.privateIpv4Address;
  const eni = task.attachments[0]!.details;
  assert.ok(eni.some((detail) => detail.name === "networkInterfaceId" && /^eni-/.test(detail.value)));
  assertRoutedToRouter(ip);
  const page = await (await fetch(`http://${ip}/`)).text();
  assert.match(page, /Hello from Berth/);
  const taskId = arn.slice(arn.lastIndexOf("/") + 1);
  const deadline = Date.now() + 10_000;
  let messages: string[] = [];
  while (Date.now() < deadline) {
    const events = await cli(["logs", "get-log-events", "--log-group-name", "/ecs/web", "--log-stream-name", `ecs/web/${taskId}`]).catch(() => ({
      events: [],
    }));
    messages = ((events.events ?? []) as { message: string }[]).map((event) => event.message);
    if (messages.some((message) => /response:200/.test(message))) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(
    messages.some((message) => /response:200/.test(message)),
    `httpd's access log line reached CloudWatch Logs: ${messages.join(" | ")}`,
  );
  await cli(["ecs", "stop-task", "--cluster", "demo", "--task", arn, "--reason", "done"]);
  await cli(["ecs", "wait", "tasks-stopped", "--cluster", "demo", "--tasks", arn]);
  const stopped = await describe(arn);
  assert.equal(stopped.stopCode, "UserInitiated");
});

test("an essential container exiting 3 stops the task with EssentialContainerExited and exit code 3", async () => {
  await register("exit3", { image: `${registry.address}/web:v1`, command: ["sh", "-c", "exit 3"] });
  const arn = await runTask("exit3");
  const stopped = await waitFor(arn, "STOPPED");
  assert.equal(stopped.stopCode, "EssentialContainerExited", `${stopped.stoppedReason} ${JSON.stringify(stopped.containers)}`);
  assert.equal(stopped.containers[0]!.exitCode, 3);
  assert.match(stopped.stoppedReason ?? "", /Essential container in task exited/);
});

test("an image that does not exist stops the task with CannotPullContainerError", async () => {
  await register("missing", { image: `${registry.address}/does-not-exist:v1` });
  const arn = await runTask("missing");
  const stopped = await waitFor(arn, "STOPPED");
  assert.equal(stopped.stopCode, "TaskFailedToStart");
  assert.match(stopped.stoppedReason ?? "", /^CannotPullContainerError: /);
});

test("a server killed with SIGKILL comes back to find its task still running, then stops it", async () => {
  // stopTimeout 2: httpd as PID 1 ignores SIGTERM; the 30 s default would race waitFor's 30 s.
  await register("survivor", { image: `${registry.address}/web:v1`, stopTimeout: 2 });
  const arn = await runTask("survivor");
  const running = await waitFor(arn, "RUNNING");
  const ip = running.containers[0]!.networkInterfaces[0]!.privateIpv4Address;
  await server.kill();
  server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "8192", "--capacity-memory-mib", "16384"] });
  assertRoutedToRouter(ip);
  assert.match(await (await fetch(`http://${ip}/`)).text(), /Hello from Berth/, "the container outlived the server");
  assert.equal((await waitFor(arn, "RUNNING")).lastStatus, "RUNNING");
  await cli(["ecs", "stop-task", "--cluster", "demo", "--task", arn]);
  await waitFor(arn, "STOPPED");
});

test("SIGTERM with a task running: the server exits within seconds and, restarted, finds the task still running", async () => {
  await register("sleeper", { image: `${registry.address}/web:v1`, stopTimeout: 2 });
  const arn = await runTask("sleeper");
  await waitFor(arn, "RUNNING");
  const started = Date.now();
  const code = await Promise.race([server.stop(), new Promise<string>((resolve) => setTimeout(() => resolve("timed out"), 10_000))]);
  assert.equal(code, 0, `berth server exited with ${code} after ${Date.now() - started} ms`);
  assert.ok(Date.now() - started < 5_000, `server.stop() took ${Date.now() - started} ms`);
  server = await startTestServer({ agent: true, dataDir, args: ["--capacity-cpu-units", "8192", "--capacity-memory-mib", "16384"] });
  assert.equal((await waitFor(arn, "RUNNING")).lastStatus, "RUNNING");
  await cli(["ecs", "stop-task", "--cluster", "demo", "--task", arn]);
  await waitFor(arn, "STOPPED");
});
