import { test } from "node:test";
import assert from "node:assert/strict";
import type { Task } from "@aws-sdk/client-ecs";
import type { TaskStatusReport } from "../protocol/index.js";
import { protocolVersion } from "../protocol/index.js";
import { applyTaskReport } from "./apply-task-report.js";

const task: Task = {
  taskArn: "arn:aws:ecs:us-east-1:123456789012:task/demo/abc",
  lastStatus: "PROVISIONING",
  desiredStatus: "RUNNING",
  attachments: [{ id: "att-1", type: "ElasticNetworkInterface", status: "PRECREATED", details: [{ name: "subnetId", value: "subnet-1" }] }],
  containers: [{ name: "app", lastStatus: "PENDING", networkInterfaces: [] }],
  version: 1,
};

const report = (overrides: Partial<TaskStatusReport>): TaskStatusReport => ({
  protocolVersion,
  taskArn: task.taskArn!,
  lastStatus: "RUNNING",
  desiredStatus: "RUNNING",
  sequence: 1,
  health: "UNKNOWN",
  containers: [
    {
      name: "app",
      lastStatus: "RUNNING",
      health: "UNKNOWN",
      essential: true,
      image: "nginx",
      runtimeId: "r1",
      networkInterfaces: [{ attachmentId: "x", privateIpv4Address: "172.31.0.5" }],
    },
  ],
  ...overrides,
});

test("a running report fills the ENI details, container runtime ids and timestamps", () => {
  const next = applyTaskReport(
    { task, reportSequence: 0 },
    report({
      startedAtMs: 5000,
      connectivityAtMs: 4000,
      attachment: {
        type: "ElasticNetworkInterface",
        status: "ATTACHED",
        subnetId: "subnet-1",
        networkInterfaceId: "eni-0123456789abcdef0",
        macAddress: "02:00:00:00:00:01",
        privateDnsName: "ip-172-31-0-5.ec2.internal",
        privateIPv4Address: "172.31.0.5",
      },
    }),
  )!;
  assert.equal(next.task.lastStatus, "RUNNING");
  assert.equal(next.task.connectivity, "CONNECTED");
  assert.deepEqual(next.task.startedAt, new Date(5000));
  assert.equal(next.task.attachments![0]!.status, "ATTACHED");
  assert.ok(next.task.attachments![0]!.details!.some((d) => d.name === "privateIPv4Address" && d.value === "172.31.0.5"));
  assert.equal(next.task.containers![0]!.runtimeId, "r1");
  assert.deepEqual(next.task.containers![0]!.networkInterfaces, [{ attachmentId: "att-1", privateIpv4Address: "172.31.0.5" }]);
});

test("a report not newer than the last applied is dropped", () => {
  assert.equal(applyTaskReport({ task, reportSequence: 3 }, report({ sequence: 3 })), undefined);
});

test("the first stop code and reason stick, and a stopped task stays desired STOPPED", () => {
  const stopped = applyTaskReport(
    { task: { ...task, desiredStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "Task stopped by user" }, reportSequence: 0 },
    report({ lastStatus: "STOPPED", desiredStatus: "RUNNING", stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited" }),
  )!;
  assert.equal(stopped.task.desiredStatus, "STOPPED");
  assert.equal(stopped.task.stopCode, "UserInitiated");
  assert.equal(stopped.task.stoppedReason, "Task stopped by user");
});

test("STOPPED is terminal: a later RUNNING report (a reaped host coming back) changes nothing", () => {
  const stopped: Task = {
    ...task,
    lastStatus: "STOPPED",
    desiredStatus: "STOPPED",
    stoppedAt: new Date(9000),
    containers: [{ name: "app", lastStatus: "STOPPED" }],
  };
  assert.equal(applyTaskReport({ task: stopped, reportSequence: 4 }, report({ sequence: 5, lastStatus: "RUNNING" })), undefined);
});

test("lastStatus only moves forward: an older status with a newer sequence keeps the newer status", () => {
  const running: Task = { ...task, lastStatus: "RUNNING" };
  const next = applyTaskReport({ task: running, reportSequence: 2 }, report({ sequence: 3, lastStatus: "PENDING" }))!;
  assert.equal(next.task.lastStatus, "RUNNING");
});

test("a STOPPED report without container details stops every container", () => {
  const next = applyTaskReport({ task, reportSequence: 0 }, report({ lastStatus: "STOPPED", desiredStatus: "STOPPED", containers: [] }))!;
  assert.deepEqual(
    next.task.containers!.map((c) => c.lastStatus),
    ["STOPPED"],
  );
});
