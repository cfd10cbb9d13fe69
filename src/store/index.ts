// The Store: every durable part of the control plane behind one object (DESIGN.md rule 2).
// SQLite (WAL) is the embedded default, for one server; PostgreSQL is the store several replicas
// share. Repositories use portable Kysely SQL only; what differs between the two is here: how a
// store-wide lock is taken (Store.exclusively), how a lease is fenced (Store.fenced) and how
// signals reach the other replicas (StoreSignals).
import Database from "better-sqlite3";
import type { Migration, MigrationProvider } from "kysely";
import { Kysely, Migrator, PostgresDialect, sql, SqliteDialect } from "kysely";
import type { Logger } from "../core/logger.js";
import type { AccessKeysRepository, AccessKeysTable } from "./access-keys-repository.js";
import { createAccessKeysRepository } from "./access-keys-repository.js";
import type { AccountSettingsRepository, ClustersRepository, EcsTables, TagsRepository, TaskDefinitionsRepository } from "./ecs-repositories.js";
import { createAccountSettingsRepository, createClustersRepository, createTagsRepository, createTaskDefinitionsRepository } from "./ecs-repositories.js";
import { ecsMigration } from "./ecs-migration.js";
import type { EcrRepository, EcrTables } from "./ecr-repository.js";
import { createEcrRepository } from "./ecr-repository.js";
import { ecrMigration } from "./ecr-migration.js";
import { ecrTagExclusionsMigration } from "./ecr-tag-exclusions-migration.js";
import { ecrPoliciesMigration } from "./ecr-policies-migration.js";
import type { EcrPoliciesRepository, EcrPoliciesTables } from "./ecr-policies-repository.js";
import { createEcrPoliciesRepository } from "./ecr-policies-repository.js";
import type { HostsRepository, HostsTables } from "./hosts-repository.js";
import { createHostsRepository } from "./hosts-repository.js";
import { hostsMigration } from "./hosts-migration.js";
import type { LogsRepository, LogsTables } from "./logs-repository.js";
import { createLogsRepository } from "./logs-repository.js";
import type { SqlDialectName } from "./logs-migration.js";
import { logsMigration } from "./logs-migration.js";
import { logStreamOffsetsMigration } from "./log-stream-offsets-migration.js";
import type { LogsInsightsRepository, LogsInsightsTables } from "./logs-insights-repository.js";
import { createLogsInsightsRepository } from "./logs-insights-repository.js";
import { logsInsightsMigration } from "./logs-insights-migration.js";
import { logsMetricFiltersMigration } from "./logs-metric-filters-migration.js";
import type { LogMetricFiltersRepository, LogMetricFiltersTables } from "./logs-metric-filters-repository.js";
import { createLogMetricFiltersRepository } from "./logs-metric-filters-repository.js";
import { elbMetricsMigration } from "./elb-metrics-migration.js";
import type { ElbMetricsRepository, ElbMetricsTables } from "./elb-metrics-repository.js";
import { createElbMetricsRepository } from "./elb-metrics-repository.js";
import type { LogResourcePoliciesRepository, LogResourcePoliciesTable } from "./logs-resource-policies-repository.js";
import { createLogResourcePoliciesRepository } from "./logs-resource-policies-repository.js";
import type { TasksRepository, TasksTables } from "./tasks-repository.js";
import { createTasksRepository } from "./tasks-repository.js";
import { tasksMigration } from "./tasks-migration.js";
import { runTaskRequestsMigration } from "./run-task-requests-migration.js";
import type { JoinTokensRepository, JoinTokensTables } from "./join-tokens-repository.js";
import { createJoinTokensRepository } from "./join-tokens-repository.js";
import { joinTokenRevocationMigration, joinTokensMigration } from "./join-tokens-migration.js";
import { sqliteTaskDefinitionReads } from "./sqlite-task-definition-reads.js";
import { sqliteLogEventScan } from "./sqlite-log-event-scan.js";
import { postgresTaskDefinitionReads } from "./postgres-task-definition-reads.js";
import type { HeldLease, LeasesRepository, LeasesTable } from "./leases-repository.js";
import { assertLeaseHeld, createLeasesRepository } from "./leases-repository.js";
import { leasesMigration } from "./leases-migration.js";
import type { ControlPlaneStateRepository, ControlPlaneStateTable } from "./control-plane-state-repository.js";
import { createControlPlaneStateRepository } from "./control-plane-state-repository.js";
import { controlPlaneStateMigration } from "./control-plane-state-migration.js";
import { hostAddressesMigration } from "./host-addresses-migration.js";
import type { HostNetworkReads } from "./host-network-reads.js";
import { createHostNetworkReads } from "./host-network-reads.js";
import { ec2NetworkMigration } from "./ec2-network-migration.js";
import type { Ec2TagsTable, SubnetsTable, VpcsRepository, VpcsTables } from "./vpcs-repository.js";
import { createVpcsRepository } from "./vpcs-repository.js";
import type { Ec2TagsRepository } from "./ec2-tags-repository.js";
import { createEc2TagsRepository } from "./ec2-tags-repository.js";
import type { SecurityGroupsRepository, SecurityGroupsRepositoryTables, SecurityGroupsTables } from "./security-groups-repository.js";
import { createSecurityGroupsRepository } from "./security-groups-repository.js";
import type { NetworkInterfacesRepository, NetworkInterfacesTables } from "./network-interfaces-repository.js";
import { createNetworkInterfacesRepository } from "./network-interfaces-repository.js";
import type { SignalChannel, StoreSignals } from "./store-signals.js";
import { LocalSignals } from "./store-signals.js";
import { PostgresSignals } from "./postgres-signals.js";
import { isPostgresUrl, postgresClientConfig, postgresPool } from "./postgres-connection.js";
import { inTransaction } from "./transaction.js";
import type { ServicesRepository, ServicesTables } from "./services-repository.js";
import { createServicesRepository } from "./services-repository.js";
import { servicesMigration } from "./services-migration.js";
import type { ServiceDeploymentsRepository, ServiceDeploymentsTables } from "./service-deployments-repository.js";
import { createServiceDeploymentsRepository } from "./service-deployments-repository.js";
import { serviceDeploymentsMigration } from "./service-deployments-migration.js";
import type { SecretsRepository, SecretsTables } from "./secrets-repository.js";
import { createSecretsRepository } from "./secrets-repository.js";
import { secretsMigration } from "./secrets-migration.js";
import type { ParametersRepository, ParametersTables } from "./parameters-repository.js";
import { createParametersRepository } from "./parameters-repository.js";
import { parametersMigration } from "./parameters-migration.js";
import type { RoleSessionsRepository, RoleSessionsTable } from "./role-sessions-repository.js";
import { createRoleSessionsRepository } from "./role-sessions-repository.js";
import { roleSessionsMigration } from "./role-sessions-migration.js";
import type { IamRepository, IamTables } from "./iam-repository.js";
import { createIamRepository } from "./iam-repository.js";
import { iamMigration } from "./iam-migration.js";
import type { CertificatesRepository, CertificatesTables } from "./certificates-repository.js";
import { createCertificatesRepository } from "./certificates-repository.js";
import { certificatesMigration } from "./certificates-migration.js";
import type { Elbv2Repository, Elbv2Tables } from "./elbv2-repository.js";
import { createElbv2Repository } from "./elbv2-repository.js";
import { elbv2Migration } from "./elbv2-migration.js";
import { logEventsIngestionMigration } from "./log-events-ingestion-migration.js";

