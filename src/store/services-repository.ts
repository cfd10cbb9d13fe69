// ECS services: the Service document the API returns (deployments and the newest events inside)
// beside the columns the API pages and the scheduler selects by, and the scheduler's own state.
// Optimistic concurrency like tasks: a write names the version it read (UpdateService and the
// scheduler both write a service; the loser reads again).
//
// A row's updated_at is when it was last written, and an INACTIVE row is written no more (the
// scheduler stops at INACTIVE, UpdateService and DeleteService refuse it, task protection keeps
// updated_at as it was): an INACTIVE row's updated_at is when it turned INACTIVE, what
// purgeInactive ages it by.
import type { CapacityProviderStrategyItem, LaunchType, NetworkConfiguration, Service } from "@aws-sdk/client-ecs";
import type { Kysely, Selectable } from "kysely";
import type { TagsTable } from "./ecs-repositories.js";
import type { ServiceDeploymentsTables } from "./service-deployments-repository.js";
import { inTransaction } from "./transaction.js";

export interface ServicesTable {
  service_arn: string;
  cluster_arn: string;
  service_name: string;
  status: string;
  created_at: number;
  updated_at: number;
  version: number;
  document: string;
  state: string;
}

/** A deployment's launch settings, kept to roll back to (the Deployment shape holds them too). */
export interface DeploymentSnapshot {
  readonly taskDefinition: string;
  readonly launchType?: LaunchType;
  readonly capacityProviderStrategy?: CapacityProviderStrategyItem[];
  readonly platformVersion?: string;
  readonly networkConfiguration?: NetworkConfiguration;
}

/** What the scheduler remembers between passes beyond the Service document. */
export interface ServiceSchedulingState {
  /** The deployment that last COMPLETED: what a circuit breaker's rollback returns to. */
  readonly lastCompleted?: DeploymentSnapshot & { readonly id: string };
  /** Task failures in a row (reset by a healthy task): launches back off after a few. */
  readonly consecutiveFailures: number;
  /** Failed tasks already counted into consecutiveFailures, per deployment. */
  readonly failuresSeen: Readonly<Record<string, number>>;
  /** No launch before this time (the back-off). */
  readonly nextLaunchAtMs: number;
  /** When the streak last grew: a task created after it that turns healthy ends the streak. */
  readonly lastFailureAtMs?: number;
  /** Whether the last pass found the service at its steady state (the event is written on the change). */
  readonly steady?: boolean;
  /** CreateService's clientToken, so a retry of the same call answers the same service. */
  readonly clientToken?: string;
  /**
   * The sha256 (hex) of CreateService's request less its clientToken: a retry with the token answers
   * the service only when it asks for the same one. Absent on services created before it was kept.
   */
  readonly requestDigest?: string;
  /** Task scale-in protection: task ARN → protected until (ms). */
  readonly protectedTasks?: Readonly<Record<string, number>>;
  /**
   * The service's tasks in its target groups (src/control/service-targets.ts): what each task is
   * registered as, and the tasks being deregistered before their stop (until when, and why).
   */
  readonly loadBalancerTargets?: {
    readonly registered: Readonly<Record<string, readonly { readonly targetGroupArn: string; readonly ip: string; readonly port: number }[]>>;
    readonly draining: Readonly<Record<string, { readonly untilMs: number; readonly reason: string; readonly unhealthy: boolean }>>;
    readonly unhealthy?: Readonly<Record<string, true>>;
  };
}

export interface ServiceRecord {
  readonly serviceArn: string;
  readonly clusterArn: string;
  readonly serviceName: string;
  readonly status: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly version: number;
  readonly service: Service;
  readonly state: ServiceSchedulingState;
}

export interface ServicesTables {
  services: ServicesTable;
}

/** What a service's purge deletes besides its row: its deployment history and its tags. */
type ServicesRepositoryTables = ServicesTables & ServiceDeploymentsTables & { tags: TagsTable };

