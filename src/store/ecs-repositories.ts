// ECS clusters, task definitions, tags and account settings. Each record is kept as the SDK
// document the API returns (a JSON column) beside the indexed columns the API filters and pages
// on. Portable Kysely SQL only.
import { inTransaction } from "./transaction.js";
import type { Cluster, TaskDefinition } from "@aws-sdk/client-ecs";
import type { Kysely } from "kysely";

export interface ClustersTable {
  cluster_name: string;
  cluster_arn: string;
  status: string;
  created_at: number;
  document: string;
}

export interface TaskDefinitionsTable {
  family: string;
  revision: number;
  task_definition_arn: string;
  status: string;
  registered_at: number;
  document: string;
}

export interface TaskDefinitionFamiliesTable {
  family: string;
  /** The last revision ever assigned: revisions are never reused, even after deletion. */
  last_revision: number;
}

export interface TagsTable {
  resource_arn: string;
  tag_key: string;
  tag_value: string;
}

export interface AccountSettingsTable {
  /** The principal ARN, or "*" for the account default. */
  principal_arn: string;
  name: string;
  value: string;
}

export interface EcsTables {
  clusters: ClustersTable;
  task_definitions: TaskDefinitionsTable;
  task_definition_families: TaskDefinitionFamiliesTable;
  tags: TagsTable;
  account_settings: AccountSettingsTable;
}

/**
 * Parses a stored SDK document. Its timestamps (registeredAt, createdAt, …) sit at the top level
 * and were stored as ISO strings; they come back as Dates. Reviving only the top level keeps this
 * off the per-key reviver path, which costs more than the parse itself on hot reads.
 */
export function parseDocument<T>(text: string): T {
  const document = JSON.parse(text) as Record<string, unknown>;
  for (const key in document) {
    const value = document[key];
    if (key.endsWith("At") && typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) document[key] = new Date(value);
  }
  return document as T;
}

export interface ClustersRepository {
  get(name: string): Promise<Cluster | undefined>;
  /**
   * Locks the cluster's row until the transaction ends (on PostgreSQL; SQLite runs one transaction
   * at a time anyway), changing nothing: CreateService's count of the cluster's services and its
   * insert, and DeleteCluster's check that none is left, do not interleave.
   */
  lock(name: string): Promise<void>;
  put(cluster: Cluster & { clusterName: string; clusterArn: string; status: string }, createdAt: number): Promise<void>;
  list(options: { afterName?: string; limit: number; status?: string }): Promise<Cluster[]>;
}

/**
 * A task definition read for a caller that may not need its document: the ARN and status at once,
 * the definition parsed only when `definition()` is called (DescribeTaskDefinition keeps its
 * answer per ARN and status and skips the parse on every read but the first).
 */
export interface StoredTaskDefinition {
  readonly arn: string;
  readonly status: string;
  definition(): TaskDefinition;
}

/** A stored definition over its document's JSON text (a class: no closure allocated per read). */
class LazilyParsedTaskDefinition implements StoredTaskDefinition {
  constructor(
    readonly arn: string,
    readonly status: string,
    private readonly documentText: string,
  ) {}

  definition(): TaskDefinition {
    return parseDocument<TaskDefinition>(this.documentText);
  }
}

/** For the store's read paths (the portable one here and the SQLite one) alike. */
export function storedTaskDefinition(arn: string, status: string, documentText: string): StoredTaskDefinition {
  return new LazilyParsedTaskDefinition(arn, status, documentText);
}

export interface TaskDefinitionsRepository {
  /** Assigns the family's next revision (never reused) and stores the definition, atomically. */
  register(family: string, build: (revision: number) => TaskDefinition): Promise<TaskDefinition>;
  get(family: string, revision: number): Promise<TaskDefinition | undefined>;
  latestActive(family: string): Promise<TaskDefinition | undefined>;
  /** get and latestActive with the document parsed on demand, for reads that may not need it. */
  getStored(family: string, revision: number): Promise<StoredTaskDefinition | undefined>;
  latestActiveStored(family: string): Promise<StoredTaskDefinition | undefined>;
  update(definition: TaskDefinition): Promise<void>;
  /** `familyPrefix` is matched as the whole family name, as AWS does for ListTaskDefinitions. */
  list(options: {
    familyPrefix?: string;
    status?: string;
    descending: boolean;
    after?: { family: string; revision: number };
    limit: number;
  }): Promise<{ family: string; revision: number; arn: string }[]>;
  families(options: { familyPrefix?: string; status: "ACTIVE" | "INACTIVE" | "ALL"; afterFamily?: string; limit: number }): Promise<string[]>;
}

