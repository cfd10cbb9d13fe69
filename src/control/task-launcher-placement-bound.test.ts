// Attack: a burst of RunTasks from one API key. Each placement is a store transaction that waits
// for the store-wide placement lock while holding a pooled connection; unbounded, the burst holds
// every connection of the replica and its heartbeats, reports and other requests wait behind it.
// The launcher lets at most two placements of a replica wait for the lock; the rest queue without
// a connection, and every request is still answered.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import type { RunTaskRequest } from "@aws-sdk/client-ecs";
import { systemClock } from "../core/clock.js";
import { defaultNetwork } from "../core/default-network.js";
import { prepareTaskDefinitionRegistration } from "../core/task-definition/index.js";
import type { Store } from "../store/index.js";
import { openStore } from "../store/index.js";
import { NO_CAPACITY_REASON } from "../scheduler/place-tasks.js";
import { TaskLauncher } from "./task-launcher.js";
import { seedDefaultVpc } from "./default-vpc.js";

const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };
let store: Store;
beforeEach(async () => {
  store = await openStore({ inMemory: true });
});
afterEach(() => store.close());

test("attack: a burst of 40 RunTasks has at most two placements waiting on the store lock at once, and each is answered", async () => {
  let inFlight = 0;
  let most = 0;
  const counting: Store = {
    ...store,
    exclusively: async (lock, work) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        // Each placement takes a while (another replica holds the lock, a slow store).
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await store.exclusively(lock, work);
      } finally {
        inFlight--;
      }
    },
  };
  const network = defaultNetwork(scope);
  await seedDefaultVpc(store, { network, accountId: scope.accountId, region: scope.region, nowMs: 0 });
  const launcher = new TaskLauncher({ store: counting, clock: systemClock, scope, network, notifyHost: () => {} });
  const taskDefinition = {
    ...prepareTaskDefinitionRegistration({
      family: "web",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "c", image: "busybox" }],
    }),
    taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
    revision: 1,
    status: "ACTIVE" as const,
  };
  const context = {
    cluster: { clusterName: "default", clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/default" },
    definition: taskDefinition,
    definitionTags: [],
  };
  const request: RunTaskRequest = {
    taskDefinition: "web",
    launchType: "FARGATE",
    networkConfiguration: { awsvpcConfiguration: { subnets: [network.subnets[0]!.subnetId] } },
  };
  const outcomes = await Promise.all(Array.from({ length: 40 }, (_, index) => launcher.runTask({ ...request, clientToken: `burst-${index}` }, context)));
  assert.equal(outcomes.length, 40);
  // No host has joined: every run is answered, with ECS's capacity failure.
  for (const outcome of outcomes) assert.deepEqual(outcome, { tasks: [], failures: [{ reason: NO_CAPACITY_REASON }] });
  assert.ok(most <= 2, `${most} placements waited on the lock at once`);
  assert.equal(most, 2, "two in flight, so the next is ready when the lock is released");
  // A placement that fails frees its place for the next one.
  const failing = new TaskLauncher({
    store: { ...counting, exclusively: async () => Promise.reject(new Error("store down")) },
    clock: systemClock,
    scope,
    network,
    notifyHost: () => {},
  });
  const settled = await Promise.allSettled(Array.from({ length: 5 }, () => failing.runTask(request, context)));
  assert.deepEqual(
    settled.map((result) => result.status),
    Array(5).fill("rejected"),
  );
  assert.ok((await failing.runTask(request, context).catch((error: Error) => error.message)) === "store down", "not stuck behind the failures");
});