export type { StoredAccessKey, AccessKeysRepository } from "./access-keys-repository.js";
export type { ClustersRepository, StoredTaskDefinition, TaskDefinitionsRepository, TagsRepository, AccountSettingsRepository } from "./ecs-repositories.js";
export type { LogsRepository } from "./logs-repository.js";
export type {
  InsightsQueryRecord,
  InsightsQueryStatistics,
  InsightsQueryStatus,
  InsightsResultField,
  LogsInsightsRepository,
  QueryDefinitionRecord,
} from "./logs-insights-repository.js";
export type { LogMetricFiltersRepository, MetricAggregate, MetricFilterRecord, StoredMetricTransformation } from "./logs-metric-filters-repository.js";
export type { ElbMetricAggregate, ElbMetricsRepository } from "./elb-metrics-repository.js";
export type { LogResourcePoliciesRepository, LogResourcePolicyRecord } from "./logs-resource-policies-repository.js";
export type {
  PlacedReservation,
  RememberedRun,
  StoredTask,
  TaskChange,
  TaskListFilter,
  TaskRecord,
  TaskReservation,
  TasksRepository,
  TaskUpdate,
} from "./tasks-repository.js";
export type { HostArchitecture, HostCapacity, HostRecord, HostRegistration, HostsRepository, HostStatus } from "./hosts-repository.js";
export type { HostInterfaceRow, HostNetworkReads, HostNetworkRows, VpcRow } from "./host-network-reads.js";
export { LOST_RACE, withOptimisticRetry } from "./optimistic-retry.js";
export type { DeleteOutcome, NewSubnet, NewVpc, SubnetRecord, VpcRecord, VpcsRepository } from "./vpcs-repository.js";
export type { Ec2Tag, Ec2TagsRepository } from "./ec2-tags-repository.js";
export type { InterfaceRequest, NetworkInterfaceRecord, NetworkInterfacesRepository } from "./network-interfaces-repository.js";
export type { GroupMembers, SecurityGroupRecord, SecurityGroupRuleRecord, SecurityGroupsRepository } from "./security-groups-repository.js";
export type { HeldLease, LeasesRepository } from "./leases-repository.js";
export type { DeploymentSnapshot, ServiceRecord, ServiceSchedulingState, ServicesRepository } from "./services-repository.js";
export type { ServiceDeploymentListOptions, ServiceDeploymentRecord, ServiceDeploymentsRepository } from "./service-deployments-repository.js";
export { LeaseLostError } from "./leases-repository.js";
export type { RoleSessionsRepository, StoredRoleSession } from "./role-sessions-repository.js";
export type {
  AccessKeyStatus,
  IamEntityKind,
  IamRepository,
  InlinePolicy,
  ManagedPolicyChange,
  NewUserAccessKey,
  RoleChange,
  StoredManagedPolicy,
  StoredPolicyVersion,
  StoredRole,
  StoredUser,
  StoredUserAccessKey,
  UserChange,
} from "./iam-repository.js";
export type {
  Elbv2Attributes,
  Elbv2Repository,
  NewTarget,
  StoredListener,
  StoredLoadBalancer,
  StoredRule,
  StoredTarget,
  StoredTargetGroup,
} from "./elbv2-repository.js";
export type { CertificateMaterial, CertificateRecord, CertificatesRepository, CertificateTag } from "./certificates-repository.js";
export type { LockedParameter, ParameterRecord, ParametersRepository, ParameterTag, ParameterVersionRecord } from "./parameters-repository.js";
export type { EcrPoliciesRepository, PolicyRepository } from "./ecr-policies-repository.js";
export type { LockedSecret, NewSecretVersion, SecretChange, SecretRecord, SecretsRepository, SecretTag, SecretVersionRecord } from "./secrets-repository.js";
export type { ControlPlaneStateRepository, ControlPlaneValueName } from "./control-plane-state-repository.js";
export type { SignalChannel, SignalHandler, StoreSignals } from "./store-signals.js";
export { isPostgresUrl } from "./postgres-connection.js";
export type { JoinTokensRepository, JoinTokenStatus, NewJoinToken, StoredJoinToken } from "./join-tokens-repository.js";
export type {
  EcrRepository,
  EcrRepositoryRecord,
  EcrImageSummary,
  EcrImageWithManifest,
  ImageAnnotations,
  NewEcrImage,
  NewEcrRepository,
  PutImageOutcome,
} from "./ecr-repository.js";