export interface TagsRepository {
  list(resourceArn: string): Promise<{ key: string; value: string }[]>;
  put(resourceArn: string, tags: readonly { key: string; value: string }[]): Promise<void>;
  remove(resourceArn: string, keys: readonly string[]): Promise<void>;
  /** Every tag of a resource, for when the resource itself is deleted. */
  removeAll(resourceArn: string): Promise<void>;
}

export interface AccountSettingsRepository {
  list(): Promise<{ principalArn: string; name: string; value: string }[]>;
  put(principalArn: string, name: string, value: string): Promise<void>;
  remove(principalArn: string, name: string): Promise<void>;
}

export function createClustersRepository(db: Kysely<EcsTables>): ClustersRepository {
  return {
    async get(name) {
      const row = await db.selectFrom("clusters").select("document").where("cluster_name", "=", name).executeTakeFirst();
      return row ? parseDocument<Cluster>(row.document) : undefined;
    },
    async lock(name) {
      await db
        .updateTable("clusters")
        .set((eb) => ({ status: eb.ref("status") }))
        .where("cluster_name", "=", name)
        .execute();
    },
    async put(cluster, createdAt) {
      const values = { cluster_arn: cluster.clusterArn, status: cluster.status, document: JSON.stringify(cluster) };
      await db
        .insertInto("clusters")
        .values({ cluster_name: cluster.clusterName, created_at: createdAt, ...values })
        .onConflict((oc) => oc.column("cluster_name").doUpdateSet(values))
        .execute();
    },
    async list({ afterName, limit, status }) {
      let query = db.selectFrom("clusters").select("document").orderBy("cluster_name").limit(limit);
      if (afterName !== undefined) query = query.where("cluster_name", ">", afterName);
      if (status !== undefined) query = query.where("status", "=", status);
      return (await query.execute()).map((row) => parseDocument<Cluster>(row.document));
    },
  };
}

/**
 * Whether a revision could name a stored definition: revisions live in a 32-bit column. A larger
 * (or fractional) one names nothing; on PostgreSQL it must not reach the query, which would fail
 * ("out of range for type integer") where SQLite answers "no such row".
 */
export function isStorableRevision(revision: number): boolean {
  return Number.isInteger(revision) && revision >= 0 && revision <= 2_147_483_647;
}

