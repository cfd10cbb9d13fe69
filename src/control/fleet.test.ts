import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { Clock } from "../core/clock.js";
import { defaultNetwork } from "../core/default-network.js";
import { protocolVersion } from "../protocol/index.js";
import type { TaskSpec } from "../protocol/index.js";
import { createHostsRepository } from "../store/hosts-repository.js";
import { hostsMigration } from "../store/hosts-migration.js";
import { createLogsRepository } from "../store/logs-repository.js";
import { logsMigration } from "../store/logs-migration.js";
import { logStreamOffsetsMigration } from "../store/log-stream-offsets-migration.js";
import { createTasksRepository } from "../store/tasks-repository.js";
import { tasksMigration } from "../store/tasks-migration.js";
import { Fleet, LOGS_AFTER_STOP_GRACE_MS, LOST_HOST_REASON } from "./fleet.js";

class FakeClock implements Clock {
  time = 1_000_000;
  now() {
    return this.time;
  }
  async sleep() {}
}

const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
const taskArn = "arn:aws:ecs:us-east-1:123456789012:task/demo/t1";
let db: Kysely<never>;
let clock: FakeClock;
let fleet: Fleet;
let tasks: ReturnType<typeof createTasksRepository>;
let logs: ReturnType<typeof createLogsRepository>;

beforeEach(async () => {
  db = new Kysely<never>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  for (const migration of [hostsMigration, tasksMigration, logsMigration("sqlite"), logStreamOffsetsMigration]) await migration.up(db as unknown as Kysely<unknown>);
  clock = new FakeClock();
  tasks = createTasksRepository(db as never);
  logs = createLogsRepository(db as never);
  fleet = new Fleet({ hosts: createHostsRepository(db as never), tasks, logs, network, clock, pollWaitMs: 50 });
  await fleet.register({
    protocolVersion,
    hostId: "h1",
    agentVersion: "test",
    availabilityZone: "us-east-1a",
    architecture: "X86_64",
    capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 50, ephemeralGiB: 400 }, machine: { cpuCount: 8, memoryMiB: 16384 }, overcommit: false,
    subnetIds: [],
  });
  await tasks.insert([
    {
      task_arn: taskArn,
      task_id: "t1",
      cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
      family: "app",
      started_by: null,
      service_name: null,
      launch_type: "FARGATE",
      desired_status: "RUNNING",
      last_status: "PROVISIONING",
      host_id: "h1",
      cpu_units: 256,
      memory_mib: 512,
      ephemeral_gib: 20,
      client_token: null,
      created_at: clock.now(),
      stopped_at: null,
      report_sequence: 0,
      document: JSON.stringify({ taskArn, lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containers: [{ name: "app", lastStatus: "PENDING" }] }),
      // Its containers' awslogs destinations: putLogs accepts batches for these streams only.
      spec: JSON.stringify({
        taskArn,
        taskId: "t1",
        logConfigurations: {
          app: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true" } },
          nogroup: { logDriver: "awslogs", options: { "awslogs-group": "/missing", "awslogs-stream-prefix": "ecs" } },
        },
      } as Partial<TaskSpec>),
    },
  ]);
});
afterEach(() => db.destroy());

test("registration answers with the AZ's default subnets", async () => {
  const answer = await fleet.register({
    protocolVersion,
    hostId: "h2",
    agentVersion: "test",
    availabilityZone: "us-east-1b",
    architecture: "X86_64",
    capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 }, machine: { cpuCount: 8, memoryMiB: 16384 }, overcommit: false,
    subnetIds: [],
  });
  assert.deepEqual(answer.subnets.map((s) => s.cidrBlock), ["172.31.16.0/20"]);
  await assert.rejects(fleet.register({ ...{ protocolVersion: 99, hostId: "h3", agentVersion: "x", availabilityZone: "us-east-1a", architecture: "X86_64", capacity: { cpuUnits: 1, memoryMiB: 1, taskSlots: 1, ephemeralGiB: 1 }, machine: { cpuCount: 8, memoryMiB: 16384 }, overcommit: false, subnetIds: [] } }), /Unsupported agent protocol version/);
});

test("a poll answers at once with the host's tasks, then waits for a change", async () => {
  const first = await fleet.poll("h1", -1);
  assert.deepEqual(first.tasks.map((t) => t.spec.taskArn), [taskArn]);
  const waiting = fleet.poll("h1", first.generation);
  fleet.notify("h1");
  const second = await waiting;
  assert.notEqual(second.generation, first.generation);
});

