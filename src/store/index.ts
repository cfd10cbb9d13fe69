// The Store: every durable part of the control plane behind one object (DESIGN.md rule 2).
// SQLite (WAL) is the embedded default; repositories use portable Kysely SQL only, so a PostgreSQL
// dialect is one more constructor here and nothing changes in the services.
import Database from "better-sqlite3";
import type { Migration, MigrationProvider } from "kysely";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import type { AccessKeysRepository, AccessKeysTable } from "./access-keys-repository.js";
import { createAccessKeysRepository } from "./access-keys-repository.js";
import type { AccountSettingsRepository, ClustersRepository, EcsTables, TagsRepository, TaskDefinitionsRepository } from "./ecs-repositories.js";
import { createAccountSettingsRepository, createClustersRepository, createTagsRepository, createTaskDefinitionsRepository } from "./ecs-repositories.js";
import { ecsMigration } from "./ecs-migration.js";
import type { EcrRepository, EcrTables } from "./ecr-repository.js";
import { createEcrRepository } from "./ecr-repository.js";
import { ecrMigration } from "./ecr-migration.js";
import type { HostsRepository, HostsTables } from "./hosts-repository.js";
import { createHostsRepository } from "./hosts-repository.js";
import { hostsMigration } from "./hosts-migration.js";
import type { LogsRepository, LogsTables } from "./logs-repository.js";
import { createLogsRepository } from "./logs-repository.js";
import type { SqlDialectName } from "./logs-migration.js";
import { logsMigration } from "./logs-migration.js";
import { logStreamOffsetsMigration } from "./log-stream-offsets-migration.js";
import type { TasksRepository, TasksTables } from "./tasks-repository.js";
import { createTasksRepository } from "./tasks-repository.js";
import { tasksMigration } from "./tasks-migration.js";
import { runTaskRequestsMigration } from "./run-task-requests-migration.js";
import type { JoinTokensRepository, JoinTokensTables } from "./join-tokens-repository.js";
import { createJoinTokensRepository } from "./join-tokens-repository.js";
import { joinTokenRevocationMigration, joinTokensMigration } from "./join-tokens-migration.js";
import { sqliteTaskDefinitionReads } from "./sqlite-task-definition-reads.js";

export type { StoredAccessKey, AccessKeysRepository } from "./access-keys-repository.js";
export type { ClustersRepository, StoredTaskDefinition, TaskDefinitionsRepository, TagsRepository, AccountSettingsRepository } from "./ecs-repositories.js";
export type { LogsRepository } from "./logs-repository.js";
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
export { LOST_RACE, withOptimisticRetry } from "./optimistic-retry.js";
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

type AllTables = EcsTables & LogsTables & TasksTables & HostsTables & EcrTables & JoinTokensTables & { access_keys: AccessKeysTable };

export interface Store {
  readonly accessKeys: AccessKeysRepository;
  readonly clusters: ClustersRepository;
  readonly taskDefinitions: TaskDefinitionsRepository;
  readonly tags: TagsRepository;
  readonly accountSettings: AccountSettingsRepository;
  readonly logs: LogsRepository;
  readonly tasks: TasksRepository;
  readonly hosts: HostsRepository;
  readonly joinTokens: JoinTokensRepository;
  readonly ecr: EcrRepository;
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
  };
}

/** Migrates `db` to the latest schema and hands out the repositories over it. */
async function assembleStore(db: Kysely<AllTables>, dialect: SqlDialectName): Promise<Store> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const { error } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) throw error;
  // Each repository sees only its own tables; Kysely's types are invariant in the table map.
  const scoped = <T>() => db as unknown as Kysely<T>;
  return {
    accessKeys: createAccessKeysRepository(scoped<{ access_keys: AccessKeysTable }>()),
    clusters: createClustersRepository(scoped<EcsTables>()),
    taskDefinitions: createTaskDefinitionsRepository(scoped<EcsTables>()),
    tags: createTagsRepository(scoped<EcsTables>()),
    accountSettings: createAccountSettingsRepository(scoped<EcsTables>()),
    logs: createLogsRepository(scoped<LogsTables>()),
    tasks: createTasksRepository(scoped<TasksTables>()),
    hosts: createHostsRepository(scoped<HostsTables>()),
    joinTokens: createJoinTokensRepository(scoped<JoinTokensTables>()),
    ecr: createEcrRepository(scoped<EcrTables>()),
    close: () => db.destroy(),
  };
}

/**
 * Where the store lives: a SQLite file, or (tests) a private in-memory SQLite database that goes
 * through the same migrations and repositories as the server's and vanishes on close.
 */
export type StoreLocation = { readonly path: string } | { readonly inMemory: true };

export async function openStore(location: StoreLocation): Promise<Store> {
  const database = new Database("path" in location ? location.path : ":memory:");
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
  const store = await assembleStore(new Kysely<AllTables>({ dialect: new SqliteDialect({ database: cached }) }), "sqlite");
  // The hot task-definition reads bypass Kysely (see sqlite-task-definition-reads.ts); writes and
  // every other read stay portable.
  return { ...store, taskDefinitions: { ...store.taskDefinitions, ...sqliteTaskDefinitionReads(database) } };
}
