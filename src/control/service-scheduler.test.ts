// The service scheduler against a real store (SQLite and PostgreSQL) with no hosts: what it does
// with the tasks the store holds, when other writers commit between its plan and its writes.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import type { Service } from "@aws-sdk/client-ecs";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { Clock } from "../core/clock.js";
import { systemClock } from "../core/clock.js";
import { defaultNetwork } from "../core/default-network.js";
import type { Store, TaskRecord } from "../store/index.js";
import { ServiceScheduler } from "./service-scheduler.js";
import { TaskLauncher } from "./task-launcher.js";

const scope = { accountId: "123456789012", region: "us-east-1", partition: "aws" };
const clusterArn = "arn:aws:ecs:us-east-1:123456789012:cluster/c";
const serviceArn = "arn:aws:ecs:us-east-1:123456789012:service/c/web";
const taskArnOf = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/c/${id}`;
const HOUR = 3_600_000;

function runningTask(id: string, deploymentId: string, createdAtMs: number): TaskRecord {
  const taskArn = taskArnOf(id);
  return {
    taskArn,
    taskId: id,
    clusterArn,
    family: "web",
    startedBy: deploymentId,
    serviceName: "web",
    launchType: "FARGATE",
    desiredStatus: "RUNNING",
    lastStatus: "RUNNING",
    hostId: "h1",
    reservation: { cpuUnits: 256, memoryMiB: 512, ephemeralGiB: 20 },
    createdAtMs,
    reportSequence: 0,
    task: { taskArn, lastStatus: "RUNNING", desiredStatus: "RUNNING", availabilityZone: "us-east-1a", startedAt: new Date(createdAtMs + 1_000) },
  };
}

eachStoreBackend((backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(() => store.close());

  async function serviceWithTwoTasks(desiredCount: number) {
    const createdAtMs = Date.now() - 60_000;
    const service: Service = {
      serviceArn,
      serviceName: "web",
      clusterArn,
      status: "ACTIVE",
      desiredCount,
      deployments: [{ id: "ecs-svc/1", status: "PRIMARY", rolloutState: "COMPLETED", taskDefinition: "web:1", desiredCount }],
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
      events: [],
    };
    await store.services.create({
      serviceArn,
      clusterArn,
      serviceName: "web",
      status: "ACTIVE",
      createdAtMs,
      updatedAtMs: createdAtMs,
      service,
      state: { consecutiveFailures: 0, failuresSeen: {}, nextLaunchAtMs: 0 },
    });
    await store.tasks.insert([runningTask("t1", "ecs-svc/1", createdAtMs + 1_000), runningTask("t2", "ecs-svc/1", createdAtMs + 2_000)]);
  }

  function schedulerOver(view: Store, clock: Clock = systemClock) {
    const launcher = new TaskLauncher({ store, clock, scope, network: defaultNetwork(scope), notifyHost: () => undefined });
    const errors: unknown[] = [];
    const scheduler = new ServiceScheduler({
      store: view,
      launcher,
      clock,
      logger: { warn: (details) => errors.push(details), error: (details) => errors.push(details) },
    });
    return { scheduler, errors };
  }

  async function pass(scheduler: ServiceScheduler) {
    const lease = (await store.leases.acquire("service-scheduler", "me", Date.now(), 60_000))!;
    return scheduler.pass((work) => store.fenced(lease, () => Date.now(), work), lease);
  }

  test("a scale-in spares a task protected after the plan, before the stop (UpdateTaskProtection answered it protected)", async () => {
    await serviceWithTwoTasks(1);
    // UpdateTaskProtection commits right after the scheduler read the tasks it plans over.
    let protectedMeanwhile = false;
    const racing: Store = {
      ...store,
      tasks: {
        ...store.tasks,
        async ofService(...args) {
          const tasks = await store.tasks.ofService(...args);
          if (!protectedMeanwhile) {
            protectedMeanwhile = true;
            const record = (await store.services.get(serviceArn))!;
            const until = Date.now() + HOUR;
            const protectedTasks = { [taskArnOf("t1")]: until, [taskArnOf("t2")]: until };
            assert.ok(
              await store.services.update(serviceArn, record.version, { service: record.service, state: { ...record.state, protectedTasks }, updatedAtMs: 0 }),
            );
          }
          return tasks;
        },
      },
    };
    const { scheduler, errors } = schedulerOver(racing);
    await pass(scheduler);
    assert.ok(protectedMeanwhile);
    for (const id of ["t1", "t2"]) assert.equal((await store.tasks.get(taskArnOf(id)))!.desiredStatus, "RUNNING", `${id} was protected before it was stopped`);
    assert.deepEqual(errors, []);
    // Unprotected, the scale-in goes ahead on the next pass.
    const record = (await store.services.get(serviceArn))!;
    assert.ok(
      await store.services.update(serviceArn, record.version, { service: record.service, state: { ...record.state, protectedTasks: {} }, updatedAtMs: 0 }),
    );
    await pass(schedulerOver(store).scheduler);
    const stopped = (await store.tasks.getMany([taskArnOf("t1"), taskArnOf("t2")])).filter((task) => task.desiredStatus === "STOPPED");
    assert.equal(stopped.length, 1);
  });

  test("tasks are the service's by their deployment, not by the clocks: a task created 'before' the service (a replica's clock behind) is counted", async () => {
    await serviceWithTwoTasks(2);
    const record = (await store.services.get(serviceArn))!;
    // The service row as a replica whose clock runs ahead wrote it: created after its own tasks.
    assert.ok(await store.services.update(serviceArn, record.version, { service: record.service, state: record.state, updatedAtMs: Date.now() + HOUR }));
    const skewed: Store = {
      ...store,
      services: { ...store.services, get: async (arn) => ({ ...(await store.services.get(arn))!, createdAtMs: Date.now() + HOUR }) },
    };
    const { scheduler, errors } = schedulerOver(skewed);
    await pass(scheduler);
    const service = (await store.services.get(serviceArn))!.service;
    assert.equal(service.runningCount, 2, "both tasks counted, none launched on top of them");
    assert.equal(service.pendingCount, 0);
    assert.deepEqual(errors, []);
  });
});