test("reports are folded once, in sequence order", async () => {
  const report = { protocolVersion, taskArn, lastStatus: "RUNNING" as const, desiredStatus: "RUNNING" as const, sequence: 2, health: "UNKNOWN" as const, containers: [] };
  await fleet.report("h1", { reports: [report] });
  await fleet.report("h1", { reports: [{ ...report, sequence: 1, lastStatus: "PENDING" as const }] });
  const stored = await tasks.get(taskArn);
  assert.equal(stored!.row.last_status, "RUNNING");
  assert.equal(stored!.row.report_sequence, 2);
});

test("a host that stops heartbeating is lost and its tasks are stopped with an infrastructure reason", async () => {
  clock.time += fleet.lostAfterMs + 1;
  assert.deepEqual(await fleet.reapLostHosts(), ["h1"]);
  const stored = await tasks.get(taskArn);
  assert.equal(stored!.task.lastStatus, "STOPPED");
  assert.equal(stored!.task.stoppedReason, LOST_HOST_REASON);
});

test("log batches create the group when asked and append events in time order", async () => {
  await fleet.putLogs("h1", [
    { taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/t1", createGroup: true, events: [{ timestamp: 2, message: "b" }, { timestamp: 1, message: "a" }] },
  ]);
  const group = await logs.getGroup("/ecs/app");
  const stream = await logs.getStream(group!.id, "ecs/app/t1");
  const events = await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 10 });
  assert.deepEqual(events.map((e) => e.message), ["a", "b"]);
  await assert.rejects(fleet.putLogs("h1", [{ taskArn, containerName: "nogroup", logGroupName: "/missing", logStreamName: "ecs/nogroup/t1", createGroup: false, events: [{ timestamp: 1, message: "x" }] }]), /does not exist/);
});

test("the reaper is level-triggered: a task left active on an already LOST host is stopped on the next pass", async () => {
  const hosts = createHostsRepository(db as never);
  // The host went LOST in an earlier pass whose task update never landed.
  clock.time += fleet.lostAfterMs + 1;
  await hosts.markLost(clock.now() - fleet.lostAfterMs);
  assert.equal((await tasks.get(taskArn))!.row.last_status, "PROVISIONING");
  assert.deepEqual(await fleet.reapLostHosts(), [], "no host is newly lost");
  assert.equal((await tasks.get(taskArn))!.row.last_status, "STOPPED");
});

test("after a server start, hosts get a full grace period before they can be lost", async () => {
  clock.time += 10 * fleet.lostAfterMs; // h1's last heartbeat is long before this "restart"
  const restarted = new Fleet({ hosts: createHostsRepository(db as never), tasks, logs, network, clock, pollWaitMs: 50 });
  assert.deepEqual(await restarted.reapLostHosts(), []);
  assert.equal((await tasks.get(taskArn))!.row.last_status, "PROVISIONING");
  clock.time += restarted.lostAfterMs;
  assert.deepEqual(await restarted.reapLostHosts(), ["h1"]);
});

test("a report from a reaped host cannot bring its task back to RUNNING", async () => {
  clock.time += fleet.lostAfterMs + 1;
  await fleet.reapLostHosts();
  const stoppedAt = (await tasks.get(taskArn))!.row.stopped_at;
  const report = { protocolVersion, taskArn, lastStatus: "RUNNING" as const, desiredStatus: "RUNNING" as const, sequence: 7, health: "UNKNOWN" as const, containers: [] };
  await fleet.report("h1", { reports: [report] });
  const stored = (await tasks.get(taskArn))!;
  assert.equal(stored.row.last_status, "STOPPED");
  assert.equal(stored.row.stopped_at, stoppedAt);
});

test("registration issues a secret bound to the host; a live host re-registers only with it", async () => {
  const first = await fleet.register({ protocolVersion, hostId: "h2", agentVersion: "t", availabilityZone: "us-east-1b", architecture: "X86_64", capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 }, machine: { cpuCount: 8, memoryMiB: 16384 }, overcommit: false, subnetIds: [] });
  assert.equal(await fleet.authenticateHost("h2", first.hostSecret), true);
  assert.equal(await fleet.authenticateHost("h1", first.hostSecret), false, "h2's secret does not speak for h1");
  assert.equal(await fleet.mayRegister("h2", undefined), false);
  assert.equal(await fleet.mayRegister("h2", first.hostSecret), true);
  assert.equal(await fleet.mayRegister("new-host", undefined), true);
  await assert.rejects(fleet.heartbeat("nobody"), (error: Error & { code?: string }) => error.code === "HostNotRegistered");
});

test("closing answers waiting long polls at once and refuses new ones, so shutdown is not held open", async () => {
  const first = await fleet.poll("h1", -1);
  const waiting = fleet.poll("h1", first.generation);
  fleet.close();
  await assert.rejects(waiting, (error: Error & { code?: string; httpStatus?: number }) => error.httpStatus === 503);
  await assert.rejects(fleet.poll("h1", -1), /shutting down/);
});

