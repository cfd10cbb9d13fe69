import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { Store } from "./index.js";
import type { TaskRecord } from "./tasks-repository.js";

const record = (id: string, overrides: Partial<TaskRecord> = {}): TaskRecord => ({
  taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}`,
  taskId: id,
  clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
  family: "app",
  launchType: "FARGATE",
  desiredStatus: "RUNNING",
  lastStatus: "PROVISIONING",
  hostId: "host-1",
  reservation: { cpuUnits: 256, memoryMiB: 512, ephemeralGiB: 20 },
  createdAtMs: 1,
  reportSequence: 0,
  task: { taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}` },
  ...overrides,
});

eachStoreBackend((backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(() => store.close());

  test("an update applies only at the version it read", async () => {
    const { tasks } = store;
    await tasks.insert([record("a")]);
    const arn = record("a").taskArn;
    assert.equal(await tasks.update(arn, 1, { lastStatus: "RUNNING" }), true);
    assert.equal(await tasks.update(arn, 1, { lastStatus: "STOPPED" }), false, "a stale writer loses");
    assert.equal((await tasks.get(arn))!.lastStatus, "RUNNING");
    assert.equal((await tasks.get(arn))!.version, 2);
  });

  test("a task comes back as it went in: optional fields absent, the spec and the document parsed", async () => {
    const { tasks } = store;
    const spec = { taskArn: record("a").taskArn, logConfigurations: { app: null } };
    await tasks.insert([record("a", { spec, startedBy: "ci", clientToken: "tok" }), record("b", { hostId: undefined })]);
    const [a, b] = await tasks.getMany([record("a").taskArn, record("b").taskArn].reverse());
    const byArn = new Map([a!, b!].map((task) => [task.taskArn, task]));
    assert.deepEqual(byArn.get(record("a").taskArn), { ...record("a", { spec, startedBy: "ci", clientToken: "tok" }), version: 1 });
    const unplaced = byArn.get(record("b").taskArn)!;
    assert.equal("hostId" in unplaced, false);
    assert.equal("spec" in unplaced, false);
    assert.equal("stoppedAtMs" in unplaced, false);
  });

  test("a service's tasks: those not stopped and those stopped since the cutoff, in ARN order, without their spec", async () => {
    const { tasks } = store;
    const spec = { taskArn: record("a").taskArn };
    const ofWeb = { serviceName: "web", startedBy: "ecs-svc/1", spec };
    await tasks.insert([
      record("c", ofWeb),
      record("a", ofWeb),
      record("old", { ...ofWeb, lastStatus: "STOPPED", stoppedAtMs: 100 }),
      record("late", { ...ofWeb, lastStatus: "STOPPED", stoppedAtMs: 300 }),
      record("other", { serviceName: "api", spec }),
      record("alone", { spec }),
    ]);
    const read = await tasks.ofService(record("a").clusterArn, "web", 200);
    assert.deepEqual(
      read.map((task) => task.taskArn),
      ["a", "c", "late"].map((id) => record(id).taskArn),
    );
    assert.ok(read.every((task) => !("spec" in task)));
    const { spec: _spec, ...withoutSpec } = record("a", ofWeb);
    assert.deepEqual(read[0], { ...withoutSpec, version: 1 });
    assert.deepEqual((await tasks.get(record("a").taskArn))!.spec, spec, "get still reads the spec");
  });

  test("lists ARNs by filters in ARN order with a cursor", async () => {
    const { tasks } = store;
    await tasks.insert([record("a", { family: "web" }), record("b"), record("c", { desiredStatus: "STOPPED" })]);
    const clusterArn = record("a").clusterArn;
    const page = await tasks.listArns({ clusterArn, desiredStatus: "RUNNING", limit: 1 });
    assert.deepEqual(page, [record("a").taskArn]);
    const next = await tasks.listArns({ clusterArn, desiredStatus: "RUNNING", afterTaskArn: page[0]!, limit: 5 });
    assert.deepEqual(next, [record("b").taskArn]);
    assert.deepEqual(await tasks.listArns({ clusterArn, family: "web", limit: 5 }), [record("a").taskArn]);
  });

  test("purges only tasks stopped before the cutoff", async () => {
    const { tasks } = store;
    await tasks.insert([record("a", { lastStatus: "STOPPED", stoppedAtMs: 10 }), record("b", { lastStatus: "STOPPED", stoppedAtMs: 100 }), record("c")]);
    assert.equal(await tasks.purgeStopped(50), 1);
    assert.equal(await tasks.get(record("a").taskArn), undefined);
    assert.ok(await tasks.get(record("b").taskArn), "stopped after the cutoff: kept");
    assert.deepEqual(
      (await tasks.reservations()).map((reservation) => reservation.taskArn),
      [record("c").taskArn],
      "only the not-yet-STOPPED task reserves capacity",
    );
  });

  test("every placed task not STOPPED reserves its host, whatever its status sorts before or after STOPPED", async () => {
    const { tasks } = store;
    const live = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING"];
    await tasks.insert([
      ...live.map((lastStatus) => record(lastStatus.toLowerCase(), { lastStatus })),
      record("stopped", { lastStatus: "STOPPED", stoppedAtMs: 1 }),
      record("unplaced", { hostId: undefined }),
    ]);
    assert.deepEqual(
      (await tasks.reservations()).map((reservation) => reservation.taskArn).sort(),
      live.map((lastStatus) => record(lastStatus.toLowerCase()).taskArn).sort(),
    );
  });

  test("task timestamps come back as Dates", async () => {
    const { tasks } = store;
    const createdAt = new Date(1_700_000_000_123);
    await tasks.insert([record("a", { task: { taskArn: record("a").taskArn, createdAt } })]);
    const stored = await tasks.get(record("a").taskArn);
    assert.deepEqual(stored!.task.createdAt, createdAt);
  });

  test("purging a stopped task removes its tags too, and forgets a run none of whose tasks is left", async () => {
    const { tasks, tags } = store;
    await tasks.insert([record("a", { lastStatus: "STOPPED", stoppedAtMs: 10, clientToken: "tok" })], {
      tags: [{ key: "team", value: "web" }],
      run: { clusterArn: record("a").clusterArn, clientToken: "tok", createdAt: 5, failures: [] },
    });
    await tasks.insert([record("b")], { tags: [{ key: "team", value: "api" }] });
    assert.equal(await tasks.purgeStopped(50), 1);
    assert.deepEqual(await tags.list(record("a").taskArn), []);
    assert.deepEqual(await tags.list(record("b").taskArn), [{ key: "team", value: "api" }]);
    assert.equal(await tasks.rememberedRun(record("a").clusterArn, "tok"), undefined);
  });

  test("a run's tasks, tags and remembered outcome are written together or not at all", async () => {
    const { tasks, tags } = store;
    await tasks.insert([record("a")]);
    // The second task collides with the first: nothing of this run may remain.
    await assert.rejects(
      tasks.insert([record("b"), record("a")], {
        tags: [{ key: "k", value: "v" }],
        run: { clusterArn: record("a").clusterArn, clientToken: "t2", createdAt: 1, failures: [] },
      }),
    );
    assert.equal(await tasks.get(record("b").taskArn), undefined);
    assert.deepEqual(await tags.list(record("a").taskArn), []);
    assert.deepEqual(await tags.list(record("b").taskArn), []);
    assert.equal(await tasks.rememberedRun(record("a").clusterArn, "t2"), undefined);
  });

  test("a run that placed nothing is remembered with its failures", async () => {
    const failures = [{ reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone" }];
    await store.tasks.insert([], { run: { clusterArn: record("a").clusterArn, clientToken: "t3", createdAt: 1, failures } });
    assert.deepEqual(await store.tasks.rememberedRun(record("a").clusterArn, "t3"), { taskArns: [], failures });
  });
});