type AllTables = EcsTables &
  LogsTables &
  LogsInsightsTables &
  LogMetricFiltersTables & { log_resource_policies: LogResourcePoliciesTable } & TasksTables &
  HostsTables &
  EcrTables &
  EcrPoliciesTables &
  JoinTokensTables & { access_keys: AccessKeysTable } & { leases: LeasesTable } & { control_plane_state: ControlPlaneStateTable } & VpcsTables &
  SecurityGroupsTables &
  NetworkInterfacesTables &
  ServicesTables &
  ServiceDeploymentsTables &
  SecretsTables &
  ParametersTables & { role_sessions: RoleSessionsTable } & Omit<IamTables, "access_keys"> &
  CertificatesTables &
  Elbv2Tables &
  ElbMetricsTables;

/** The repositories: what a transaction of Store.exclusively or Store.fenced is handed too. */
export interface Repositories {
  readonly accessKeys: AccessKeysRepository;
  readonly clusters: ClustersRepository;
  readonly taskDefinitions: TaskDefinitionsRepository;
  readonly tags: TagsRepository;
  readonly accountSettings: AccountSettingsRepository;
  readonly logs: LogsRepository;
  /** Logs Insights queries (status, figures, results) and query definitions. */
  readonly logsInsights: LogsInsightsRepository;
  readonly logMetricFilters: LogMetricFiltersRepository;
  readonly logResourcePolicies: LogResourcePoliciesRepository;
  readonly tasks: TasksRepository;
  readonly hosts: HostsRepository;
  readonly joinTokens: JoinTokensRepository;
  readonly ecr: EcrRepository;
  /** ECR's repository and registry policies. */
  readonly ecrPolicies: EcrPoliciesRepository;
  readonly leases: LeasesRepository;
  readonly controlPlaneState: ControlPlaneStateRepository;
  readonly vpcs: VpcsRepository;
  readonly ec2Tags: Ec2TagsRepository;
  readonly networkInterfaces: NetworkInterfacesRepository;
  readonly securityGroups: SecurityGroupsRepository;
  readonly hostNetwork: HostNetworkReads;
  readonly services: ServicesRepository;
  readonly serviceDeployments: ServiceDeploymentsRepository;
  readonly secrets: SecretsRepository;
  readonly parameters: ParametersRepository;
  readonly roleSessions: RoleSessionsRepository;
  readonly iam: IamRepository;
  readonly certificates: CertificatesRepository;
  readonly elbv2: Elbv2Repository;
  /** Load balancer metrics per minute (what hosts' nodes measured). */
  readonly elbMetrics: ElbMetricsRepository;
}