test("log lines sent again with offsets already stored are dropped (agent restarted before saving its offset)", async () => {
  const batch = (events: { timestamp: number; message: string; offset: number }[]) => [{ taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/t1", createGroup: true, events }];
  await fleet.putLogs("h1", batch([{ timestamp: 10, message: "one", offset: 40 }, { timestamp: 11, message: "two", offset: 80 }]));
  // The agent crashed after this was stored, restarted from its saved offset, and read one more line.
  await fleet.putLogs("h1", batch([{ timestamp: 10, message: "one", offset: 40 }, { timestamp: 11, message: "two", offset: 80 }, { timestamp: 12, message: "three", offset: 120 }]));
  await fleet.putLogs("h1", batch([{ timestamp: 12, message: "three", offset: 120 }]));
  const group = await logs.getGroup("/ecs/app");
  const stream = await logs.getStream(group!.id, "ecs/app/t1");
  const events = await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 10 });
  assert.deepEqual(events.map((e) => e.message), ["one", "two", "three"]);
});

test("the stored offset survives a control-plane restart: lines re-sent to a new instance are not stored twice", async () => {
  const batch = (events: { timestamp: number; message: string; offset: number }[]) => [{ taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/t1", createGroup: true, events }];
  await fleet.putLogs("h1", batch([{ timestamp: 10, message: "one", offset: 40 }, { timestamp: 11, message: "two", offset: 80 }]));
  // A new control plane over the same store: nothing of the first one's memory is left.
  const restarted = new Fleet({ hosts: createHostsRepository(db as never), tasks, logs, network, clock, pollWaitMs: 50 });
  await restarted.putLogs("h1", batch([{ timestamp: 11, message: "two", offset: 80 }, { timestamp: 12, message: "three", offset: 120 }]));
  const group = await logs.getGroup("/ecs/app");
  const stream = await logs.getStream(group!.id, "ecs/app/t1");
  const events = await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 10 });
  assert.deepEqual(events.map((e) => e.message), ["one", "two", "three"]);
  assert.equal(stream!.source_offset, 120);
});

test("a batch applies every task's report in one go, two reports of one task in order, and ignores other hosts' tasks", async () => {
  const second = taskArn.replace("/t1", "/t2");
  const stranger = taskArn.replace("/t1", "/t3");
  const row = (await tasks.get(taskArn))!.row;
  await tasks.insert([
    { ...row, task_arn: second, task_id: "t2", version: undefined, document: JSON.stringify({ taskArn: second, lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containers: [] }) },
    { ...row, task_arn: stranger, task_id: "t3", host_id: "h2", version: undefined, document: JSON.stringify({ taskArn: stranger, lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containers: [] }) },
  ] as never);
  const report = (arn: string, sequence: number, lastStatus: "PENDING" | "RUNNING") => ({ protocolVersion, taskArn: arn, lastStatus, desiredStatus: "RUNNING" as const, sequence, health: "UNKNOWN" as const, containers: [] });
  await fleet.report("h1", { reports: [report(taskArn, 1, "PENDING"), report(second, 3, "RUNNING"), report(taskArn, 2, "RUNNING"), report(stranger, 1, "RUNNING")] });
  assert.equal((await tasks.get(taskArn))!.row.last_status, "RUNNING");
  assert.equal((await tasks.get(taskArn))!.row.report_sequence, 2);
  assert.equal((await tasks.get(second))!.row.last_status, "RUNNING");
  assert.equal((await tasks.get(stranger))!.row.last_status, "PROVISIONING", "a task of another host is not this host's to report");
});

test("two deliveries of overlapping batches at once store each line once, and the stored offset never moves back", async () => {
  const batch = (events: { timestamp: number; message: string; offset: number }[]) => [{ taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/t1", createGroup: true, events }];
  await fleet.putLogs("h1", batch([{ timestamp: 1, message: "zero", offset: 10 }]));
  const older = batch([{ timestamp: 2, message: "one", offset: 40 }, { timestamp: 3, message: "two", offset: 80 }]);
  const newer = batch([{ timestamp: 2, message: "one", offset: 40 }, { timestamp: 3, message: "two", offset: 80 }, { timestamp: 4, message: "three", offset: 120 }]);
  // A retry racing the original delivery, committing in either order.
  await Promise.all([fleet.putLogs("h1", newer), fleet.putLogs("h1", older)]);
  const group = await logs.getGroup("/ecs/app");
  const stream = await logs.getStream(group!.id, "ecs/app/t1");
  const events = await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 10 });
  assert.deepEqual(events.map((e) => e.message), ["zero", "one", "two", "three"]);
  assert.equal(stream!.source_offset, 120);
  await fleet.putLogs("h1", batch([{ timestamp: 4, message: "three", offset: 120 }]));
  assert.equal((await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 10 })).length, 4);
});

