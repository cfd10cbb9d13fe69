// An agent with two servers (`berth agent --server A --server B`), end to end: two real `berth
// server --no-agent` processes on one PostgreSQL store, and an agent in this process made of the
// real parts above the host (the Agent and its task runners, report forwarding, log shipping,
// the HostAgent loops and the failover link) over fake images, networks and containers. A server
// is killed (SIGKILL) while tasks run and ship their lines, then the other: every task's state and
// every log line reaches the store once, through whichever server is up. The second kill shows the
// way back: the first server, restarted on its port, takes over again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { createAgent } from "../../src/agent/index.js";
import type { Agent } from "../../src/agent/index.js";
import { createFailoverControlLink } from "../../src/agent/control-link-failover.js";
import type { FailoverControlLink } from "../../src/agent/control-link-failover.js";
import { AwslogsSink, HostAgent, ReportForwarder } from "../../src/agent/host-agent.js";
import { systemClock } from "../../src/core/clock.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import { FakeImages, FakeNetworks, FakeRuntime } from "../support/agent-fakes.js";
import type { PostgresDatabase } from "../support/postgres.js";
import { freshPostgresDatabase, stopOwnPostgresCluster } from "../support/postgres.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import { waitFor } from "../support/wait-for.js";

const LINES_PER_TASK = 120;
const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
const networkConfiguration = { awsvpcConfiguration: { subnets: [network.subnets[0]!.subnetId], assignPublicIp: "ENABLED" as const } };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

let database: PostgresDatabase;
let first: TestServer;
let second: TestServer;
let firstPort: string;
let agentDir: string;
let runtime: FakeRuntime;
let link: FailoverControlLink;
let hostAgent: HostAgent;
const switches: string[] = [];

before(async () => {
  database = await freshPostgresDatabase();
  agentDir = mkdtempSync(join(tmpdir(), "berth-agent-failover-"));
  // Replicas seal the store's secrets with one key (--store-key-file).
  writeFileSync(join(agentDir, "store.key"), randomBytes(32), { mode: 0o600 });
  first = await startTestServer({ store: database, args: replicaArgs() });
  second = await startTestServer({ store: database, args: replicaArgs() });
  firstPort = new URL(first.endpoint).port;
  const ecs = new ECSClient(sdkConfig(first));
  await ecs.send(new CreateClusterCommand({ clusterName: "demo" }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
      containerDefinitions: [
        {
          name: "app",
          image: "busybox",
          logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": "/ecs/failover", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true" },
          },
        },
      ],
    }),
  );
  ecs.destroy();
  hostAgent = startAgent(readFileSync(join(first.dataDir, "agent-token"), "utf8").trim());
  await hostAgent.start();
});

after(async () => {
  await hostAgent?.close();
  for (const server of [first, second]) {
    await server?.kill();
    await server?.cleanup();
  }
  await database?.drop();
  await stopOwnPostgresCluster();
  if (agentDir) rmSync(agentDir, { recursive: true, force: true });
});

const replicaArgs = (listen = "127.0.0.1:0") => ["--store-key-file", join(agentDir, "store.key"), "--listen", listen];

/** The agent as host-agent-assembly.ts wires it, with fake host parts under the task runners. */
function startAgent(token: string): HostAgent {
  runtime = new FakeRuntime();
  link = createFailoverControlLink({
    serverUrls: [first.endpoint, second.endpoint],
    token,
    secretFile: join(agentDir, "host-secret"),
    switchBackoff: { firstMs: 100, maxMs: 400 },
    logger: { warn: (details) => switches.push(`${(details as { from: string }).from} -> ${(details as { to: string }).to}`) },
  });
  const reports = new ReportForwarder(link, systemClock, quiet);
  const logSink = new AwslogsSink(link, (taskId) => agent.specOf(taskId));
  const agent: Agent = createAgent({
    stateDir: join(agentDir, "tasks"),
    images: new FakeImages(),
    runtime,
    networks: new FakeNetworks(),
    logSink,
    reporter: reports,
    clock: systemClock,
    logger: quiet,
    logPollMs: 50,
  });
  return new HostAgent({
    agent,
    link,
    identity: {
      hostId: "host-failover",
      agentVersion: "test",
      availabilityZone: "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: 4096, memoryMiB: 8192, taskSlots: 50, ephemeralGiB: 1000 },
      machine: { cpuCount: 8, memoryMiB: 16384 },
      overcommit: false,
      subnetIds: [],
    },
    reports,
    logSink,
    clock: systemClock,
    logger: quiet,
  });
}