/** The repositories of one transaction, and the signals that go out when (and only if) it commits. */
export interface TransactionRepositories extends Repositories {
  /**
   * Signals `key` on `channel` once the transaction commits: on PostgreSQL a NOTIFY inside it
   * (delivered by the server at commit, with no commit of its own to wait for), and to this
   * replica's subscribers right after the commit.
   */
  publishOnCommit(channel: SignalChannel, key: string): void;
}

/**
 * A lease Store.exclusively also checks, after its locks (as Store.fenced does): a control loop's
 * writes that need a store-wide lock too (the service scheduler's placements).
 */
export interface LeaseFence {
  readonly lease: HeldLease;
  /** The time the lease is judged at, read once the locks are held (a long wait for them must not judge it at an earlier time). */
  readonly now: () => number;
}

/** A store-wide lock (Store.exclusively); each has its own PostgreSQL advisory lock key. */
export type StoreLock = "placement" | "network";

/** "network": EC2 network writes that check then write (VNI and address allocation, CIDR overlaps). */
/** The order several locks of one transaction are taken in. */
const STORE_LOCK_ORDER: readonly StoreLock[] = ["placement", "network"];

const ADVISORY_LOCK_KEYS: Record<StoreLock, number> = { placement: 0x6265_7274_01, network: 0x6265_7274_02 };

/** The longest Store.exclusively waits for its lock on PostgreSQL before giving up (by default). */
const LOCK_WAIT_MS = 30_000;

/** Store.exclusively could not take its lock in time: another holder is slow or stuck; try again later. */
export class StoreLockTimeout extends Error {
  constructor(readonly lock: StoreLock) {
    super(`timed out waiting for the store's ${lock} lock`);
    this.name = "StoreLockTimeout";
  }
}