test("log batches for another host's task, or another group or stream than the task's, are refused and nothing is written", async () => {
  const batch = { taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/t1", createGroup: true, events: [{ timestamp: 1, message: "x" }] };
  await assert.rejects(fleet.putLogs("h2", [batch]), (error: Error & { code?: string }) => error.code === "AccessDeniedException" && /not placed on host h2/.test(error.message));
  await assert.rejects(fleet.putLogs("h1", [{ ...batch, logGroupName: "/elsewhere" }]), /names another group or stream/);
  await assert.rejects(fleet.putLogs("h1", [{ ...batch, containerName: "nogroup", logGroupName: "/missing", logStreamName: "ecs/nogroup/t1" }]), /does not create its group/);
  await assert.rejects(fleet.putLogs("h1", [{ ...batch, containerName: "__proto__" }]), /no awslogs log configuration/);
  // One bad batch refuses the whole call, before the good one is written.
  await assert.rejects(fleet.putLogs("h1", [batch, { ...batch, taskArn: taskArn.replace("/t1", "/other") }]), /not placed on host h1/);
  assert.equal(await logs.getGroup("/ecs/app"), undefined);
  assert.equal(await logs.getGroup("/elsewhere"), undefined);
});

test("registration refuses a capacity beyond the reported machine (a stolen join token cannot inflate it)", async () => {
  const request = { protocolVersion, hostId: "h9", agentVersion: "t", availabilityZone: "us-east-1a", architecture: "X86_64" as const, subnetIds: [], machine: { cpuCount: 2, memoryMiB: 4096 }, overcommit: false };
  await assert.rejects(fleet.register({ ...request, capacity: { cpuUnits: 1e9, memoryMiB: 1024, taskSlots: 10, ephemeralGiB: 100 } }), /exceeds the machine's/);
  await assert.rejects(fleet.register({ ...request, overcommit: true, capacity: { cpuUnits: 2 * 1024 * 33, memoryMiB: 1024, taskSlots: 10, ephemeralGiB: 100 } }), /exceeds 32 times/);
  await assert.rejects(fleet.register({ ...request, capacity: { cpuUnits: 1024, memoryMiB: 1024, taskSlots: 10, ephemeralGiB: 100_000 } }), /ephemeral storage/);
  await fleet.register({ ...request, overcommit: true, capacity: { cpuUnits: 2 * 1024 * 32, memoryMiB: 4096 * 32, taskSlots: 10, ephemeralGiB: 100 } });
});

test("registration refuses identities that are not whole patterns", async () => {
  const request = { protocolVersion, hostId: "h8", agentVersion: "t", availabilityZone: "us-east-1a", architecture: "X86_64" as const, subnetIds: [], machine: { cpuCount: 2, memoryMiB: 4096 }, overcommit: false, capacity: { cpuUnits: 1024, memoryMiB: 1024, taskSlots: 10, ephemeralGiB: 100 } };
  await assert.rejects(fleet.register({ ...request, hostId: "../h1" }), /host id/);
  await assert.rejects(fleet.register({ ...request, hostId: "x".repeat(129) }), /host id/);
  await assert.rejects(fleet.register({ ...request, agentVersion: "v".repeat(65) }), /agent version/);
  await assert.rejects(fleet.register({ ...request, architecture: "MIPS" as never }), /architecture/);
  await fleet.register(request);
});

test("a stopped task's lines are taken for a grace period after its stop, then refused and not written", async () => {
  const stoppedAtMs = clock.now();
  await fleet.report("h1", {
    reports: [{ protocolVersion, taskArn, lastStatus: "STOPPED", desiredStatus: "STOPPED", sequence: 1, health: "UNKNOWN", stoppedAtMs, containers: [] }],
  });
  assert.equal((await tasks.get(taskArn))!.row.stopped_at, stoppedAtMs);
  const batch = (message: string) => [{ taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "ecs/app/t1", createGroup: true, events: [{ timestamp: stoppedAtMs, message }] }];
  clock.time = stoppedAtMs + LOGS_AFTER_STOP_GRACE_MS;
  await fleet.putLogs("h1", batch("last line, shipped after the exit"));
  clock.time += 1;
  await assert.rejects(fleet.putLogs("h1", batch("too late")), (error: Error & { code?: string }) => error.code === "AccessDeniedException" && /stopped more than 10 minutes ago/.test(error.message));
  const group = await logs.getGroup("/ecs/app");
  const stream = await logs.getStream(group!.id, "ecs/app/t1");
  const events = await logs.streamEvents({ streamId: stream!.id, range: {}, direction: "forward", limit: 10 });
  assert.deepEqual(events.map((e) => e.message), ["last line, shipped after the exit"]);
});
