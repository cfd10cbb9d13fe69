// The agent protocol end to end over loopback HTTP: a HostAgent (with a fake Agent that implements
// the real Agent interface) registers with a real Fleet behind the real HTTP route, converges on
// the desired tasks it long-polls for, delivers reports and ships awslogs lines.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import { logStreamOffsetsMigration } from "../../src/store/log-stream-offsets-migration.js";
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
let hosts: ReturnType<typeof createHostsRepository>;

before(async () => {
  db = new Kysely<never>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  for (const migration of [hostsMigration, tasksMigration, logsMigration("sqlite"), logStreamOffsetsMigration]) await migration.up(db as unknown as Kysely<unknown>);
  tasks = createTasksRepository(db as never);
  logs = createLogsRepository(db as never);
  hosts = createHostsRepository(db as never);
  fleet = new Fleet({ hosts, tasks, logs, network, clock: systemClock, pollWaitMs: 2_000, heartbeatIntervalMs: 200 });
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

async function placeTask(taskId: string, hostId = "host-a") {
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
      host_id: hostId,
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
  fleet.notify(hostId);
  return s.taskArn;
}

async function eventually(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const identity = (hostId: string, availabilityZone = "us-east-1a") => ({
  protocolVersion,
  hostId,
  agentVersion: "test",
  availabilityZone,
  architecture: "X86_64" as const,
  capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 20, ephemeralGiB: 400 }, machine: { cpuCount: 8, memoryMiB: 16384 }, overcommit: false,
  subnetIds: [],
});

/** One raw agent protocol call, to present any credentials for any host. */
async function rawCall(call: string, bearer: string, body: object, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/_berth/agent/v${protocolVersion}/${call}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { code?: string; hostSecret?: string } };
}

test("an agent with a wrong join token is refused", async () => {
  const link = createHttpControlLink({ serverUrl: url, token: "wrong" });
  await assert.rejects(link.register(identity("host-x")), /HTTP 401/);
  assert.equal((await rawCall("heartbeat", token, { hostId: "host-x" })).status, 401, "the join token is not a host credential");
});

test("each host gets its own secret, and no host can act for another", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-agent-secret-"));
  try {
    const linkA = createHttpControlLink({ serverUrl: url, token, secretFile: join(dir, "a") });
    await linkA.register(identity("host-p"));
    await linkA.heartbeat("host-p");
    const secretA = readFileSync(join(dir, "a"), "utf8").trim();
    const b = await rawCall("register", token, identity("host-q", "us-east-1b"));
    assert.equal(b.status, 200);
    const secretB = b.body.hostSecret!;
    assert.notEqual(secretA, secretB);
    for (const call of ["heartbeat", "poll", "report", "logs"]) {
      const answer = await rawCall(call, secretB, { hostId: "host-p", knownGeneration: -1, reports: [], batches: [] });
      assert.equal(answer.status, 401, `${call} with host-q's secret naming host-p`);
    }
    assert.equal((await rawCall("heartbeat", secretB, { hostId: "host-q" })).status, 200);
    // The join token alone cannot take over a live host...
    assert.equal((await rawCall("register", token, identity("host-p"))).status, 403);
    // ...but its own agent, restarted with the secret it kept, can.
    const restarted = createHttpControlLink({ serverUrl: url, token, secretFile: join(dir, "a") });
    await restarted.register(identity("host-p"));
    await restarted.heartbeat("host-p");
    await assert.rejects(linkA.heartbeat("host-p"), /HTTP 401/, "the previous secret was replaced");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
    identity: { hostId: "host-a", agentVersion: "test", availabilityZone: "us-east-1a", architecture: "X86_64", capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 20, ephemeralGiB: 400 }, machine: { cpuCount: 8, memoryMiB: 16384 }, overcommit: false, subnetIds: [] },
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

test("a host the server forgot registers again and reconciles; a task stopped before it ran is reported STOPPED", async () => {
  const link = createHttpControlLink({ serverUrl: url, token });
  const agent = new InstantAgent();
  const reports = new ReportForwarder(link, systemClock, silent);
  agent.reporter = reports;
  const host = new HostAgent({
    agent,
    link,
    identity: identity("host-r"),
    reports,
    logSink: new AwslogsSink(link, () => undefined),
    clock: systemClock,
    logger: silent,
  });
  await host.start();
  try {
    const taskArn = await placeTask("t2", "host-r");
    await eventually(async () => (await tasks.get(taskArn))?.row.last_status === "RUNNING", "t2 RUNNING");
    // The server loses the host (a restored database, an operator's cleanup): the next heartbeat
    // or poll is refused, the agent registers again, and the task is still there, not duplicated.
    await hosts.remove("host-r");
    fleet.notify("host-r");
    await eventually(async () => (await hosts.get("host-r")) !== undefined, "host-r to register again");
    assert.equal(agent.describe(taskArn)?.lastStatus, "RUNNING");
    assert.equal([...agent.tasks.keys()].filter((arn) => arn === taskArn).length, 1);

    // A task placed on the host and stopped before the agent ever ran it (here: desired STOPPED
    // from the start) must not wait forever for a report.
    const never = spec("never-ran");
    await tasks.insert([
      {
        task_arn: never.taskArn,
        task_id: "never-ran",
        cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
        family: "app",
        started_by: null,
        service_name: null,
        launch_type: "FARGATE",
        desired_status: "STOPPED",
        last_status: "PROVISIONING",
        host_id: "host-r",
        cpu_units: 256,
        memory_mib: 512,
        ephemeral_gib: 20,
        client_token: null,
        created_at: Date.now(),
        stopped_at: null,
        report_sequence: 0,
        document: JSON.stringify({ taskArn: never.taskArn, lastStatus: "PROVISIONING", desiredStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "Task stopped by user", containers: [{ name: "app", lastStatus: "PENDING" }] }),
        spec: JSON.stringify(never),
      },
    ]);
    fleet.notify("host-r");
    await eventually(async () => (await tasks.get(never.taskArn))?.row.last_status === "STOPPED", "the never-run task to be STOPPED");
    const stopped = (await tasks.get(never.taskArn))!;
    assert.equal(stopped.task.stopCode, "UserInitiated");
    assert.equal(stopped.task.containers![0]!.lastStatus, "STOPPED");
    assert.equal(agent.describe(never.taskArn), undefined, "nothing was started for it");
  } finally {
    await host.close();
  }
});

test("a host ships logs only for its own tasks' awslogs streams", async () => {
  const owner = await rawCall("register", token, identity("host-logs-owner"));
  const other = await rawCall("register", token, identity("host-logs-other"));
  assert.equal(owner.status, 200);
  assert.equal(other.status, 200);
  const taskArn = await placeTask("logged", "host-logs-owner");
  const batch = { taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/logged", createGroup: true, events: [{ timestamp: Date.now(), message: "mine" }] };
  assert.equal((await rawCall("logs", owner.body.hostSecret!, { hostId: "host-logs-owner", batches: [batch] })).status, 200, "the owner writes its task's stream");

  // Another host (a valid secret of its own) naming the owner's task is refused, and nothing is written.
  const refused = await rawCall("logs", other.body.hostSecret!, { hostId: "host-logs-other", batches: [{ ...batch, events: [{ timestamp: Date.now(), message: "forged" }] }] });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, "AccessDeniedException");
  assert.match((refused.body as { message?: string }).message!, /not placed on host host-logs-other/);
  // The owner itself cannot pick another group or stream, or create a group its task does not.
  for (const forged of [
    { ...batch, logGroupName: "/victim/group" },
    { ...batch, logStreamName: "ecs/app/another-task" },
    { ...batch, containerName: "sidecar", logStreamName: "ecs/sidecar/logged" },
    { ...batch, taskArn: "arn:aws:ecs:us-east-1:123456789012:task/demo/never-placed" },
  ]) {
    const answer = await rawCall("logs", owner.body.hostSecret!, { hostId: "host-logs-owner", batches: [forged] });
    assert.equal(answer.status, 403, JSON.stringify(forged));
  }
  assert.equal(await logs.getGroup("/victim/group"), undefined, "no group was created for a refused batch");
  const group = await logs.getGroup("/ecs/app");
  const stream = await logs.getStream(group!.id, "ecs/app/logged");
  const messages = (await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 100 })).map((event) => event.message);
  assert.deepEqual(messages, ["mine"], "only the owner's line was stored");
});