export interface Store extends Repositories {
  readonly backend: "sqlite" | "postgres";
  /** Signals between the replicas sharing this store (in-process only on SQLite). */
  readonly signals: StoreSignals;
  /**
   * Runs `work` in one transaction that holds `lock` across every replica: on PostgreSQL a
   * transaction-scoped advisory lock, on SQLite the store's single connection (no other statement
   * runs until the transaction ends). `work` must use only the repositories it is handed.
   */
  exclusively<T>(lock: StoreLock | readonly StoreLock[], work: (tx: TransactionRepositories) => Promise<T>, fence?: LeaseFence): Promise<T>;
  /**
   * Runs `work` in one transaction, after checking that `lease` is still held at its fencing
   * token; throws LeaseLostError (and writes nothing) when it is not. On PostgreSQL the lease row
   * stays locked until the transaction ends, so the lease cannot change hands meanwhile.
   */
  fenced<T>(lease: HeldLease, now: () => number, work: (tx: TransactionRepositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Every migration in order; later issues append theirs (names sort in application order). */
function migrations(dialect: SqlDialectName): Record<string, Migration> {
  return {
    "0001-ecs": ecsMigration,
    "0002-logs": logsMigration(dialect),
    "0003-tasks": tasksMigration,
    "0004-hosts": hostsMigration,
    "0005-ecr": ecrMigration(dialect),
    "0006-run-task-requests": runTaskRequestsMigration,
    "0007-join-tokens": joinTokensMigration,
    "0008-log-stream-offsets": logStreamOffsetsMigration,
    "0009-join-token-revocation": joinTokenRevocationMigration,
    "0010-leases": leasesMigration,
    "0011-control-plane-state": controlPlaneStateMigration,
    "0013-host-addresses": hostAddressesMigration,
    "0012-ec2-network": ec2NetworkMigration,
    "0014-services": servicesMigration,
    "0015-service-deployments": serviceDeploymentsMigration,
    "0016-secrets": secretsMigration,
    "0017-parameters": parametersMigration,
    "0018-iam": iamMigration,
    "0019-role-sessions": roleSessionsMigration,
    "0021-acm-certificates": certificatesMigration,
    "0020-elbv2": elbv2Migration,
    "0022-logs-metric-filters": logsMetricFiltersMigration(dialect),
    "0023-logs-insights": logsInsightsMigration,
    "0023-ecr-tag-exclusions": ecrTagExclusionsMigration,
    "0024-ecr-policies": ecrPoliciesMigration,
    "0025-elb-metrics": elbMetricsMigration,
    "0026-log-events-ingestion": logEventsIngestionMigration,
  };
}

/** Migrates `db` to the latest schema (on PostgreSQL under Kysely's advisory lock: one replica migrates, the others wait). */
async function migrate(db: Kysely<AllTables>, dialect: SqlDialectName): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const { error } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) throw error;
}

/**
 * For a tool that shares a store with running servers (`berth join-token --store`): the schema
 * must be exactly this version's, and nothing is migrated (a newer CLI must not change the schema
 * under older replicas, nor an older one work on a newer schema).
 */
async function assertSchemaCurrent(db: Kysely<AllTables>, dialect: SqlDialectName): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const known = await new Migrator({ db, provider }).getMigrations();
  const pending = known.filter((migration) => migration.executedAt === undefined);
  if (pending.length > 0) {
    throw new Error(
      `the store's schema is older than this berth's (${pending.length} migration(s) not applied): start a berth server of this version on it first`,
    );
  }
  const applied = await sql<{ count: number }>`SELECT count(*) AS count FROM kysely_migration`.execute(db);
  if (Number(applied.rows[0]?.count ?? 0) > known.length) throw new Error("the store's schema is newer than this berth's: use the berth of the servers");
}

