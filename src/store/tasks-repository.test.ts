import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { TaskRow, TasksTables } from "./tasks-repository.js";
import { createTasksRepository } from "./tasks-repository.js";
import { tasksMigration } from "./tasks-migration.js";

let db: Kysely<TasksTables>;
beforeEach(async () => {
  db = new Kysely<TasksTables>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  await tasksMigration.up(db as unknown as Kysely<unknown>);
});
afterEach(() => db.destroy());

const row = (id: string, overrides: Partial<TaskRow> = {}): Omit<TaskRow, "version"> => ({
  task_arn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}`,
  task_id: id,
  cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
  family: "app",
  started_by: null,
  service_name: null,
  launch_type: "FARGATE",
  desired_status: "RUNNING",
  last_status: "PROVISIONING",
  host_id: "host-1",
  cpu_units: 256,
  memory_mib: 512,
  ephemeral_gib: 20,
  client_token: null,
  created_at: 1,
  stopped_at: null,
  report_sequence: 0,
  spec: null,
  document: JSON.stringify({ taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}` }),
  ...overrides,
});

test("an update applies only at the version it read", async () => {
  const tasks = createTasksRepository(db);
  await tasks.insert([row("a")]);
  const arn = row("a").task_arn;
  assert.equal(await tasks.update(arn, 1, { last_status: "RUNNING" }), true);
  assert.equal(await tasks.update(arn, 1, { last_status: "STOPPED" }), false, "a stale writer loses");
  assert.equal((await tasks.get(arn))!.row.last_status, "RUNNING");
});

test("lists by filters in ARN order with a cursor", async () => {
  const tasks = createTasksRepository(db);
  await tasks.insert([row("a", { family: "web" }), row("b"), row("c", { desired_status: "STOPPED" })]);
  const page = await tasks.list({ clusterArn: row("a").cluster_arn, desiredStatus: "RUNNING", limit: 1 });
  assert.deepEqual(page.map((t) => t.task_id), ["a"]);
  const next = await tasks.list({ clusterArn: row("a").cluster_arn, desiredStatus: "RUNNING", afterTaskArn: page[0]!.task_arn, limit: 5 });
  assert.deepEqual(next.map((t) => t.task_id), ["b"]);
  assert.deepEqual((await tasks.list({ clusterArn: row("a").cluster_arn, family: "web", limit: 5 })).map((t) => t.task_id), ["a"]);
});

test("purges only tasks stopped before the cutoff", async () => {
  const tasks = createTasksRepository(db);
  await tasks.insert([row("a", { last_status: "STOPPED", stopped_at: 10 }), row("b", { last_status: "STOPPED", stopped_at: 100 }), row("c")]);
  assert.equal(await tasks.purgeStopped(50), 1);
  assert.deepEqual((await tasks.active()).map((t) => t.task_id), ["c"]);
});

test("task timestamps come back as Dates", async () => {
  const tasks = createTasksRepository(db);
  const createdAt = new Date(1_700_000_000_123);
  await tasks.insert([{ ...row("a"), document: JSON.stringify({ taskArn: row("a").task_arn, createdAt }) }]);
  const stored = await tasks.get(row("a").task_arn);
  assert.deepEqual(stored!.task.createdAt, createdAt);
});
