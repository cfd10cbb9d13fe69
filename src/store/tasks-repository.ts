// Durable ECS task records. Callers hand in and get back `TaskRecord`s (domain values); here alone
// they become rows: the SDK `Task` document the API returns and the host's TaskSpec as JSON
// columns, next to the indexed columns that ListTasks, the scheduler's capacity accounting and the
// retention purge filter on. A task's rows (task, tags, the remembered RunTask request) are
// written in one transaction and purged in one, so no reader ever sees half a task and no tag
// outlives its task. Portable Kysely SQL only.
import { inTransaction } from "./transaction.js";
import type { NetworkInterfacesTables } from "./network-interfaces-repository.js";
import type { Task } from "@aws-sdk/client-ecs";
import type { Kysely, Selectable } from "kysely";
import type { TagsTable } from "./ecs-repositories.js";
import { parseDocument } from "./ecs-repositories.js";

export interface TasksTable {
  task_arn: string;
  task_id: string;
  cluster_arn: string;
  family: string;
  started_by: string | null;
  service_name: string | null;
  launch_type: string;
  desired_status: string;
  last_status: string;
  host_id: string | null;
  cpu_units: number;
  memory_mib: number;
  ephemeral_gib: number;
  client_token: string | null;
  created_at: number;
  stopped_at: number | null;
  /** Bumped by every update; updates name the version they read (optimistic concurrency). */
  version: number;
  /** Sequence of the last agent status report folded into the document (0 before any). */
  report_sequence: number;
  document: string;
  /** The TaskSpec sent to the task's host (JSON), null until the task is placed. */
  spec: string | null;
}

/** A RunTask call made with a clientToken: its outcome, replayed for the same token. */
export interface RunTaskRequestsTable {
  cluster_arn: string;
  client_token: string;
  created_at: number;
  task_arns_json: string;
  /** The RunTask `failures` array (JSON), so a run that placed nothing replays as such. */
  failures_json: string;
}

export interface TasksTables extends NetworkInterfacesTables {
  tasks: TasksTable;
  tags: TagsTable;
  run_task_requests: RunTaskRequestsTable;
}

export interface RememberedRun {
  readonly taskArns: string[];
  readonly failures: { arn?: string; reason: string; detail?: string }[];
}

/** What a task holds on its host until it is STOPPED. */
export interface TaskReservation {
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  readonly ephemeralGiB: number;
}

/**
 * A task as the control plane keeps it: the SDK `Task` document DescribeTasks answers with, the
 * fields that are filtered and counted on, and what its host is handed.
 */
export interface TaskRecord {
  readonly taskArn: string;
  readonly taskId: string;
  readonly clusterArn: string;
  readonly family: string;
  readonly startedBy?: string;
  readonly serviceName?: string;
  readonly launchType: string;
  readonly desiredStatus: string;
  readonly lastStatus: string;
  /** The host it is placed on; absent while unplaced. */
  readonly hostId?: string;
  readonly reservation: TaskReservation;
  readonly clientToken?: string;
  readonly createdAtMs: number;
  readonly stoppedAtMs?: number;
  /** Sequence of the last agent status report folded into `task` (0 before any). */
  readonly reportSequence: number;
  readonly task: Task;
  /**
   * The TaskSpec handed to the task's host, absent until placed. Opaque here: its type is the
   * agent protocol's, which the store may not import (DESIGN.md rule 1); stored as written.
   */
  readonly spec?: object;
}

/** A task read back, with the version an update must name (optimistic concurrency). */
export interface StoredTask extends TaskRecord {
  readonly version: number;
}

/** What an update may change: the statuses, the stop time, the report folded in and the document. */
export type TaskChange = Partial<Pick<TaskRecord, "desiredStatus" | "lastStatus" | "stoppedAtMs" | "reportSequence" | "task">>;

export interface TaskUpdate {
  readonly taskArn: string;
  readonly expectedVersion: number;
  readonly change: TaskChange;
}

export interface TaskListFilter {
  readonly clusterArn: string;
  readonly family?: string;
  readonly startedBy?: string;
  readonly serviceName?: string;
  readonly desiredStatus?: string;
  readonly launchType?: string;
  readonly hostId?: string;
  readonly afterTaskArn?: string;
  readonly limit: number;
}

/** A not-yet-STOPPED placed task's hold on its host (the scheduler's snapshot; no document read). */
export interface PlacedReservation extends TaskReservation {
  readonly taskArn: string;
  readonly hostId: string;
}