/** The repositories over `db`, which may be a transaction. */
function repositoriesOver(db: Kysely<AllTables>): Repositories {
  // Each repository sees only its own tables; Kysely's types are invariant in the table map.
  const scoped = <T>() => db as unknown as Kysely<T>;
  return {
    accessKeys: createAccessKeysRepository(scoped<{ access_keys: AccessKeysTable }>()),
    clusters: createClustersRepository(scoped<EcsTables>()),
    taskDefinitions: createTaskDefinitionsRepository(scoped<EcsTables>()),
    tags: createTagsRepository(scoped<EcsTables>()),
    accountSettings: createAccountSettingsRepository(scoped<EcsTables>()),
    logs: createLogsRepository(scoped<LogsTables>()),
    logsInsights: createLogsInsightsRepository(scoped<LogsInsightsTables & LogsTables>()),
    logMetricFilters: createLogMetricFiltersRepository(scoped<LogMetricFiltersTables & Pick<LogsTables, "log_groups">>()),
    logResourcePolicies: createLogResourcePoliciesRepository(scoped<{ log_resource_policies: LogResourcePoliciesTable }>()),
    tasks: createTasksRepository(scoped<TasksTables>()),
    hosts: createHostsRepository(scoped<HostsTables>()),
    joinTokens: createJoinTokensRepository(scoped<JoinTokensTables>()),
    ecr: createEcrRepository(scoped<EcrTables>()),
    ecrPolicies: createEcrPoliciesRepository(scoped<EcrPoliciesTables>()),
    leases: createLeasesRepository(scoped<{ leases: LeasesTable }>()),
    controlPlaneState: createControlPlaneStateRepository(scoped<{ control_plane_state: ControlPlaneStateTable }>()),
    vpcs: createVpcsRepository(scoped<VpcsTables & SecurityGroupsTables & NetworkInterfacesTables>()),
    ec2Tags: createEc2TagsRepository(scoped<{ ec2_tags: Ec2TagsTable }>()),
    networkInterfaces: createNetworkInterfacesRepository(scoped<NetworkInterfacesTables & { ec2_tags: Ec2TagsTable } & { subnets: SubnetsTable }>()),
    securityGroups: createSecurityGroupsRepository(scoped<SecurityGroupsRepositoryTables>()),
    hostNetwork: createHostNetworkReads(scoped<HostsTables & SecurityGroupsRepositoryTables & VpcsTables>()),
    services: createServicesRepository(scoped<ServicesTables & ServiceDeploymentsTables & Pick<EcsTables, "tags">>()),
    serviceDeployments: createServiceDeploymentsRepository(scoped<ServiceDeploymentsTables>()),
    secrets: createSecretsRepository(scoped<SecretsTables>()),
    parameters: createParametersRepository(scoped<ParametersTables>()),
    roleSessions: createRoleSessionsRepository(scoped<{ role_sessions: RoleSessionsTable }>()),
    iam: createIamRepository(scoped<IamTables>()),
    certificates: createCertificatesRepository(scoped<CertificatesTables>()),
    elbv2: createElbv2Repository(scoped<Elbv2Tables>()),
    elbMetrics: createElbMetricsRepository(scoped<ElbMetricsTables>()),
  };
}

interface Backend {
  readonly name: Store["backend"];
  readonly db: Kysely<AllTables>;
  readonly signals: StoreSignals & {
    /** Sends the signal to the other replicas as part of the transaction `tx` (nothing on SQLite). */
    notifyWithin(tx: Kysely<AllTables>, channel: SignalChannel, key: string): Promise<void>;
    /** Delivers the signal to this replica's subscribers only. */
    deliver(channel: SignalChannel, key: string): void;
  };
  /** Takes `lock` inside the transaction `tx` (nothing on SQLite: the transaction is the lock). */
  readonly lockIn: (tx: Kysely<AllTables>, lock: StoreLock) => Promise<void>;
  /** Replaces repository methods with faster backend-specific ones (outside transactions). */
  readonly tune?: (repositories: Repositories) => Repositories;
}

function assemble(backend: Backend): Store {
  const { db } = backend;
  const repositories = repositoriesOver(db);
  const rowLocks = backend.name === "postgres";
  return {
    ...(backend.tune ? backend.tune(repositories) : repositories),
    backend: backend.name,
    signals: backend.signals,
    exclusively: (lock, work, fence) =>
      transactionWithSignals(
        backend,
        async (tx) => {
          // Always in the order of STORE_LOCK_ORDER, so two holders of overlapping sets never deadlock.
          const wanted = typeof lock === "string" ? [lock] : lock;
          for (const one of STORE_LOCK_ORDER) if (wanted.includes(one)) await backend.lockIn(tx, one);
          if (fence) await assertLeaseHeld(tx as unknown as Kysely<{ leases: LeasesTable }>, fence.lease, fence.now(), rowLocks);
        },
        work,
      ),
    fenced: (lease, now, work) =>
      transactionWithSignals(
        backend,
        async (tx) => {
          await assertLeaseHeld(tx as unknown as Kysely<{ leases: LeasesTable }>, lease, now(), rowLocks);
        },
        work,
      ),
    close: async () => {
      await backend.signals.close();
      await db.destroy();
    },
  };
}

