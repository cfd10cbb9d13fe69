import { test } from "node:test";
import assert from "node:assert/strict";
import type { Deployment, Service } from "@aws-sdk/client-ecs";
import { finished, newServiceDeployment, newServiceDeploymentArn, rollingBack, serviceRevisionArnFor, withLiveCounts } from "./service-deployment-history.js";

const serviceArn = "arn:aws:ecs:us-east-1:123456789012:service/demo/web";
const at = new Date("2025-01-01T00:00:00Z");
const deployment: Deployment = { id: "ecs-svc/4980306466373577095", taskDefinition: "td:2", desiredCount: 4, runningCount: 0, pendingCount: 0, createdAt: at };
const service: Service = {
  serviceArn,
  clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
  desiredCount: 4,
  deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true }, maximumPercent: 200, minimumHealthyPercent: 100 },
};
const fresh = () =>
  newServiceDeployment({
    arn: newServiceDeploymentArn(serviceArn),
    service,
    deployment,
    revisionArn: serviceRevisionArnFor(serviceArn, deployment.id!),
    sources: [],
    circuitBreakerThreshold: 3,
  });

test("ARNs are formed as ECS forms them", () => {
  assert.match(newServiceDeploymentArn(serviceArn), /^arn:aws:ecs:us-east-1:123456789012:service-deployment\/demo\/web\/[A-Za-z0-9_-]{21}$/);
  assert.equal(serviceRevisionArnFor(serviceArn, deployment.id!), "arn:aws:ecs:us-east-1:123456789012:service-revision/demo/web/4980306466373577095");
});

test("a new service deployment is IN_PROGRESS with the circuit breaker monitoring", () => {
  const document = fresh();
  assert.equal(document.status, "IN_PROGRESS");
  assert.deepEqual(document.deploymentCircuitBreaker, { status: "MONITORING", failureCount: 0, threshold: 3 });
  assert.deepEqual(document.targetServiceRevision, {
    arn: serviceRevisionArnFor(serviceArn, deployment.id!),
    requestedTaskCount: 4,
    runningTaskCount: 0,
    pendingTaskCount: 0,
  });
});

test("live counts follow the active deployment while in progress, and freeze when it finishes", () => {
  const running = { ...deployment, runningCount: 3, pendingCount: 1, failedTasks: 1 };
  const live = withLiveCounts(fresh(), running);
  assert.equal(live.targetServiceRevision!.runningTaskCount, 3);
  assert.equal(live.deploymentCircuitBreaker!.failureCount, 1);
  const done = finished(fresh(), "SUCCESSFUL", { ...deployment, runningCount: 4 }, at);
  assert.equal(done.status, "SUCCESSFUL");
  assert.equal(done.finishedAt, at);
  assert.equal(done.deploymentCircuitBreaker!.status, "MONITORING_COMPLETE");
  assert.equal(withLiveCounts(done, { ...deployment, runningCount: 0 }).targetServiceRevision!.runningTaskCount, 4);
});

test("a stopped deployment has stoppedAt; a rollback names the revision it returns to", () => {
  const stopped = finished(fresh(), "STOPPED", deployment, at, "why", true);
  assert.equal(stopped.stoppedAt, at);
  assert.equal(stopped.finishedAt, undefined);
  assert.equal(stopped.deploymentCircuitBreaker!.status, "TRIGGERED");
  const back = rollingBack(fresh(), deployment, { reason: "r", revisionArn: "rev", now: at, breakerTriggered: false });
  assert.equal(back.status, "ROLLBACK_IN_PROGRESS");
  assert.deepEqual(back.rollback, { reason: "r", startedAt: at, serviceRevisionArn: "rev" });
  assert.equal(back.deploymentCircuitBreaker!.status, "MONITORING");
});