export interface TasksRepository {
  /**
   * Inserts the tasks of one RunTask with their tags and, for a clientToken, the run's outcome,
   * all in one transaction.
   */
  insert(
    tasks: readonly TaskRecord[],
    extras?: {
      tags?: readonly { key: string; value: string }[];
      run?: { clusterArn: string; clientToken: string; createdAt: number; failures: RememberedRun["failures"] };
    },
  ): Promise<void>;
  /** The outcome of the RunTask made with this clientToken, if any. */
  rememberedRun(clusterArn: string, clientToken: string): Promise<RememberedRun | undefined>;
  get(taskArn: string): Promise<StoredTask | undefined>;
  getMany(taskArns: readonly string[]): Promise<StoredTask[]>;
  byClientToken(clusterArn: string, clientToken: string): Promise<StoredTask[]>;
  /** The ARNs of a cluster's tasks matching `filter`, in ARN order (ListTasks reads no document). */
  listArns(filter: TaskListFilter): Promise<string[]>;
  /** Applies `change` if the task is still at `expectedVersion`; returns whether it did. */
  update(taskArn: string, expectedVersion: number, change: TaskChange): Promise<boolean>;
  /** `update` for several tasks in one transaction (one commit); whether each applied, in order. */
  updateMany(updates: readonly TaskUpdate[]): Promise<boolean[]>;
  /** What every not-yet-STOPPED placed task reserves. */
  reservations(): Promise<PlacedReservation[]>;
  /** The not-yet-STOPPED tasks placed on one host. */
  activeOnHost(hostId: string): Promise<StoredTask[]>;
  /**
   * A service's tasks: those not yet STOPPED, and those that stopped at or after `stoppedSinceMs`;
   * without their `spec` (what the host was handed: the scheduler, which reads this every pass, never
   * needs it, and reading and parsing it doubled the cost of a pass over a large service).
   */
  ofService(clusterArn: string, serviceName: string, stoppedSinceMs: number): Promise<StoredTask[]>;
  /** Tasks of a cluster counted by last status and launch type. */
  countByStatus(clusterArn: string): Promise<{ lastStatus: string; launchType: string; count: number }[]>;
  /** Removes tasks stopped before `stoppedBefore` with their tags (and runs left with no task); returns how many. */
  purgeStopped(stoppedBefore: number): Promise<number>;
}

type TaskRow = Selectable<TasksTable>;

const COLUMNS_BUT_SPEC = [
  "task_arn",
  "task_id",
  "cluster_arn",
  "family",
  "started_by",
  "service_name",
  "launch_type",
  "desired_status",
  "last_status",
  "host_id",
  "cpu_units",
  "memory_mib",
  "ephemeral_gib",
  "client_token",
  "created_at",
  "stopped_at",
  "version",
  "report_sequence",
  "document",
] as const satisfies readonly Exclude<keyof TasksTable, "spec">[];

function rowOf(record: TaskRecord): TaskRow {
  return {
    task_arn: record.taskArn,
    task_id: record.taskId,
    cluster_arn: record.clusterArn,
    family: record.family,
    started_by: record.startedBy ?? null,
    service_name: record.serviceName ?? null,
    launch_type: record.launchType,
    desired_status: record.desiredStatus,
    last_status: record.lastStatus,
    host_id: record.hostId ?? null,
    cpu_units: record.reservation.cpuUnits,
    memory_mib: record.reservation.memoryMiB,
    ephemeral_gib: record.reservation.ephemeralGiB,
    client_token: record.clientToken ?? null,
    created_at: record.createdAtMs,
    stopped_at: record.stoppedAtMs ?? null,
    version: 1,
    report_sequence: record.reportSequence,
    document: JSON.stringify(record.task),
    spec: record.spec === undefined ? null : JSON.stringify(record.spec),
  };
}

/** A row read with or without its spec (the agent's TaskSpec, the widest column after the document). */
function storedTaskOf(row: Omit<TaskRow, "spec"> & { spec?: string | null }): StoredTask {
  return {
    taskArn: row.task_arn,
    taskId: row.task_id,
    clusterArn: row.cluster_arn,
    family: row.family,
    ...(row.started_by !== null ? { startedBy: row.started_by } : {}),
    ...(row.service_name !== null ? { serviceName: row.service_name } : {}),
    launchType: row.launch_type,
    desiredStatus: row.desired_status,
    lastStatus: row.last_status,
    ...(row.host_id !== null ? { hostId: row.host_id } : {}),
    reservation: { cpuUnits: row.cpu_units, memoryMiB: row.memory_mib, ephemeralGiB: row.ephemeral_gib },
    ...(row.client_token !== null ? { clientToken: row.client_token } : {}),
    createdAtMs: Number(row.created_at),
    ...(row.stopped_at !== null ? { stoppedAtMs: Number(row.stopped_at) } : {}),
    reportSequence: row.report_sequence,
    task: parseDocument<Task>(row.document),
    ...(row.spec !== null && row.spec !== undefined ? { spec: JSON.parse(row.spec) as object } : {}),
    version: row.version,
  };
}

