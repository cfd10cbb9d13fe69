// Service deployment history: ListServiceDeployments, DescribeServiceDeployments,
// DescribeServiceRevisions, StopServiceDeployment; and ListServicesByNamespace, which has nothing
// to list (Berth has no Cloud Map namespaces, so every namespace is unknown). The history itself is
// written where deployments start and change (src/control/service-deployment-history.ts); these
// handlers read it, with the live counts of a deployment still under way, and StopServiceDeployment
// rolls an ongoing deployment back to the last completed one as the circuit breaker would.
import type {
  DescribeServiceDeploymentsRequest,
  DescribeServiceDeploymentsResponse,
  DescribeServiceRevisionsRequest,
  DescribeServiceRevisionsResponse,
  Failure,
  ListServiceDeploymentsRequest,
  ListServiceDeploymentsResponse,
  ListServicesByNamespaceRequest,
  ListServicesByNamespaceResponse,
  Service,
  ServiceDeployment,
  ServiceDeploymentBrief,
  StopServiceDeploymentRequest,
  StopServiceDeploymentResponse,
} from "@aws-sdk/client-ecs";
import { newDeployment, serviceEventMessages, withEvents, withNewPrimary } from "../../core/ecs-service/service-document.js";
import { ONGOING_STATUSES, serviceDeploymentReasons, withLiveCounts } from "../../core/ecs-service/service-deployment-history.js";
import {
  clientException,
  conflictException,
  invalidParameterException,
  namespaceNotFoundException,
  serviceDeploymentNotFoundException,
  serviceNotFoundException,
} from "../../core/errors.js";
import { startRollback } from "../../control/service-deployment-history.js";
import type { ServiceDeploymentRecord } from "../../store/index.js";
import { LOST_RACE, withOptimisticRetry } from "../../store/index.js";
import { requireActiveCluster } from "./clusters.js";
import type { EcsContext } from "./ecs-context.js";
import { checkMaxResults, decodeToken, encodeToken } from "./ecs-context.js";
import { serviceArnOf, writeService } from "./services.js";

const STATUSES = new Set([...ONGOING_STATUSES, "SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"]);

/** At most 20 ARNs per Describe call (API_DescribeServiceDeployments, API_DescribeServiceRevisions). */
function checkArns(arns: readonly string[] | undefined, member: string): string[] {
  if (!arns || arns.length === 0) throw invalidParameterException(`${member} can not be empty.`); // wording not confirmed
  if (arns.length > 20) throw invalidParameterException(`${member} can have at most 20 items.`); // wording not confirmed
  return [...new Set(arns)];
}

/** A timestamp as a caller's JSON carries it (epoch seconds) or as the gateway may have decoded it. */
function epochMs(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value * 1000;
  const parsed = Date.parse(String(value));
  if (Number.isNaN(parsed)) throw invalidParameterException("createdAt must be a timestamp."); // wording not confirmed
  return parsed;
}

/** The documents of `rows`, those still under way with their service's live counts. */
async function withLive(context: EcsContext, rows: readonly ServiceDeploymentRecord[]): Promise<ServiceDeployment[]> {
  const services = new Map<string, Service | undefined>();
  const documents: ServiceDeployment[] = [];
  for (const row of rows) {
    if (row.status !== "IN_PROGRESS") {
      documents.push(row.deployment);
      continue;
    }
    if (!services.has(row.serviceArn)) services.set(row.serviceArn, (await context.store.services.get(row.serviceArn))?.service);
    const active = services.get(row.serviceArn)?.deployments?.find((deployment) => deployment.id === row.activeDeploymentId);
    documents.push(withLiveCounts(row.deployment, active));
  }
  return documents;
}

const isPage = (value: unknown): value is { c: number; a: string } =>
  typeof (value as { c?: unknown })?.c === "number" && typeof (value as { a?: unknown })?.a === "string";

export async function listServiceDeployments(context: EcsContext, input: ListServiceDeploymentsRequest): Promise<ListServiceDeploymentsResponse> {
  const cluster = await requireActiveCluster(context, input.cluster);
  const serviceArn = serviceArnOf(context, cluster, input.service);
  const record = await context.store.services.get(serviceArn);
  if (!record || record.clusterArn !== cluster.clusterArn) throw serviceNotFoundException("Service not found.");
  // ListServiceDeployments answers 20 at a time unless maxResults says otherwise.
  const limit = input.maxResults === undefined ? 20 : checkMaxResults(input.maxResults, 100);
  for (const status of input.status ?? []) if (!STATUSES.has(status)) throw invalidParameterException(`Invalid status: ${status}`); // wording not confirmed
  const page = decodeToken(input.nextToken, isPage);
  const createdAfterMs = epochMs(input.createdAt?.after);
  const createdBeforeMs = epochMs(input.createdAt?.before);
  const rows = await context.store.serviceDeployments.list(serviceArn, {
    ...(input.status?.length ? { statuses: input.status } : {}),
    ...(createdAfterMs !== undefined ? { createdAfterMs } : {}),
    ...(createdBeforeMs !== undefined ? { createdBeforeMs } : {}),
    ...(page ? { after: { createdAtMs: page.c, serviceDeploymentArn: page.a } } : {}),
    limit: limit + 1,
  });
  const shown = rows.slice(0, limit);
  const serviceDeployments: ServiceDeploymentBrief[] = shown.map((row) => ({
    serviceDeploymentArn: row.serviceDeploymentArn,
    serviceArn: row.serviceArn,
    clusterArn: row.clusterArn,
    startedAt: row.deployment.startedAt,
    createdAt: row.deployment.createdAt,
    ...(row.deployment.finishedAt ? { finishedAt: row.deployment.finishedAt } : {}),
    targetServiceRevisionArn: row.serviceRevisionArn,
    status: row.deployment.status,
    ...(row.deployment.statusReason !== undefined ? { statusReason: row.deployment.statusReason } : {}),
  }));
  const last = shown.at(-1);
  return { serviceDeployments, ...(rows.length > limit && last ? { nextToken: encodeToken({ c: last.createdAtMs, a: last.serviceDeploymentArn }) } : {}) };
}

