// Service deployments and service revisions as ECS's history APIs show them
// (developerguide/service-deployment.html, API_ServiceDeployment, API_ServiceRevision). Each
// CreateService and each UpdateService that needs a deployment starts one service deployment,
// which deploys one service revision (the task definition, launch type or capacity providers,
// platform version and network configuration it launches). A rollback is not a deployment of its
// own: the failed deployment moves to ROLLBACK_IN_PROGRESS and is carried on by the rollback's
// ecs-svc deployment (its "active" deployment), back to the last completed revision.
//
//   IN_PROGRESS ──(PRIMARY COMPLETED)──────────────────────▶ SUCCESSFUL
//        │──(a newer deployment replaces it)────────────────▶ STOPPED
//        │──(circuit breaker, no rollback)──────────────────▶ STOPPED
//        └──(circuit breaker with rollback, StopServiceDeployment)──▶ ROLLBACK_IN_PROGRESS
//                                   ROLLBACK_IN_PROGRESS ──(rollback COMPLETED)──▶ ROLLBACK_SUCCESSFUL
//                                                        ──(rollback fails too)──▶ ROLLBACK_FAILED
//
// Berth starts a deployment's work in the write that creates it, so PENDING and the *_REQUESTED
// states are never seen. ARNs as AWS forms them: service-deployment/<cluster>/<service>/<21
// characters> (e.g. .../NCWGC2ZR-taawPAYrIaU5) and service-revision/<cluster>/<service>/<19 digits>;
// Berth numbers a revision with the digits of the ecs-svc deployment id that introduced it.
import { randomBytes } from "node:crypto";
import type {
  Deployment,
  ServiceDeployment,
  ServiceDeploymentStatus,
  ServiceRevision,
  ServiceRevisionSummary,
  Service,
  TaskDefinition,
} from "@aws-sdk/client-ecs";

/** States in which a service deployment is still under way (its counts are live). */
export const ONGOING_STATUSES: readonly ServiceDeploymentStatus[] = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"];

/** Reasons as Berth words them (ECS's own are not published). */
export const serviceDeploymentReasons = {
  superseded: "ECS deployment stopped: a newer deployment replaced it.", // wording not confirmed
  circuitBreaker: "ECS deployment circuit breaker: tasks failed to start.",
  circuitBreakerRollback: "Circuit breaker detected a deployment failure: rolling back to the last completed service revision.", // wording not confirmed
  userRollback: "Service deployment stopped by StopServiceDeployment: rolling back to the last completed service revision.", // wording not confirmed
  deleted: "ECS deployment stopped: the service was deleted.", // wording not confirmed
};

export function newServiceDeploymentArn(serviceArn: string): string {
  return `${serviceArn.replace(":service/", ":service-deployment/")}/${randomBytes(16).toString("base64url").slice(0, 21)}`;
}

export function serviceRevisionArnFor(serviceArn: string, deploymentId: string): string {
  return `${serviceArn.replace(":service/", ":service-revision/")}/${deploymentId.slice(deploymentId.indexOf("/") + 1)}`;
}

/** A revision's summary with the counts of the ecs-svc deployment that runs it. */
export function revisionSummary(
  arn: string,
  deployment: Pick<Deployment, "desiredCount" | "runningCount" | "pendingCount"> | undefined,
): ServiceRevisionSummary {
  return {
    arn,
    requestedTaskCount: deployment?.desiredCount ?? 0,
    runningTaskCount: deployment?.runningCount ?? 0,
    pendingTaskCount: deployment?.pendingCount ?? 0,
  };
}

/** What `deployment` (the service's new PRIMARY) deploys. */
export function serviceRevisionOf(service: Service, deployment: Deployment, definition: TaskDefinition | undefined, arn: string): ServiceRevision {
  return {
    serviceRevisionArn: arn,
    serviceArn: service.serviceArn,
    clusterArn: service.clusterArn,
    taskDefinition: deployment.taskDefinition,
    ...(deployment.capacityProviderStrategy?.length
      ? { capacityProviderStrategy: deployment.capacityProviderStrategy }
      : { launchType: deployment.launchType }),
    platformVersion: deployment.platformVersion,
    platformFamily: deployment.platformFamily,
    loadBalancers: [],
    serviceRegistries: [],
    ...(deployment.networkConfiguration ? { networkConfiguration: deployment.networkConfiguration } : {}),
    containerImages: (definition?.containerDefinitions ?? []).map((container) => ({ containerName: container.name, image: container.image })),
    guardDutyEnabled: false,
    createdAt: deployment.createdAt,
  };
}