function columnsOf(change: TaskChange): Partial<Omit<TaskRow, "task_arn" | "version">> {
  return {
    ...(change.desiredStatus !== undefined ? { desired_status: change.desiredStatus } : {}),
    ...(change.lastStatus !== undefined ? { last_status: change.lastStatus } : {}),
    ...(change.stoppedAtMs !== undefined ? { stopped_at: change.stoppedAtMs } : {}),
    ...(change.reportSequence !== undefined ? { report_sequence: change.reportSequence } : {}),
    ...(change.task !== undefined ? { document: JSON.stringify(change.task) } : {}),
  };
}

/** Optimistic concurrency: the change applies only if the task is still at `expectedVersion`. */
async function updateAtVersion(db: Kysely<TasksTables>, { taskArn, expectedVersion, change }: TaskUpdate): Promise<boolean> {
  const result = await db
    .updateTable("tasks")
    .set({ ...columnsOf(change), version: expectedVersion + 1 })
    .where("task_arn", "=", taskArn)
    .where("version", "=", expectedVersion)
    .executeTakeFirst();
  const applied = Number(result.numUpdatedRows) === 1;
  if (applied && change.lastStatus === "STOPPED") await releaseInterfaces(db, taskArn);
  return applied;
}

/**
 * A stopped task's interfaces go with the stop, in its transaction (Fargate deletes a task's ENI
 * once the task stops): its address is free again, and it leaves every group's members at once,
 * so no later holder of the address inherits its access.
 */
async function releaseInterfaces(db: Kysely<TasksTables>, taskArn: string): Promise<void> {
  const owned = db.selectFrom("network_interfaces").select("eni_id").where("task_arn", "=", taskArn);
  await db.deleteFrom("network_interface_groups").where("eni_id", "in", owned).execute();
  await db.deleteFrom("network_interfaces").where("task_arn", "=", taskArn).execute();
}

