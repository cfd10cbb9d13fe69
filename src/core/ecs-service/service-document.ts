// The Service document's parts as ECS shapes them: deployments (ids `ecs-svc/<19 digits>`, PRIMARY
// then ACTIVE, rolloutState and its reason) and events (the newest 100, newest first, in the words
// users read and scripts grep: "(service web) has reached a steady state.").
import { randomInt, randomUUID } from "node:crypto";
import type { Deployment, Service, ServiceEvent } from "@aws-sdk/client-ecs";

export const MAX_SERVICE_EVENTS = 100;

/** What a deployment launches: the parts of a Service a new deployment copies. */
export interface DeploymentSettings {
  readonly taskDefinition: string;
  readonly launchType?: Deployment["launchType"];
  readonly capacityProviderStrategy?: Deployment["capacityProviderStrategy"];
  readonly platformVersion?: string;
  readonly networkConfiguration?: Deployment["networkConfiguration"];
}

export function newDeploymentId(): string {
  // ECS's ids are "ecs-svc/" and 19 digits.
  let digits = String(randomInt(1, 10));
  while (digits.length < 19) digits += String(randomInt(0, 10));
  return `ecs-svc/${digits}`;
}

export function newDeployment(settings: DeploymentSettings, desiredCount: number, now: Date, reason?: string): Deployment {
  const id = newDeploymentId();
  return {
    id,
    status: "PRIMARY",
    taskDefinition: settings.taskDefinition,
    desiredCount,
    pendingCount: 0,
    runningCount: 0,
    failedTasks: 0,
    createdAt: now,
    updatedAt: now,
    ...(settings.capacityProviderStrategy?.length
      ? { capacityProviderStrategy: settings.capacityProviderStrategy }
      : { launchType: settings.launchType ?? "FARGATE" }),
    platformVersion: settings.platformVersion ?? "1.4.0",
    platformFamily: "Linux",
    ...(settings.networkConfiguration ? { networkConfiguration: settings.networkConfiguration } : {}),
    rolloutState: "IN_PROGRESS",
    rolloutStateReason: reason ?? `ECS deployment ${id} in progress.`,
  };
}

export function deploymentSettingsOf(deployment: Deployment): DeploymentSettings {
  return {
    taskDefinition: deployment.taskDefinition!,
    ...(deployment.launchType ? { launchType: deployment.launchType } : {}),
    ...(deployment.capacityProviderStrategy?.length ? { capacityProviderStrategy: deployment.capacityProviderStrategy } : {}),
    ...(deployment.platformVersion ? { platformVersion: deployment.platformVersion } : {}),
    ...(deployment.networkConfiguration ? { networkConfiguration: deployment.networkConfiguration } : {}),
  };
}

/** The service with `deployment` as its new PRIMARY; the old PRIMARY (and every older one) stays, ACTIVE, to be drained. */
export function withNewPrimary(service: Service, deployment: Deployment, now: Date): Service {
  const older = (service.deployments ?? []).map((existing) => ({ ...existing, status: "ACTIVE", desiredCount: 0, updatedAt: now }));
  return { ...service, taskDefinition: deployment.taskDefinition, deployments: [deployment, ...older] };
}

/** `messages` as the service's newest events (newest first), the oldest beyond 100 dropped. */
export function withEvents(service: Service, messages: readonly string[], now: Date): Service {
  if (messages.length === 0) return service;
  const added: ServiceEvent[] = [...messages].reverse().map((message) => ({ id: randomUUID(), createdAt: now, message }));
  return { ...service, events: [...added, ...(service.events ?? [])].slice(0, MAX_SERVICE_EVENTS) };
}

const taskIdOf = (taskArn: string) => taskArn.slice(taskArn.lastIndexOf("/") + 1);

/** Event messages as ECS words them (the ones marked are Berth's, for what ECS says otherwise or not at all). */
export const serviceEventMessages = {
  started: (service: string, taskArns: readonly string[]) =>
    `(service ${service}) has started ${taskArns.length} tasks: ${taskArns.map((arn) => `(task ${taskIdOf(arn)})`).join(" ")}.`,
  stopped: (service: string, taskArns: readonly string[]) =>
    `(service ${service}) has stopped ${taskArns.length} running tasks: ${taskArns.map((arn) => `(task ${taskIdOf(arn)})`).join(" ")}.`,
  steady: (service: string) => `(service ${service}) has reached a steady state.`,
  completed: (service: string, deploymentId: string) => `(service ${service}) (deployment ${deploymentId}) deployment completed.`,
  failed: (service: string, deploymentId: string) => `(service ${service}) (deployment ${deploymentId}) deployment failed: tasks failed to start.`,
  rollingBack: (service: string, deploymentId: string) => `(service ${service}) rolling back to deployment ${deploymentId}.`, // wording not confirmed
  unableToPlace: (service: string, reason: string) => `(service ${service}) was unable to place a task. Reason: ${reason}`,
  unhealthy: (service: string, taskArn: string) => `(service ${service}) (task ${taskIdOf(taskArn)}) failed container health checks.`,
  launchFailed: (service: string, reason: string) => `(service ${service}) failed to launch a task with (error ${reason}).`,
  registeredTargets: (service: string, count: number, targetGroupArn: string) =>
    `(service ${service}) registered ${count} targets in (target-group ${targetGroupArn})`,
  deregisteredTargets: (service: string, count: number, targetGroupArn: string) =>
    `(service ${service}) deregistered ${count} targets in (target-group ${targetGroupArn})`,
  targetUnhealthy: (service: string, taskArn: string, port: number, targetGroupArn: string, reason: string) =>
    `(service ${service}) (task ${taskIdOf(taskArn)}) (port ${port}) is unhealthy in (target-group ${targetGroupArn}) due to (reason ${reason}).`, // wording not confirmed
  elbUnhealthy: (service: string, taskArn: string, targetGroupArn: string) =>
    `(service ${service}) (task ${taskIdOf(taskArn)}) failed ELB health checks in (target-group ${targetGroupArn}).`, // wording not confirmed
};

export const rolloutReasons = {
  completed: (deploymentId: string) => `ECS deployment ${deploymentId} completed.`,
  circuitBreaker: "ECS deployment circuit breaker: tasks failed to start.",
  rollback: (deploymentId: string) => `ECS deployment circuit breaker: rolling back to deploymentId ${deploymentId}.`,
};

/** Why the scheduler stopped a task (its stoppedReason). */
export const HEALTH_CHECK_STOP_REASON = "Task failed container health checks";
export const scalingStopReason = (deploymentId: string) => `Scaling activity initiated by (deployment ${deploymentId})`;
