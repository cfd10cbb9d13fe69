// The history of ECS service deployments: one row per service deployment (CreateService, or an
// UpdateService that deploys), holding the ServiceDeployment and the ServiceRevision it deploys.
// The Service document keeps only its live deployments; these rows outlive them, until the
// service is deleted (ECS deletes a service's deployments with it).
import type { ServiceDeployment, ServiceRevision } from "@aws-sdk/client-ecs";
import type { Kysely, Selectable } from "kysely";

export interface ServiceDeploymentsTable {
  service_deployment_arn: string;
  service_arn: string;
  cluster_arn: string;
  deployment_id: string;
  active_deployment_id: string;
  service_revision_arn: string;
  status: string;
  created_at: number;
  updated_at: number;
  document: string;
  revision: string;
}

export interface ServiceDeploymentsTables {
  service_deployments: ServiceDeploymentsTable;
}

export interface ServiceDeploymentRecord {
  readonly serviceDeploymentArn: string;
  readonly serviceArn: string;
  readonly clusterArn: string;
  /** The ecs-svc deployment that started it. */
  readonly deploymentId: string;
  /** The ecs-svc deployment carrying it now: deploymentId, or its rollback's. */
  readonly activeDeploymentId: string;
  readonly serviceRevisionArn: string;
  readonly status: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly deployment: ServiceDeployment;
  readonly revision: ServiceRevision;
}

export interface ServiceDeploymentListOptions {
  readonly statuses?: readonly string[];
  readonly createdAfterMs?: number;
  readonly createdBeforeMs?: number;
  /** The last row of the previous page (newest first). */
  readonly after?: { readonly createdAtMs: number; readonly serviceDeploymentArn: string };
  readonly limit: number;
}

export interface ServiceDeploymentsRepository {
  put(record: ServiceDeploymentRecord): Promise<void>;
  update(
    serviceDeploymentArn: string,
    change: { status: string; activeDeploymentId: string; deployment: ServiceDeployment; updatedAtMs: number },
  ): Promise<void>;
  getMany(serviceDeploymentArns: readonly string[]): Promise<ServiceDeploymentRecord[]>;
  /** The service deployment `deploymentId` started or carries now (the newest if several). */
  ofDeployment(serviceArn: string, deploymentId: string): Promise<ServiceDeploymentRecord | undefined>;
  revisions(serviceRevisionArns: readonly string[]): Promise<ServiceRevision[]>;
  /** The service's deployments, newest first. */
  list(serviceArn: string, options: ServiceDeploymentListOptions): Promise<ServiceDeploymentRecord[]>;
  removeService(serviceArn: string): Promise<void>;
}

type Row = Selectable<ServiceDeploymentsTable>;

/** Dates at any depth (createdAt, finishedAt, rollback.startedAt, …) were stored as ISO strings. */
function reviveDates(key: string, value: unknown): unknown {
  return key.endsWith("At") && typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value) ? new Date(value) : value;
}

function recordOf(row: Row): ServiceDeploymentRecord {
  return {
    serviceDeploymentArn: row.service_deployment_arn,
    serviceArn: row.service_arn,
    clusterArn: row.cluster_arn,
    deploymentId: row.deployment_id,
    activeDeploymentId: row.active_deployment_id,
    serviceRevisionArn: row.service_revision_arn,
    status: row.status,
    createdAtMs: Number(row.created_at),
    updatedAtMs: Number(row.updated_at),
    deployment: JSON.parse(row.document, reviveDates) as ServiceDeployment,
    revision: JSON.parse(row.revision, reviveDates) as ServiceRevision,
  };
}

function rowOf(record: ServiceDeploymentRecord): Row {
  return {
    service_deployment_arn: record.serviceDeploymentArn,
    service_arn: record.serviceArn,
    cluster_arn: record.clusterArn,
    deployment_id: record.deploymentId,
    active_deployment_id: record.activeDeploymentId,
    service_revision_arn: record.serviceRevisionArn,
    status: record.status,
    created_at: record.createdAtMs,
    updated_at: record.updatedAtMs,
    document: JSON.stringify(record.deployment),
    revision: JSON.stringify(record.revision),
  };
}

export function createServiceDeploymentsRepository(db: Kysely<ServiceDeploymentsTables>): ServiceDeploymentsRepository {
  return {
    async put(record) {
      await db.insertInto("service_deployments").values(rowOf(record)).execute();
    },
    async update(serviceDeploymentArn, change) {
      await db
        .updateTable("service_deployments")
        .set({
          status: change.status,
          active_deployment_id: change.activeDeploymentId,
          document: JSON.stringify(change.deployment),
          updated_at: change.updatedAtMs,
        })
        .where("service_deployment_arn", "=", serviceDeploymentArn)
        .execute();
    },
    async getMany(arns) {
      if (arns.length === 0) return [];
      return (
        await db
          .selectFrom("service_deployments")
          .selectAll()
          .where("service_deployment_arn", "in", [...arns])
          .execute()
      ).map(recordOf);
    },
    async ofDeployment(serviceArn, deploymentId) {
      const row = await db
        .selectFrom("service_deployments")
        .selectAll()
        .where("service_arn", "=", serviceArn)
        .where((eb) => eb.or([eb("active_deployment_id", "=", deploymentId), eb("deployment_id", "=", deploymentId)]))
        .orderBy("created_at", "desc")
        .executeTakeFirst();
      return row ? recordOf(row) : undefined;
    },
    async revisions(arns) {
      if (arns.length === 0) return [];
      const rows = await db
        .selectFrom("service_deployments")
        .select("revision")
        .where("service_revision_arn", "in", [...arns])
        .execute();
      return rows.map((row) => JSON.parse(row.revision, reviveDates) as ServiceRevision);
    },
    async list(serviceArn, options) {
      let query = db
        .selectFrom("service_deployments")
        .selectAll()
        .where("service_arn", "=", serviceArn)
        .orderBy("created_at", "desc")
        .orderBy("service_deployment_arn", "desc");
      if (options.statuses?.length) query = query.where("status", "in", [...options.statuses]);
      if (options.createdAfterMs !== undefined) query = query.where("created_at", ">=", options.createdAfterMs);
      if (options.createdBeforeMs !== undefined) query = query.where("created_at", "<=", options.createdBeforeMs);
      const after = options.after;
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb("created_at", "<", after.createdAtMs),
            eb.and([eb("created_at", "=", after.createdAtMs), eb("service_deployment_arn", "<", after.serviceDeploymentArn)]),
          ]),
        );
      }
      return (await query.limit(options.limit).execute()).map(recordOf);
    },
    async removeService(serviceArn) {
      await db.deleteFrom("service_deployments").where("service_arn", "=", serviceArn).execute();
    },
  };
}