// A repository is one object literal over its db handle, the interface above implemented method
// by method; each method is short, and splitting the literal would only scatter the interface.
// eslint-disable-next-line max-lines-per-function -- see above
export function createTaskDefinitionsRepository(db: Kysely<EcsTables>): TaskDefinitionsRepository {
  // The two reads every RunTask and DescribeTaskDefinition makes are compiled once by the dialect
  // and then executed with fresh parameters: building and compiling Kysely's query tree each time
  // cost more than SQLite's own work.
  const latestActiveQuery = db
    .selectFrom("task_definitions")
    .select(["task_definition_arn", "status", "document"])
    .where("family", "=", "")
    .where("status", "=", "ACTIVE")
    .orderBy("revision", "desc")
    .limit(1)
    .compile();
  const byRevisionQuery = db
    .selectFrom("task_definitions")
    .select(["task_definition_arn", "status", "document"])
    .where("family", "=", "")
    .where("revision", "=", 0)
    .compile();
  type Row = { task_definition_arn: string; status: string; document: string };
  const storedOf = (rows: readonly Row[]): StoredTaskDefinition | undefined =>
    rows[0] ? storedTaskDefinition(rows[0].task_definition_arn, rows[0].status, rows[0].document) : undefined;
  const getStored = async (family: string, revision: number) =>
    isStorableRevision(revision) ? storedOf((await db.executeQuery<Row>({ ...byRevisionQuery, parameters: [family, revision] })).rows) : undefined;
  const latestActiveStored = async (family: string) => storedOf((await db.executeQuery<Row>({ ...latestActiveQuery, parameters: [family, "ACTIVE", 1] })).rows);
  const parsed = (stored: StoredTaskDefinition | undefined) => stored?.definition();
  return {
    async register(family, build) {
      return inTransaction(db, async (tx) => {
        const current = await tx.selectFrom("task_definition_families").select("last_revision").where("family", "=", family).executeTakeFirst();
        const revision = (current?.last_revision ?? 0) + 1;
        if (current) await tx.updateTable("task_definition_families").set({ last_revision: revision }).where("family", "=", family).execute();
        else await tx.insertInto("task_definition_families").values({ family, last_revision: revision }).execute();
        const definition = build(revision);
        await tx
          .insertInto("task_definitions")
          .values({
            family,
            revision,
            task_definition_arn: definition.taskDefinitionArn!,
            status: definition.status!,
            registered_at: definition.registeredAt?.getTime() ?? 0,
            document: JSON.stringify(definition),
          })
          .execute();
        return definition;
      });
    },
    async get(family, revision) {
      return parsed(await getStored(family, revision));
    },
    async latestActive(family) {
      return parsed(await latestActiveStored(family));
    },
    getStored,
    latestActiveStored,
    async update(definition) {
      await db
        .updateTable("task_definitions")
        .set({ status: definition.status!, document: JSON.stringify(definition) })
        .where("family", "=", definition.family!)
        .where("revision", "=", definition.revision!)
        .execute();
    },
    async list({ familyPrefix, status, descending, after, limit }) {
      const order = descending ? "desc" : "asc";
      let query = db
        .selectFrom("task_definitions")
        .select(["family", "revision", "task_definition_arn"])
        .orderBy("family", order)
        .orderBy("revision", order)
        .limit(limit);
      // Despite its name, ListTaskDefinitions' familyPrefix is the full family name on AWS
      // ("web" lists web:1, web:2, … and never web-api:1); ListTaskDefinitionFamilies' is a prefix.
      if (familyPrefix) query = query.where("family", "=", familyPrefix);
      if (status) query = query.where("status", "=", status);
      if (after) {
        const op = descending ? "<" : ">";
        query = query.where((eb) => eb.or([eb("family", op, after.family), eb.and([eb("family", "=", after.family), eb("revision", op, after.revision)])]));
      }
      return (await query.execute()).map((row) => ({ family: row.family, revision: row.revision, arn: row.task_definition_arn }));
    },
    async families({ familyPrefix, status, afterFamily, limit }) {
      let query = db.selectFrom("task_definitions").select("family").distinct().orderBy("family").limit(limit);
      if (familyPrefix) query = query.where("family", ">=", familyPrefix).where("family", "<", prefixUpperBound(familyPrefix));
      if (afterFamily !== undefined) query = query.where("family", ">", afterFamily);
      if (status === "ACTIVE") query = query.where("status", "=", "ACTIVE");
      if (status === "INACTIVE") {
        // A family is INACTIVE when none of its revisions is ACTIVE.
        query = query.where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom("task_definitions as active")
                .select("active.family")
                .whereRef("active.family", "=", "task_definitions.family")
                .where("active.status", "=", "ACTIVE"),
            ),
          ),
        );
      }
      return (await query.execute()).map((row) => row.family);
    },
  };
}

export function createTagsRepository(db: Kysely<EcsTables>): TagsRepository {
  return {
    async list(resourceArn) {
      const rows = await db.selectFrom("tags").select(["tag_key", "tag_value"]).where("resource_arn", "=", resourceArn).orderBy("tag_key").execute();
      return rows.map((row) => ({ key: row.tag_key, value: row.tag_value }));
    },
    async put(resourceArn, tags) {
      if (tags.length === 0) return;
      await db
        .insertInto("tags")
        .values(tags.map((tag) => ({ resource_arn: resourceArn, tag_key: tag.key, tag_value: tag.value })))
        .onConflict((oc) => oc.columns(["resource_arn", "tag_key"]).doUpdateSet((eb) => ({ tag_value: eb.ref("excluded.tag_value") })))
        .execute();
    },
    async remove(resourceArn, keys) {
      if (keys.length === 0) return;
      await db
        .deleteFrom("tags")
        .where("resource_arn", "=", resourceArn)
        .where("tag_key", "in", [...keys])
        .execute();
    },
    async removeAll(resourceArn) {
      await db.deleteFrom("tags").where("resource_arn", "=", resourceArn).execute();
    },
  };
}

export function createAccountSettingsRepository(db: Kysely<EcsTables>): AccountSettingsRepository {
  return {
    async list() {
      const rows = await db.selectFrom("account_settings").selectAll().orderBy("name").execute();
      return rows.map((row) => ({ principalArn: row.principal_arn, name: row.name, value: row.value }));
    },
    async put(principalArn, name, value) {
      await db
        .insertInto("account_settings")
        .values({ principal_arn: principalArn, name, value })
        .onConflict((oc) => oc.columns(["principal_arn", "name"]).doUpdateSet({ value }))
        .execute();
    },
    async remove(principalArn, name) {
      await db.deleteFrom("account_settings").where("principal_arn", "=", principalArn).where("name", "=", name).execute();
    },
  };
}

function prefixUpperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