export interface ServicesRepository {
  /** Stores a new service; false when one of that ARN exists and is not INACTIVE (an INACTIVE one is replaced). */
  create(record: Omit<ServiceRecord, "version">): Promise<boolean>;
  get(serviceArn: string): Promise<ServiceRecord | undefined>;
  /**
   * Locks the service's row until the transaction ends (on PostgreSQL; SQLite runs one transaction
   * at a time anyway): two writers that each lock it before reading what the other writes
   * (the scheduler's stop and UpdateTaskProtection) cannot both act on a stale read. Changes nothing.
   */
  lock(serviceArn: string): Promise<void>;
  getMany(serviceArns: readonly string[]): Promise<ServiceRecord[]>;
  /**
   * The cluster's ACTIVE services by ARN order: API_DeleteService, a deleted (DRAINING) service "is
   * no longer visible in the console or in the ListServices API operation".
   */
  listArns(clusterArn: string, options: { afterArn?: string; limit: number; launchType?: string }): Promise<string[]>;
  /** The ARNs of every ACTIVE or DRAINING service: the scheduler's work (it reads each when its turn comes). */
  listScheduled(): Promise<string[]>;
  /** Counts of the cluster's ACTIVE services (DescribeClusters' activeServicesCount). */
  countActive(clusterArn: string): Promise<number>;
  /** Counts of the cluster's ACTIVE and DRAINING services: what its quota of services counts (an INACTIVE one is gone). */
  countScheduled(clusterArn: string): Promise<number>;
  /**
   * Deletes up to `limit` services INACTIVE since before `inactiveBefore` (ms), with their
   * deployment history and tags, in one transaction; the ARNs deleted.
   */
  purgeInactive(inactiveBefore: number, limit: number): Promise<string[]>;
  /** Applies when the service is still at `expectedVersion`. */
  update(
    serviceArn: string,
    expectedVersion: number,
    change: { status?: string; service: Service; state: ServiceSchedulingState; updatedAtMs: number },
  ): Promise<boolean>;
}

type ServiceRow = Selectable<ServicesTable>;

/** Dates at any depth (deployments' and events' createdAt) were stored as ISO strings. */
function reviveDates(key: string, value: unknown): unknown {
  return key.endsWith("At") && typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value) ? new Date(value) : value;
}

function recordOf(row: ServiceRow): ServiceRecord {
  return {
    serviceArn: row.service_arn,
    clusterArn: row.cluster_arn,
    serviceName: row.service_name,
    status: row.status,
    createdAtMs: Number(row.created_at),
    updatedAtMs: Number(row.updated_at),
    version: row.version,
    service: JSON.parse(row.document, reviveDates) as Service,
    state: JSON.parse(row.state) as ServiceSchedulingState,
  };
}

function rowOf(record: Omit<ServiceRecord, "version">): ServiceRow {
  return {
    service_arn: record.serviceArn,
    cluster_arn: record.clusterArn,
    service_name: record.serviceName,
    status: record.status,
    created_at: record.createdAtMs,
    updated_at: record.updatedAtMs,
    version: 1,
    document: JSON.stringify(record.service),
    state: JSON.stringify(record.state),
  };
}