/** One transaction: `first` (a lock, a lease check), then `work`; its signals go out with the commit. */
async function transactionWithSignals<T>(
  backend: Backend,
  first: (tx: Kysely<AllTables>) => Promise<void>,
  work: (tx: TransactionRepositories) => Promise<T>,
): Promise<T> {
  const signals: [SignalChannel, string][] = [];
  const result = await inTransaction(backend.db, async (tx) => {
    await first(tx);
    const value = await work({ ...repositoriesOver(tx), publishOnCommit: (channel, key) => void signals.push([channel, key]) });
    for (const [channel, key] of signals) await backend.signals.notifyWithin(tx, channel, key);
    return value;
  });
  for (const [channel, key] of signals) backend.signals.deliver(channel, key);
  return result;
}

/**
 * Where the store lives: a SQLite file; a PostgreSQL database (`postgres://…`) that several
 * replicas may share; or (tests) a private in-memory SQLite database that goes through the same
 * migrations and repositories as the server's and vanishes on close.
 */
export type StoreLocation = { readonly path: string } | { readonly inMemory: true } | PostgresLocation;

/** A PostgreSQL store: its URL, the pool's size, where warnings go, how long a store-wide lock is waited for. */
export interface PostgresLocation {
  readonly url: string;
  /** "check": migrate nothing, refuse a schema of another version (tools beside running servers). */
  readonly schema?: "migrate" | "check";
  readonly maxConnections?: number;
  readonly logger?: Pick<Logger, "warn">;
  readonly lockWaitMs?: number;
}

export async function openStore(location: StoreLocation): Promise<Store> {
  return "url" in location ? openPostgresStore(location) : openSqliteStore("path" in location ? location.path : ":memory:");
}

async function openPostgresStore(location: PostgresLocation): Promise<Store> {
  if (!isPostgresUrl(location.url)) throw new Error("a PostgreSQL store is named by a postgres:// or postgresql:// URL");
  const pool = postgresPool(location.url, location.maxConnections ?? 16);
  const db = new Kysely<AllTables>({ dialect: new PostgresDialect({ pool }) });
  try {
    await (location.schema === "check" ? assertSchemaCurrent(db, "postgres") : migrate(db, "postgres"));
    const signals = await PostgresSignals.start(pool, postgresClientConfig(location.url), location.logger ?? { warn: () => undefined });
    return assemble({
      name: "postgres",
      db,
      signals,
      lockIn: async (tx, lock) => {
        // One round trip: the wait is bounded (lock_timeout, for this transaction only), so a
        // holder that hangs makes the others fail with StoreLockTimeout instead of queueing forever.
        try {
          await sql`WITH bounded AS (SELECT set_config('lock_timeout', ${String(location.lockWaitMs ?? LOCK_WAIT_MS)}, true)) SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEYS[lock]}) FROM bounded`.execute(
            tx,
          );
        } catch (error) {
          if ((error as { code?: string }).code === "55P03") throw new StoreLockTimeout(lock);
          throw error;
        }
      },
      tune: (repositories) => ({ ...repositories, taskDefinitions: { ...repositories.taskDefinitions, ...postgresTaskDefinitionReads(pool) } }),
    });
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

async function openSqliteStore(path: string): Promise<Store> {
  const database = new Database(path);
  // WAL keeps readers off the writer's back. synchronous=FULL fsyncs every commit: an
  // acknowledged write survives a crash of the process and of the machine.
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = FULL");
  database.pragma("foreign_keys = ON");
  database.pragma("busy_timeout = 5000");
  // Kysely prepares every query anew; better-sqlite3 statements are reusable, so the same SQL text
  // reuses one prepared statement (the statement cache a server-side driver would keep).
  const statements = new Map<string, Database.Statement>();
  const cached = {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        if (statements.size > 500) statements.clear();
        statements.set(sql, statement);
      }
      return statement;
    },
  };
  const db = new Kysely<AllTables>({ dialect: new SqliteDialect({ database: cached }) });
  await migrate(db, "sqlite");
  return assemble({
    name: "sqlite",
    db,
    signals: Object.assign(new LocalSignals(), { notifyWithin: async () => undefined }),
    lockIn: async () => undefined,
    // The hot task-definition reads bypass Kysely (see sqlite-task-definition-reads.ts); writes and
    // every other read stay portable.
    tune: (repositories) => ({
      ...repositories,
      taskDefinitions: { ...repositories.taskDefinitions, ...sqliteTaskDefinitionReads(database) },
      logs: { ...repositories.logs, ...sqliteLogEventScan(database, repositories.logs) },
    }),
  });
}