/** A new service deployment of `deployment`, replacing `sources` (the revisions running so far, with their counts). */
export function newServiceDeployment(parts: {
  readonly arn: string;
  readonly service: Service;
  readonly deployment: Deployment;
  readonly revisionArn: string;
  readonly sources: readonly ServiceRevisionSummary[];
  readonly circuitBreakerThreshold: number;
}): ServiceDeployment {
  const { service, deployment } = parts;
  const breaker = service.deploymentConfiguration?.deploymentCircuitBreaker;
  return {
    serviceDeploymentArn: parts.arn,
    serviceArn: service.serviceArn,
    clusterArn: service.clusterArn,
    createdAt: deployment.createdAt,
    startedAt: deployment.createdAt,
    updatedAt: deployment.createdAt,
    sourceServiceRevisions: [...parts.sources],
    targetServiceRevision: revisionSummary(parts.revisionArn, deployment),
    status: "IN_PROGRESS",
    deploymentConfiguration: service.deploymentConfiguration,
    deploymentCircuitBreaker: { status: breaker?.enable ? "MONITORING" : "DISABLED", failureCount: 0, threshold: parts.circuitBreakerThreshold },
    alarms: { status: "DISABLED" },
  };
}

/** The deployment with the counts of the ecs-svc deployment now carrying it (while it is under way). */
export function withLiveCounts(document: ServiceDeployment, active: Deployment | undefined): ServiceDeployment {
  // Once rolling back, the counts stay as they were when the deployment failed.
  if (!active || document.status !== "IN_PROGRESS") return document;
  return {
    ...document,
    targetServiceRevision: revisionSummary(document.targetServiceRevision!.arn!, active),
    ...(document.deploymentCircuitBreaker ? { deploymentCircuitBreaker: { ...document.deploymentCircuitBreaker, failureCount: active.failedTasks ?? 0 } } : {}),
  };
}

/** The deployment reached its end: `status` (SUCCESSFUL, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED, STOPPED), counts as they were then. */
export function finished(
  document: ServiceDeployment,
  status: "SUCCESSFUL" | "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED" | "STOPPED",
  active: Deployment | undefined,
  now: Date,
  reason?: string,
  breakerTriggered = false,
): ServiceDeployment {
  const counted = withLiveCounts(document, active);
  return {
    ...counted,
    ...breakerStatus(counted, breakerTriggered ? "TRIGGERED" : status === "SUCCESSFUL" ? "MONITORING_COMPLETE" : undefined),
    status,
    updatedAt: now,
    ...(status === "STOPPED" ? { stoppedAt: now } : { finishedAt: now }),
    ...(reason !== undefined ? { statusReason: reason } : {}),
  };
}

/** The deployment failed (circuit breaker) or was stopped, and rolls back to `revisionArn`. */
export function rollingBack(
  document: ServiceDeployment,
  active: Deployment | undefined,
  rollback: { reason: string; revisionArn: string; now: Date; breakerTriggered: boolean },
): ServiceDeployment {
  const counted = withLiveCounts(document, active);
  return {
    ...counted,
    ...breakerStatus(counted, rollback.breakerTriggered ? "TRIGGERED" : undefined),
    status: "ROLLBACK_IN_PROGRESS",
    statusReason: rollback.reason,
    updatedAt: rollback.now,
    rollback: { reason: rollback.reason, startedAt: rollback.now, serviceRevisionArn: rollback.revisionArn },
  };
}

/** The circuit breaker's status moved to `status`, where it is watching (DISABLED stays). */
function breakerStatus(
  document: ServiceDeployment,
  status: "TRIGGERED" | "MONITORING_COMPLETE" | undefined,
): Pick<ServiceDeployment, "deploymentCircuitBreaker"> {
  const breaker = document.deploymentCircuitBreaker;
  if (!breaker || status === undefined || breaker.status === "DISABLED") return {};
  return { deploymentCircuitBreaker: { ...breaker, status } };
}
