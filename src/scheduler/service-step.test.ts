import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceStepInput, ServiceTaskView } from "./service-step.js";
import { circuitBreakerThreshold, planServiceStep } from "./service-step.js";

let serial = 0;
function task(deploymentId: string, overrides: Partial<ServiceTaskView> = {}): ServiceTaskView {
  serial++;
  return {
    taskArn: `arn:task/${serial}`,
    deploymentId,
    desiredStatus: "RUNNING",
    lastStatus: "RUNNING",
    healthy: true,
    unhealthy: false,
    failed: false,
    protected: false,
    availabilityZone: "us-east-1a",
    createdAtMs: serial,
    ...overrides,
  };
}

function input(overrides: Partial<ServiceStepInput>): ServiceStepInput {
  return {
    desiredCount: 4,
    minimumHealthyPercent: 100,
    maximumPercent: 200,
    circuitBreaker: { enable: true, rollback: true },
    deployments: [{ id: "new", rolloutState: "IN_PROGRESS" }],
    tasks: [],
    launchBudget: 100,
    ...overrides,
  };
}

test("a new service launches its desired count, bounded by the launch budget", () => {
  assert.equal(planServiceStep(input({})).launches, 4);
  assert.equal(planServiceStep(input({ launchBudget: 3 })).launches, 3);
  assert.equal(planServiceStep(input({ launchBudget: 0 })).launches, 0);
});

test("min 100 / max 200: the new deployment launches beside the old one, which is stopped only as new tasks turn healthy", () => {
  const deployments = [
    { id: "new", rolloutState: "IN_PROGRESS" as const },
    { id: "old", rolloutState: "COMPLETED" as const },
  ];
  const old = [task("old"), task("old"), task("old"), task("old")];
  const first = planServiceStep(input({ deployments, tasks: old }));
  assert.equal(first.launches, 4);
  assert.deepEqual(first.stops, [], "nothing stopped while only 4 are healthy");
  const pending = [task("new", { lastStatus: "PENDING", healthy: false }), task("new", { lastStatus: "PENDING", healthy: false })];
  const twoHealthy = [task("new"), task("new"), ...pending];
  const second = planServiceStep(input({ deployments, tasks: [...old, ...twoHealthy] }));
  assert.equal(second.launches, 0);
  assert.equal(second.stops.length, 2, "two old tasks may go: 6 healthy, 4 must stay");
  assert.ok(second.stops.every((stop) => stop.cause === "replaced"));
});

test("min 50 / max 100: old tasks stop first (down to half), then the new ones start in the room left", () => {
  const deployments = [
    { id: "new", rolloutState: "IN_PROGRESS" as const },
    { id: "old", rolloutState: "COMPLETED" as const },
  ];
  const old = [task("old"), task("old"), task("old"), task("old")];
  const step = planServiceStep(input({ deployments, tasks: old, minimumHealthyPercent: 50, maximumPercent: 100 }));
  assert.equal(step.launches, 0, "no room above 100%");
  assert.equal(step.stops.length, 2);
  const stopping = old.map((one, index) => (index < 2 ? { ...one, desiredStatus: "STOPPED" } : one));
  const still = planServiceStep(input({ deployments, tasks: stopping, minimumHealthyPercent: 50, maximumPercent: 100 }));
  assert.equal(still.launches, 0, "stopping tasks still occupy the room");
  const stopped = old.map((one, index) => (index < 2 ? { ...one, desiredStatus: "STOPPED", lastStatus: "STOPPED" } : one));
  assert.equal(planServiceStep(input({ deployments, tasks: stopped, minimumHealthyPercent: 50, maximumPercent: 100 })).launches, 2);
});

test("a killed task is replaced; the steady state needs exactly N healthy tasks of the PRIMARY deployment", () => {
  const deployments = [{ id: "new", rolloutState: "COMPLETED" as const }];
  const tasks = [task("new"), task("new"), task("new"), task("new", { desiredStatus: "STOPPED", lastStatus: "STOPPED", failed: true })];
  const step = planServiceStep(input({ deployments, tasks }));
  assert.equal(step.launches, 1);
  assert.equal(step.steady, false);
  assert.equal(step.counts.get("new")!.failed, 1);
  const full = planServiceStep(input({ deployments, tasks: [...tasks, task("new")] }));
  assert.equal(full.steady, true);
  assert.equal(full.primaryState, "COMPLETED");
});

