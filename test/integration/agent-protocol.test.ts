// The agent protocol end to end over loopback HTTP: a HostAgent (with a fake Agent that implements
// the real Agent interface) registers with a real Fleet behind the real HTTP route, converges on
// the desired tasks it long-polls for, delivers reports and ships awslogs lines.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { systemClock } from "../../src/core/clock.js";
import { defaultNetwork } from "../../src/core/default-network.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TaskSpec, TaskStatusReport, TaskStopCode } from "../../src/protocol/index.js";
import { createAgentRoute } from "../../src/api/agent-route.js";
import { Fleet } from "../../src/control/fleet.js";
import { createHostsRepository } from "../../src/store/hosts-repository.js";
import { hostsMigration } from "../../src/store/hosts-migration.js";
import { createLogsRepository } from "../../src/store/logs-repository.js";
import { logsMigration } from "../../src/store/logs-migration.js";
import { createTasksRepository } from "../../src/store/tasks-repository.js";
import { tasksMigration } from "../../src/store/tasks-migration.js";
import type { Agent } from "../../src/agent/agent.js";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { AwslogsSink, HostAgent, ReportForwarder } from "../../src/agent/host-agent.js";

const token = "join-token-for-tests";
const silent = { error() {}, info() {} };
const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });

/** An Agent whose tasks run instantly: it reports RUNNING on run and STOPPED on stop. */
class InstantAgent implements Agent {
  readonly tasks = new Map<string, TaskStatusReport>();
  readonly specs = new Map<string, TaskSpec>();
  reporter: ReportForwarder | undefined;
  private sequence = 0;
  async start() {}
  private async set(taskArn: string, lastStatus: TaskStatusReport["lastStatus"], desiredStatus: "RUNNING" | "STOPPED", stopCode?: TaskStopCode, stoppedReason?: string) {
    const status: TaskStatusReport = { protocolVersion, taskArn, lastStatus, desiredStatus, sequence: ++this.sequence, health: "UNKNOWN", containers: [], ...(stopCode ? { stopCode } : {}), ...(stoppedReason ? { stoppedReason } : {}) };
    this.tasks.set(taskArn, status);
    await this.reporter?.report(status);
    return status;
  }
  async runTask(spec: TaskSpec) {
    this.specs.set(spec.taskId, spec);
    return this.tasks.get(spec.taskArn) ?? this.set(spec.taskArn, "RUNNING", "RUNNING");
  }
  async stopTask(taskArn: string, reason: string, stopCode: TaskStopCode) {
    return this.set(taskArn, "STOPPED", "STOPPED", stopCode, reason);
  }
  describe(taskArn: string) {
    return this.tasks.get(taskArn);
  }
  list() {
    return [...this.tasks.values()];
  }
  specOf(taskId: string) {
    return this.specs.get(taskId);
  }
  async whenStopped() {}
  async forget(taskArn: string) {
    return this.tasks.get(taskArn)?.lastStatus === "STOPPED" && this.tasks.delete(taskArn);
  }
  async close() {}
}

let db: Kysely<never>;
let server: ReturnType<typeof createServer>;
let url: string;
let fleet: Fleet;
let tasks: ReturnType<typeof createTasksRepository>;
let logs: ReturnType<typeof createLogsRepository>;

before(async () => {
  db = new Kysely<never>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  for (const migration of [hostsMigration, tasksMigration, logsMigration("sqlite")]) await migration.up(db as unknown as Kysely<unknown>);
  tasks = createTasksRepository(db as never);
  logs = createLogsRepository(db as never);
  fleet = new Fleet({ hosts: createHostsRepository(db as never), tasks, logs, network, clock: systemClock, pollWaitMs: 2_000, heartbeatIntervalMs: 200 });
  const route = createAgentRoute({ fleet, acceptedTokenHashes: () => [createHash("sha256").update(token).digest("hex")], logger: silent });
  server = createServer((req, res) => void route.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await db.destroy();
});

function spec(taskId: string): TaskSpec {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${taskId}`,
    taskId,
    logConfigurations: { app: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true" } } },
  } as unknown as TaskSpec;
}

async function placeTask(taskId: string) {
  const s = spec(taskId);
  await tasks.insert([
    {
      task_arn: s.taskArn,
      task_id: taskId,
      cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
      family: "app",
      started_by: null,
      service_name: null,
      launch_type: "FARGATE",
      desired_status: "RUNNING",
      last_status: "PROVISIONING",
      host_id: "host-a",
      cpu_units: 256,
      memory_mib: 512,
      ephemeral_gib: 20,
      client_token: null,
      created_at: Date.now(),
      stopped_at: null,
      report_sequence: 0,
      document: JSON.stringify({ taskArn: s.taskArn, lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containers: [] }),
      spec: JSON.stringify(s),
    },
  ]);
  fleet.notify("host-a");
  return s.taskArn;
}

async function eventually(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("an agent with a wrong token is refused", async () => {
  const link = createHttpControlLink({ serverUrl: url, token: "wrong" });
  await assert.rejects(link.heartbeat("host-a"), /HTTP 401/);
});

test("a host agent runs what it is told, reports back, ships logs and stops orphans", async () => {
  const link = createHttpControlLink({ serverUrl: url, token });
  const agent = new InstantAgent();
  const reports = new ReportForwarder(link, systemClock, silent);
  agent.reporter = reports;
  const specs = new Map<string, TaskSpec>();
  const logSink = new AwslogsSink(link, (taskId) => specs.get(taskId));
  // A task the agent runs that the control plane does not know: it must be stopped.
  await agent.runTask(spec("orphan"));
  const host = new HostAgent({
    agent,
    link,
    identity: { hostId: "host-a", agentVersion: "test", availabilityZone: "us-east-1a", architecture: "X86_64", capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 20, ephemeralGiB: 400 }, subnetIds: [] },
    reports,
    logSink,
    clock: systemClock,
    logger: silent,
  });
  await host.start();
  try {
    const taskArn = await placeTask("t1");
    specs.set("t1", spec("t1"));
    await eventually(async () => (await tasks.get(taskArn))?.row.last_status === "RUNNING", "the task to be reported RUNNING");
    await eventually(async () => agent.describe(spec("orphan").taskArn)?.lastStatus === "STOPPED", "the orphan to be stopped");

    await logSink.write("t1", "app", [{ timestamp: Date.now(), message: "hello from t1", stream: "stdout", offset: 1 }]);
    const group = await logs.getGroup("/ecs/app");
    const stream = await logs.getStream(group!.id, "ecs/app/t1");
    assert.ok(stream, "awslogs stream is <prefix>/<container>/<task id>");

    const stored = (await tasks.get(taskArn))!;
    await tasks.update(taskArn, stored.row.version, { desired_status: "STOPPED", document: JSON.stringify({ ...stored.task, desiredStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "Task stopped by user" }) });
    fleet.notify("host-a");
    await eventually(async () => (await tasks.get(taskArn))?.row.last_status === "STOPPED", "the task to be reported STOPPED");
    assert.equal((await tasks.get(taskArn))!.task.stopCode, "UserInitiated");
  } finally {
    await host.close();
  }
});
