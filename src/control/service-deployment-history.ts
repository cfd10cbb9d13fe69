// Writes the service deployment history (src/core/ecs-service/service-deployment-history.ts) at the
// points where ECS deployments start and change state: CreateService and UpdateService start one,
// the service scheduler records completion and circuit-breaker failures and rollbacks,
// StopServiceDeployment a requested rollback. Each is called inside the transaction that writes
// the service, so the history and the Service document never disagree after a crash.
import type { Deployment, Service, ServiceCurrentRevisionSummary, TaskDefinition } from "@aws-sdk/client-ecs";
import {
  finished,
  newServiceDeployment,
  newServiceDeploymentArn,
  ONGOING_STATUSES,
  revisionSummary,
  rollingBack,
  serviceDeploymentReasons,
  serviceRevisionArnFor,
  serviceRevisionOf,
} from "../core/ecs-service/service-deployment-history.js";
import { circuitBreakerThreshold } from "../scheduler/service-step.js";
import type { ServiceDeploymentsRepository } from "../store/index.js";
import type { ServiceDeploymentStatus } from "@aws-sdk/client-ecs";

/** What the scheduler's step did to the PRIMARY deployment, for the history. */
export type DeploymentOutcome =
  | { readonly kind: "completed"; readonly deployment: Deployment }
  | { readonly kind: "failed"; readonly deployment: Deployment; readonly rollback?: { readonly to: Deployment; readonly targetId: string } };

/** The service revision an ecs-svc deployment runs: the one it introduced, or the one its rollback returns to. */
export async function revisionArnOfDeployment(history: ServiceDeploymentsRepository, serviceArn: string, deploymentId: string): Promise<string> {
  const row = await history.ofDeployment(serviceArn, deploymentId);
  if (!row) return serviceRevisionArnFor(serviceArn, deploymentId);
  if (row.deploymentId === deploymentId) return row.serviceRevisionArn;
  return row.deployment.rollback?.serviceRevisionArn ?? row.serviceRevisionArn;
}

/**
 * The service revisions the service runs now, one per deployment (PRIMARY first) with its counts:
 * DescribeServices' currentServiceRevisions.
 */
export async function currentServiceRevisions(history: ServiceDeploymentsRepository, service: Service): Promise<ServiceCurrentRevisionSummary[]> {
  const revisions: ServiceCurrentRevisionSummary[] = [];
  for (const deployment of service.deployments ?? []) {
    revisions.push(revisionSummary(await revisionArnOfDeployment(history, service.serviceArn!, deployment.id!), deployment));
  }
  return revisions;
}

/**
 * Records the service deployment of `service`'s new PRIMARY deployment (the service as written),
 * replacing `previous` (its deployments before); the one that was under way is STOPPED. The new
 * service deployment's ARN is `arn` (the Service's currentServiceDeployment).
 */
export async function startServiceDeployment(
  history: ServiceDeploymentsRepository,
  parts: { arn: string; service: Service; definition: TaskDefinition | undefined; previous: readonly Deployment[]; now: Date },
): Promise<void> {
  const { service, now } = parts;
  const serviceArn = service.serviceArn!;
  const deployment = service.deployments![0]!;
  const replaced = parts.previous[0] ? await history.ofDeployment(serviceArn, parts.previous[0].id!) : undefined;
  if (replaced && ONGOING_STATUSES.includes(replaced.status as ServiceDeploymentStatus)) {
    const stopped = finished(replaced.deployment, "STOPPED", parts.previous[0], now, serviceDeploymentReasons.superseded);
    await history.update(replaced.serviceDeploymentArn, {
      status: "STOPPED",
      activeDeploymentId: replaced.activeDeploymentId,
      deployment: stopped,
      updatedAtMs: now.getTime(),
    });
  }
  const sources = [];
  for (const old of parts.previous) sources.push(revisionSummary(await revisionArnOfDeployment(history, serviceArn, old.id!), old));
  const revisionArn = serviceRevisionArnFor(serviceArn, deployment.id!);
  const document = newServiceDeployment({
    arn: parts.arn,
    service,
    deployment,
    revisionArn,
    sources,
    circuitBreakerThreshold: circuitBreakerThreshold(service.desiredCount ?? 0),
  });
  await history.put({
    serviceDeploymentArn: parts.arn,
    serviceArn,
    clusterArn: service.clusterArn!,
    deploymentId: deployment.id!,
    activeDeploymentId: deployment.id!,
    serviceRevisionArn: revisionArn,
    status: "IN_PROGRESS",
    createdAtMs: now.getTime(),
    updatedAtMs: now.getTime(),
    deployment: document,
    revision: serviceRevisionOf(service, deployment, parts.definition, revisionArn),
  });
}

export { newServiceDeploymentArn };

/** The service deployment carried by `deploymentId` rolls back to `targetId` on `to` (a new ecs-svc deployment). */
export async function startRollback(
  history: ServiceDeploymentsRepository,
  serviceArn: string,
  rollback: { deploymentId: string; failed: Deployment | undefined; to: Deployment; targetId: string; reason: string; breakerTriggered: boolean; now: Date },
): Promise<void> {
  const row = await history.ofDeployment(serviceArn, rollback.deploymentId);
  if (!row) return;
  const revisionArn = await revisionArnOfDeployment(history, serviceArn, rollback.targetId);
  const document = rollingBack(row.deployment, rollback.failed, {
    reason: rollback.reason,
    revisionArn,
    now: rollback.now,
    breakerTriggered: rollback.breakerTriggered,
  });
  await history.update(row.serviceDeploymentArn, {
    status: "ROLLBACK_IN_PROGRESS",
    activeDeploymentId: rollback.to.id!,
    deployment: document,
    updatedAtMs: rollback.now.getTime(),
  });
}

/** Records what a scheduler step did to the PRIMARY deployment. */
export async function recordDeploymentOutcome(history: ServiceDeploymentsRepository, serviceArn: string, outcome: DeploymentOutcome, now: Date): Promise<void> {
  const id = outcome.deployment.id!;
  const row = await history.ofDeployment(serviceArn, id);
  if (!row || row.activeDeploymentId !== id) return;
  const write = (status: string, deployment: typeof row.deployment) =>
    history.update(row.serviceDeploymentArn, { status, activeDeploymentId: row.activeDeploymentId, deployment, updatedAtMs: now.getTime() });
  const rolling = row.status === "ROLLBACK_IN_PROGRESS";
  if (outcome.kind === "completed") {
    if (row.status !== "IN_PROGRESS" && !rolling) return;
    const status = rolling ? "ROLLBACK_SUCCESSFUL" : "SUCCESSFUL";
    await write(status, finished(row.deployment, status, outcome.deployment, now));
    return;
  }
  if (rolling) {
    await write("ROLLBACK_FAILED", finished(row.deployment, "ROLLBACK_FAILED", outcome.deployment, now, serviceDeploymentReasons.circuitBreaker, true));
  } else if (row.status === "IN_PROGRESS" && outcome.rollback) {
    await startRollback(history, serviceArn, {
      deploymentId: id,
      failed: outcome.deployment,
      to: outcome.rollback.to,
      targetId: outcome.rollback.targetId,
      reason: serviceDeploymentReasons.circuitBreakerRollback,
      breakerTriggered: true,
      now,
    });
  } else if (row.status === "IN_PROGRESS") {
    await write("STOPPED", finished(row.deployment, "STOPPED", outcome.deployment, now, serviceDeploymentReasons.circuitBreaker, true));
  }
}