export async function describeServiceDeployments(context: EcsContext, input: DescribeServiceDeploymentsRequest): Promise<DescribeServiceDeploymentsResponse> {
  const arns = checkArns(input.serviceDeploymentArns, "serviceDeploymentArns");
  const rows = new Map((await context.store.serviceDeployments.getMany(arns)).map((row) => [row.serviceDeploymentArn, row]));
  const found = arns.filter((arn) => rows.has(arn)).map((arn) => rows.get(arn)!);
  const failures: Failure[] = arns.filter((arn) => !rows.has(arn)).map((arn) => ({ arn, reason: "MISSING" }));
  return { serviceDeployments: await withLive(context, found), failures };
}

export async function describeServiceRevisions(context: EcsContext, input: DescribeServiceRevisionsRequest): Promise<DescribeServiceRevisionsResponse> {
  const arns = checkArns(input.serviceRevisionArns, "serviceRevisionArns");
  const revisions = new Map((await context.store.serviceDeployments.revisions(arns)).map((revision) => [revision.serviceRevisionArn!, revision]));
  return {
    serviceRevisions: arns.filter((arn) => revisions.has(arn)).map((arn) => revisions.get(arn)!),
    failures: arns.filter((arn) => !revisions.has(arn)).map((arn) => ({ arn, reason: "MISSING" })),
  };
}

/** The rollback deployment's rolloutStateReason (Berth's words; ECS's for a requested rollback are not published). */
const requestedRollbackReason = (deploymentId: string) => `ECS deployment rollback requested: rolling back to deploymentId ${deploymentId}.`;

export async function stopServiceDeployment(context: EcsContext, input: StopServiceDeploymentRequest): Promise<StopServiceDeploymentResponse> {
  const arn = input.serviceDeploymentArn;
  if (!arn) throw invalidParameterException("serviceDeploymentArn must be specified."); // wording not confirmed
  // API_StopServiceDeployment: "The valid values are ROLLBACK" (its enum also lists ABORT).
  if ((input.stopType ?? "ROLLBACK") !== "ROLLBACK") throw invalidParameterException(`Invalid stopType: ${input.stopType}. The valid values are ROLLBACK.`); // wording not confirmed
  return withOptimisticRetry(
    async () => {
      const [row] = await context.store.serviceDeployments.getMany([arn]);
      if (!row) throw serviceDeploymentNotFoundException("Service deployment not found."); // wording not confirmed
      // stop-service-deployment.html: one already stopping or rolling back just carries on.
      if (["STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"].includes(row.status)) return { serviceDeploymentArn: arn };
      const record = row.status === "IN_PROGRESS" ? await context.store.services.get(row.serviceArn) : undefined;
      const primary = record?.service.deployments?.[0];
      if (!record || record.status !== "ACTIVE" || primary?.id !== row.activeDeploymentId) {
        throw conflictException(`The service deployment is ${row.status} and can't be stopped.`); // wording not confirmed
      }
      const target = record.state.lastCompleted;
      if (!target || target.id === primary.id) throw conflictException("The service has no completed service revision to roll back to."); // wording not confirmed
      const now = new Date(context.clock.now());
      const rollback = newDeployment(target, record.service.desiredCount ?? 0, now, requestedRollbackReason(target.id));
      const service = withEvents(withNewPrimary(record.service, rollback, now), [serviceEventMessages.rollingBack(record.serviceName, target.id)], now);
      const state = { ...record.state, consecutiveFailures: 0, nextLaunchAtMs: 0, failuresSeen: {}, steady: false };
      const applied = await writeService(context, record, { service, state, updatedAtMs: now.getTime() }, (tx) =>
        startRollback(tx.serviceDeployments, record.serviceArn, {
          deploymentId: primary.id!,
          failed: primary,
          to: rollback,
          targetId: target.id,
          reason: serviceDeploymentReasons.userRollback,
          breakerTriggered: false,
          now,
        }),
      );
      if (!applied) return LOST_RACE;
      context.store.signals.publish("services", record.serviceArn);
      return { serviceDeploymentArn: arn };
    },
    {
      exhausted: () => {
        throw clientException("The service was updated concurrently; try again."); // wording not confirmed
      },
    },
  );
}

export async function listServicesByNamespace(_context: EcsContext, input: ListServicesByNamespaceRequest): Promise<ListServicesByNamespaceResponse> {
  if (!input.namespace) throw invalidParameterException("namespace must be specified."); // wording not confirmed
  if (input.maxResults !== undefined) checkMaxResults(input.maxResults, 100);
  // Berth has no Cloud Map namespaces; ECS's words for one it cannot find (seen from CreateService).
  throw namespaceNotFoundException(`Failed to retrieve namespace for ${input.namespace}`);
}