export function createServicesRepository(db: Kysely<ServicesRepositoryTables>): ServicesRepository {
  return {
    create(record) {
      return inTransaction(db, async (tx) => {
        const existing = await tx.selectFrom("services").select(["status", "version"]).where("service_arn", "=", record.serviceArn).executeTakeFirst();
        if (existing && existing.status !== "INACTIVE") return false;
        if (existing) await tx.deleteFrom("services").where("service_arn", "=", record.serviceArn).execute();
        // The versions go on from the deleted service's: a writer that read it and stalled through its
        // deletion must not find its version again in the new service (its update would apply there).
        await tx
          .insertInto("services")
          .values({ ...rowOf(record), version: existing ? Number(existing.version) + 1 : 1 })
          .execute();
        return true;
      });
    },
    async get(serviceArn) {
      const row = await db.selectFrom("services").selectAll().where("service_arn", "=", serviceArn).executeTakeFirst();
      return row ? recordOf(row) : undefined;
    },
    async lock(serviceArn) {
      // An update that changes nothing takes the row lock on both dialects (no FOR UPDATE on SQLite).
      await db
        .updateTable("services")
        .set((eb) => ({ version: eb.ref("version") }))
        .where("service_arn", "=", serviceArn)
        .execute();
    },
    async getMany(serviceArns) {
      if (serviceArns.length === 0) return [];
      return (
        await db
          .selectFrom("services")
          .selectAll()
          .where("service_arn", "in", [...serviceArns])
          .execute()
      ).map(recordOf);
    },
    async listArns(clusterArn, options) {
      let query = db
        .selectFrom("services")
        .select(["service_arn", "document"])
        .where("cluster_arn", "=", clusterArn)
        .where("status", "=", "ACTIVE")
        .orderBy("service_arn");
      if (options.afterArn !== undefined) query = query.where("service_arn", ">", options.afterArn);
      if (options.launchType === undefined) return (await query.limit(options.limit).execute()).map((row) => row.service_arn);
      // The launch type lives in the document; a cluster holds few enough services to filter here.
      const rows = await query.execute();
      return rows
        .filter((row) => (JSON.parse(row.document) as Service).launchType === options.launchType)
        .slice(0, options.limit)
        .map((row) => row.service_arn);
    },
    async listScheduled() {
      const rows = await db.selectFrom("services").select("service_arn").where("status", "in", ["ACTIVE", "DRAINING"]).orderBy("service_arn").execute();
      return rows.map((row) => row.service_arn);
    },
    countActive: (clusterArn) => countOf(db, clusterArn, ["ACTIVE"]),
    countScheduled: (clusterArn) => countOf(db, clusterArn, ["ACTIVE", "DRAINING"]),
    purgeInactive: (inactiveBefore, limit) => purgeInactive(db, inactiveBefore, limit),
    async update(serviceArn, expectedVersion, change) {
      const result = await db
        .updateTable("services")
        .set({
          ...(change.status !== undefined ? { status: change.status } : {}),
          document: JSON.stringify(change.service),
          state: JSON.stringify(change.state),
          updated_at: change.updatedAtMs,
          version: expectedVersion + 1,
        })
        .where("service_arn", "=", serviceArn)
        .where("version", "=", expectedVersion)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

async function countOf(db: Kysely<ServicesRepositoryTables>, clusterArn: string, statuses: readonly string[]): Promise<number> {
  const row = await db
    .selectFrom("services")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("cluster_arn", "=", clusterArn)
    .where("status", "in", [...statuses])
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

function purgeInactive(db: Kysely<ServicesRepositoryTables>, inactiveBefore: number, limit: number): Promise<string[]> {
  return inTransaction(db, async (tx) => {
    const candidates = await tx
      .selectFrom("services")
      .select("service_arn")
      .where("status", "=", "INACTIVE")
      .where("updated_at", "<", inactiveBefore)
      .orderBy("updated_at")
      .limit(limit)
      .execute();
    if (candidates.length === 0) return [];
    // The conditions again, on the rows themselves: a service CreateService re-created under the
    // name meanwhile (it replaces the INACTIVE row) is not deleted, nor is its new history. A
    // CreateService that comes after waits on the deleted row's lock until this commits.
    const deleted = (
      await tx
        .deleteFrom("services")
        .where(
          "service_arn",
          "in",
          candidates.map((row) => row.service_arn),
        )
        .where("status", "=", "INACTIVE")
        .where("updated_at", "<", inactiveBefore)
        .returning("service_arn")
        .execute()
    ).map((row) => row.service_arn);
    if (deleted.length === 0) return [];
    await tx.deleteFrom("service_deployments").where("service_arn", "in", deleted).execute();
    await tx.deleteFrom("tags").where("resource_arn", "in", deleted).execute();
    return deleted;
  });
}