/** Appends `count` lines to a task's container log, as its process would write them. */
function writeLines(taskId: string, from: number, count: number): void {
  const logs = runtime.containers.get(`${taskId}-app`)!.logs;
  for (let line = from; line < from + count; line++) logs.push({ timestamp: Date.now(), message: `line ${line}`, stream: "stdout", offset: logs.length + 1 });
}

async function statuses(server: TestServer, taskArns: string[]): Promise<string[]> {
  const ecs = new ECSClient(sdkConfig(server));
  try {
    const described = await ecs.send(new DescribeTasksCommand({ cluster: "demo", tasks: taskArns }));
    return taskArns.map((arn) => described.tasks!.find((task) => task.taskArn === arn)?.lastStatus ?? "MISSING");
  } finally {
    ecs.destroy();
  }
}

async function storedLines(server: TestServer, taskId: string): Promise<string[]> {
  const logs = new CloudWatchLogsClient(sdkConfig(server));
  try {
    const answer = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/failover", logStreamName: `ecs/app/${taskId}`, startFromHead: true }));
    return (answer.events ?? []).map((event) => event.message!);
  } catch {
    return []; // the stream is created with its first lines
  } finally {
    logs.destroy();
  }
}

const allLines = Array.from({ length: LINES_PER_TASK }, (_, line) => `line ${line}`);

/** Each task's lines, stored once each, in the order written. */
async function assertLinesStoredOnce(server: TestServer, taskIds: string[]) {
  for (const taskId of taskIds) {
    await waitFor(async () => (await storedLines(server, taskId)).length >= LINES_PER_TASK, { what: `the lines of ${taskId}`, timeoutMs: 30_000 });
    assert.deepEqual(await storedLines(server, taskId), allLines, `task ${taskId}: every line once, in order`);
  }
}

test("a server killed while tasks run and ship lines: the agent moves to the other and nothing is lost or stored twice; then back", async () => {
  const ecs1 = new ECSClient(sdkConfig(first));
  const run = await ecs1.send(new RunTaskCommand({ cluster: "demo", taskDefinition: "web", launchType: "FARGATE", count: 4, networkConfiguration }));
  ecs1.destroy();
  const arns = run.tasks!.map((task) => task.taskArn!);
  const ids = arns.map((arn) => arn.split("/").at(-1)!);
  await waitFor(async () => (await statuses(second, arns)).every((status) => status === "RUNNING"), { what: "four tasks RUNNING", timeoutMs: 30_000 });

  // Lines in flight when the first server dies: half written before, half after.
  for (const id of ids) writeLines(id, 0, LINES_PER_TASK / 2);
  await waitFor(async () => (await storedLines(first, ids[0]!)).length > 0, { what: "the first lines stored" });
  await first.kill();
  for (const id of ids) writeLines(id, LINES_PER_TASK / 2, LINES_PER_TASK / 2);

  const ecs2 = new ECSClient(sdkConfig(second));
  for (const arn of arns.slice(0, 2)) await ecs2.send(new StopTaskCommand({ cluster: "demo", task: arn, reason: "failover test" }));
  ecs2.destroy();
  await waitFor(async () => (await statuses(second, arns.slice(0, 2))).every((status) => status === "STOPPED"), {
    what: "two tasks STOPPED through the second server",
    timeoutMs: 30_000,
  });
  await assertLinesStoredOnce(second, ids);
  assert.equal(link.currentServer, second.endpoint);
  assert.deepEqual(switches, [`${first.endpoint} -> ${second.endpoint}`], "one switch, and no call went back to the dead server");

  // The first server back on its port; the second dies: the agent returns to the first.
  first = await startTestServer({ dataDir: first.dataDir, store: database, args: replicaArgs(`127.0.0.1:${firstPort}`) });
  await second.kill();
  const ecs1again = new ECSClient(sdkConfig(first));
  for (const arn of arns.slice(2)) await ecs1again.send(new StopTaskCommand({ cluster: "demo", task: arn, reason: "failover test" }));
  ecs1again.destroy();
  await waitFor(async () => (await statuses(first, arns)).every((status) => status === "STOPPED"), { what: "every task STOPPED", timeoutMs: 30_000 });
  await assertLinesStoredOnce(first, ids);
  assert.equal(link.currentServer, first.endpoint);
  assert.equal(switches.at(-1), `${second.endpoint} -> ${first.endpoint}`);
});