test("an unhealthy task is stopped and replaced; a pending one of an older deployment goes at once", () => {
  const deployments = [
    { id: "new", rolloutState: "IN_PROGRESS" as const },
    { id: "old", rolloutState: "COMPLETED" as const },
  ];
  const sick = task("new", { unhealthy: true, healthy: false });
  const oldPending = task("old", { lastStatus: "PENDING", healthy: false });
  const step = planServiceStep(input({ deployments, tasks: [sick, oldPending, task("new"), task("new"), task("new")] }));
  assert.deepEqual(
    step.stops.map((stop) => [stop.taskArn, stop.cause]),
    [
      [sick.taskArn, "unhealthy"],
      [oldPending.taskArn, "replaced"],
    ],
  );
});

test("the circuit breaker trips at half the desired count, at least 3 and at most 200, and stops launching", () => {
  assert.deepEqual([1, 4, 6, 7, 10, 1000].map(circuitBreakerThreshold), [3, 3, 3, 4, 5, 200]);
  const failed = (count: number) => Array.from({ length: count }, () => task("new", { desiredStatus: "STOPPED", lastStatus: "STOPPED", failed: true }));
  assert.equal(planServiceStep(input({ tasks: failed(2) })).tripped, false);
  const tripped = planServiceStep(input({ tasks: failed(3) }));
  assert.equal(tripped.tripped, true);
  assert.equal(tripped.primaryState, "FAILED");
  assert.equal(tripped.launches, 0);
  assert.equal(planServiceStep(input({ tasks: failed(3), circuitBreaker: { enable: false, rollback: false } })).tripped, false);
  assert.equal(planServiceStep(input({ tasks: failed(3), deployments: [{ id: "new", rolloutState: "COMPLETED" }] })).tripped, false, "only during a rollout");
});

test("scale-in never stops protected tasks, takes pending ones first and keeps the AZs balanced", () => {
  const deployments = [{ id: "new", rolloutState: "COMPLETED" as const }];
  const a = [task("new"), task("new"), task("new", { protected: true })];
  const b = [task("new", { availabilityZone: "us-east-1b" })];
  const pending = task("new", { availabilityZone: "us-east-1b", lastStatus: "PENDING", healthy: false });
  const step = planServiceStep(input({ deployments, desiredCount: 2, tasks: [...a, ...b, pending] }));
  const stopped = step.stops.map((stop) => stop.taskArn);
  assert.equal(stopped.length, 3);
  assert.equal(stopped[0], pending.taskArn);
  assert.ok(!stopped.includes(a[2]!.taskArn), "the protected task stays");
  assert.ok(!stopped.includes(b[0]!.taskArn), "us-east-1b keeps its one task");
});

test("older deployments with nothing left are drained; a DRAINING service (N = 0) stops everything", () => {
  const deployments = [
    { id: "new", rolloutState: "IN_PROGRESS" as const },
    { id: "old", rolloutState: "COMPLETED" as const },
  ];
  const step = planServiceStep(input({ deployments, tasks: [task("new"), task("new"), task("new"), task("new")] }));
  assert.deepEqual(step.drained, ["old"]);
  assert.equal(step.primaryState, "COMPLETED");
  const draining = planServiceStep(input({ desiredCount: 0, tasks: [task("new"), task("new")] }));
  assert.equal(draining.stops.length, 2);
  assert.equal(draining.launches, 0);
  const stopping = planServiceStep(input({ desiredCount: 0, tasks: [task("new", { desiredStatus: "STOPPED" }), task("new", { desiredStatus: "STOPPED" })] }));
  assert.equal(stopping.steady, true);
  assert.equal(stopping.occupied, 2, "tasks told to stop still occupy their hosts: not INACTIVE yet");
});

test("a deleted service whose newest deployment FAILED stops the older deployment's tasks too", () => {
  const older = [task("old"), task("old")];
  const step = planServiceStep(
    input({
      desiredCount: 0,
      draining: true,
      circuitBreaker: { enable: true, rollback: false },
      deployments: [
        { id: "new", rolloutState: "FAILED" },
        { id: "old", rolloutState: "COMPLETED" },
      ],
      tasks: older,
    }),
  );
  assert.deepEqual(step.stops.map((stop) => stop.taskArn).sort(), older.map((view) => view.taskArn).sort());
});