// A repository is one object literal over its db handle, the interface above implemented method
// by method; each method is short, and splitting the literal would only scatter the interface.
// eslint-disable-next-line max-lines-per-function -- see above
export function createTasksRepository(db: Kysely<TasksTables>): TasksRepository {
  return {
    async insert(records, extras = {}) {
      const tags = extras.tags ?? [];
      const run = extras.run;
      if (records.length === 0 && !run) return;
      const rows = records.map(rowOf);
      await inTransaction(db, async (tx) => {
        if (rows.length > 0) await tx.insertInto("tasks").values(rows).execute();
        if (tags.length > 0 && rows.length > 0) {
          await tx
            .insertInto("tags")
            .values(rows.flatMap((row) => tags.map((tag) => ({ resource_arn: row.task_arn, tag_key: tag.key, tag_value: tag.value }))))
            .execute();
        }
        if (run) {
          await tx
            .insertInto("run_task_requests")
            .values({
              cluster_arn: run.clusterArn,
              client_token: run.clientToken,
              created_at: run.createdAt,
              task_arns_json: JSON.stringify(rows.map((row) => row.task_arn)),
              failures_json: JSON.stringify(run.failures),
            })
            .execute();
        }
      });
    },
    async rememberedRun(clusterArn, clientToken) {
      const row = await db
        .selectFrom("run_task_requests")
        .selectAll()
        .where("cluster_arn", "=", clusterArn)
        .where("client_token", "=", clientToken)
        .executeTakeFirst();
      return row ? { taskArns: JSON.parse(row.task_arns_json) as string[], failures: JSON.parse(row.failures_json) as RememberedRun["failures"] } : undefined;
    },
    async get(taskArn) {
      const row = await db.selectFrom("tasks").selectAll().where("task_arn", "=", taskArn).executeTakeFirst();
      return row ? storedTaskOf(row) : undefined;
    },
    async getMany(taskArns) {
      if (taskArns.length === 0) return [];
      const rows = await db
        .selectFrom("tasks")
        .selectAll()
        .where("task_arn", "in", [...taskArns])
        .execute();
      return rows.map(storedTaskOf);
    },
    async byClientToken(clusterArn, clientToken) {
      const rows = await db
        .selectFrom("tasks")
        .selectAll()
        .where("cluster_arn", "=", clusterArn)
        .where("client_token", "=", clientToken)
        .orderBy("task_arn")
        .execute();
      return rows.map(storedTaskOf);
    },
    async listArns(filter) {
      let query = db.selectFrom("tasks").select("task_arn").where("cluster_arn", "=", filter.clusterArn).orderBy("task_arn").limit(filter.limit);
      if (filter.family !== undefined) query = query.where("family", "=", filter.family);
      if (filter.startedBy !== undefined) query = query.where("started_by", "=", filter.startedBy);
      if (filter.serviceName !== undefined) query = query.where("service_name", "=", filter.serviceName);
      if (filter.desiredStatus !== undefined) query = query.where("desired_status", "=", filter.desiredStatus);
      if (filter.launchType !== undefined) query = query.where("launch_type", "=", filter.launchType);
      if (filter.hostId !== undefined) query = query.where("host_id", "=", filter.hostId);
      if (filter.afterTaskArn !== undefined) query = query.where("task_arn", ">", filter.afterTaskArn);
      return (await query.execute()).map((row) => row.task_arn);
    },
    update(taskArn, expectedVersion, change) {
      // A stop also releases the task's interfaces: both or neither.
      if (change.lastStatus === "STOPPED") return inTransaction(db, (tx) => updateAtVersion(tx, { taskArn, expectedVersion, change }));
      return updateAtVersion(db, { taskArn, expectedVersion, change });
    },
    async updateMany(updates) {
      if (updates.length === 0) return [];
      // Rows are updated in task ARN order, so two overlapping batches lock them in the same order
      // (no deadlock on a database with row locks); the answers keep the caller's order.
      const order = updates
        .map((_, index) => index)
        .sort((a, b) => (updates[a]!.taskArn < updates[b]!.taskArn ? -1 : updates[a]!.taskArn > updates[b]!.taskArn ? 1 : 0));
      return inTransaction(db, async (tx) => {
        const applied: boolean[] = new Array<boolean>(updates.length).fill(false);
        for (const index of order) applied[index] = await updateAtVersion(tx, updates[index]!);
        return applied;
      });
    },
    async reservations() {
      const rows = await db
        .selectFrom("tasks")
        .select(["task_arn", "host_id", "cpu_units", "memory_mib", "ephemeral_gib"])
        // "!= STOPPED" as two ranges: the (last_status, stopped_at) index then finds the live tasks,
        // where "!=" made every placement read the whole table, stopped tasks kept for retention and
        // their documents with it (57 ms a placement with 20,000 of them; bench/RESULTS.md, issue 13).
        .where((eb) => eb.or([eb("last_status", "<", "STOPPED"), eb("last_status", ">", "STOPPED")]))
        .where("host_id", "is not", null)
        .execute();
      return rows.map((row) => ({
        taskArn: row.task_arn,
        hostId: row.host_id!,
        cpuUnits: row.cpu_units,
        memoryMiB: row.memory_mib,
        ephemeralGiB: row.ephemeral_gib,
      }));
    },
    async activeOnHost(hostId) {
      const rows = await db.selectFrom("tasks").selectAll().where("host_id", "=", hostId).where("last_status", "!=", "STOPPED").execute();
      return rows.map(storedTaskOf);
    },
    async ofService(clusterArn, serviceName, stoppedSinceMs) {
      const rows = await db
        .selectFrom("tasks")
        .select(COLUMNS_BUT_SPEC)
        .where("cluster_arn", "=", clusterArn)
        .where("service_name", "=", serviceName)
        .where((eb) => eb.or([eb("last_status", "!=", "STOPPED"), eb("stopped_at", ">=", stoppedSinceMs)]))
        .orderBy("task_arn")
        .execute();
      return rows.map(storedTaskOf);
    },
    async countByStatus(clusterArn) {
      const rows = await db
        .selectFrom("tasks")
        .select(["last_status", "launch_type", (eb) => eb.fn.countAll<number>().as("count")])
        .where("cluster_arn", "=", clusterArn)
        .groupBy(["last_status", "launch_type"])
        .execute();
      return rows.map((row) => ({ lastStatus: row.last_status, launchType: row.launch_type, count: Number(row.count) }));
    },
    async purgeStopped(stoppedBefore) {
      return inTransaction(db, async (tx) => {
        const purged = tx.selectFrom("tasks").select("task_arn").where("last_status", "=", "STOPPED").where("stopped_at", "<", stoppedBefore);
        await tx.deleteFrom("tags").where("resource_arn", "in", purged).execute();
        const result = await tx.deleteFrom("tasks").where("last_status", "=", "STOPPED").where("stopped_at", "<", stoppedBefore).executeTakeFirst();
        // A remembered run is forgotten once it is old and none of its tasks is left to answer with.
        await tx
          .deleteFrom("run_task_requests")
          .where("created_at", "<", stoppedBefore)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom("tasks")
                  .select("task_arn")
                  .whereRef("tasks.cluster_arn", "=", "run_task_requests.cluster_arn")
                  .whereRef("tasks.client_token", "=", "run_task_requests.client_token"),
              ),
            ),
          )
          .execute();
        return Number(result.numDeletedRows);
      });
    },
  };
}
