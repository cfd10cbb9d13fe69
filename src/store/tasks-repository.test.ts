import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { TaskRow, TasksTables } from "./tasks-repository.js";
import { createTasksRepository } from "./tasks-repository.js";
import { tasksMigration } from "./tasks-migration.js";
import { ecsMigration } from "./ecs-migration.js";
import { runTaskRequestsMigration } from "./run-task-requests-migration.js";

let db: Kysely<TasksTables>;
beforeEach(async () => {
  db = new Kysely<TasksTables>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  for (const migration of [ecsMigration, tasksMigration, runTaskRequestsMigration]) await migration.up(db as unknown as Kysely<unknown>);
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

test("purging a stopped task removes its tags too, and forgets a run none of whose tasks is left", async () => {
  const tasks = createTasksRepository(db);
  await tasks.insert([row("a", { last_status: "STOPPED", stopped_at: 10, client_token: "tok" })], {
    tags: [{ key: "team", value: "web" }],
    run: { clusterArn: row("a").cluster_arn, clientToken: "tok", createdAt: 5, failures: [] },
  });
  await tasks.insert([row("b")], { tags: [{ key: "team", value: "api" }] });
  assert.equal(await tasks.purgeStopped(50), 1);
  const tagRows = await db.selectFrom("tags").select(["resource_arn", "tag_value"]).execute();
  assert.deepEqual(tagRows, [{ resource_arn: row("b").task_arn, tag_value: "api" }]);
  assert.equal(await tasks.rememberedRun(row("a").cluster_arn, "tok"), undefined);
});

test("a run's tasks, tags and remembered outcome are written together or not at all", async () => {
  const tasks = createTasksRepository(db);
  await tasks.insert([row("a")]);
  // The second row collides with the first: nothing of this run may remain.
  await assert.rejects(
    tasks.insert([row("b"), row("a")], { tags: [{ key: "k", value: "v" }], run: { clusterArn: row("a").cluster_arn, clientToken: "t2", createdAt: 1, failures: [] } }),
  );
  assert.equal(await tasks.get(row("b").task_arn), undefined);
  assert.deepEqual(await db.selectFrom("tags").selectAll().execute(), []);
  assert.equal(await tasks.rememberedRun(row("a").cluster_arn, "t2"), undefined);
});

test("a run that placed nothing is remembered with its failures", async () => {
  const tasks = createTasksRepository(db);
  const failures = [{ reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone" }];
  await tasks.insert([], { run: { clusterArn: row("a").cluster_arn, clientToken: "t3", createdAt: 1, failures } });
  assert.deepEqual(await tasks.rememberedRun(row("a").cluster_arn, "t3"), { taskArns: [], failures });
});
