// Durable ECS task records. A task is stored as the SDK `Task` document the API returns (one JSON
// column) next to the indexed columns that ListTasks, the scheduler's capacity accounting and the
// retention purge filter on. A task's rows (task, tags, the remembered RunTask request) are
// written in one transaction and purged in one, so no reader ever sees half a task and no tag
// outlives its task. Portable Kysely SQL only.
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

export interface TasksTables {
  tasks: TasksTable;
  tags: TagsTable;
  run_task_requests: RunTaskRequestsTable;
}

export interface RememberedRun {
  readonly taskArns: string[];
  readonly failures: { arn?: string; reason: string; detail?: string }[];
}

export type TaskRow = Selectable<TasksTable>;

export interface StoredTask {
  readonly row: TaskRow;
  readonly task: Task;
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

export interface TasksRepository {
  /**
   * Inserts the tasks of one RunTask with their tags and, for a clientToken, the run's outcome,
   * all in one transaction.
   */
  insert(
    rows: readonly Omit<TaskRow, "version">[],
    extras?: { tags?: readonly { key: string; value: string }[]; run?: { clusterArn: string; clientToken: string; createdAt: number; failures: RememberedRun["failures"] } },
  ): Promise<void>;
  /** The outcome of the RunTask made with this clientToken, if any. */
  rememberedRun(clusterArn: string, clientToken: string): Promise<RememberedRun | undefined>;
  get(taskArn: string): Promise<StoredTask | undefined>;
  getMany(taskArns: readonly string[]): Promise<StoredTask[]>;
  byClientToken(clusterArn: string, clientToken: string): Promise<StoredTask[]>;
  list(filter: TaskListFilter): Promise<TaskRow[]>;
  /** Applies `change` if the task is still at `expectedVersion`; returns whether it did. */
  update(taskArn: string, expectedVersion: number, change: Partial<Omit<TaskRow, "task_arn" | "version">>): Promise<boolean>;
  /** `update` for several tasks in one transaction (one commit); whether each applied, in order. */
  updateMany(updates: readonly { taskArn: string; expectedVersion: number; change: Partial<Omit<TaskRow, "task_arn" | "version">> }[]): Promise<boolean[]>;
  /** Tasks holding capacity on hosts: everything not yet STOPPED. */
  active(): Promise<TaskRow[]>;
  /** What every not-yet-STOPPED placed task reserves (the scheduler's snapshot; no documents read). */
  reservations(): Promise<Pick<TaskRow, "task_arn" | "host_id" | "cpu_units" | "memory_mib" | "ephemeral_gib">[]>;
  /** The not-yet-STOPPED tasks placed on one host. */
  activeOnHost(hostId: string): Promise<TaskRow[]>;
  /** Tasks of a cluster counted by last status and launch type. */
  countByStatus(clusterArn: string): Promise<{ lastStatus: string; launchType: string; count: number }[]>;
  /** Removes tasks stopped before `stoppedBefore` with their tags (and runs left with no task); returns how many. */
  purgeStopped(stoppedBefore: number): Promise<number>;
}

export function parseTask(row: TaskRow): StoredTask {
  return { row, task: parseDocument<Task>(row.document) };
}

/** Optimistic concurrency: the change applies only if the task is still at `expectedVersion`. */
async function updateAtVersion(db: Kysely<TasksTables>, { taskArn, expectedVersion, change }: { taskArn: string; expectedVersion: number; change: Partial<Omit<TaskRow, "task_arn" | "version">> }): Promise<boolean> {
  const result = await db
    .updateTable("tasks")
    .set({ ...change, version: expectedVersion + 1 })
    .where("task_arn", "=", taskArn)
    .where("version", "=", expectedVersion)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export function createTasksRepository(db: Kysely<TasksTables>): TasksRepository {
  return {
    async insert(rows, extras = {}) {
      const tags = extras.tags ?? [];
      const run = extras.run;
      if (rows.length === 0 && !run) return;
      await db.transaction().execute(async (tx) => {
        if (rows.length > 0) await tx.insertInto("tasks").values(rows.map((row) => ({ ...row, version: 1 }))).execute();
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
      return row ? parseTask(row) : undefined;
    },
    async getMany(taskArns) {
      if (taskArns.length === 0) return [];
      const rows = await db.selectFrom("tasks").selectAll().where("task_arn", "in", [...taskArns]).execute();
      return rows.map(parseTask);
    },
    async byClientToken(clusterArn, clientToken) {
      const rows = await db
        .selectFrom("tasks")
        .selectAll()
        .where("cluster_arn", "=", clusterArn)
        .where("client_token", "=", clientToken)
        .orderBy("task_arn")
        .execute();
      return rows.map(parseTask);
    },
    async list(filter) {
      let query = db.selectFrom("tasks").selectAll().where("cluster_arn", "=", filter.clusterArn).orderBy("task_arn").limit(filter.limit);
      if (filter.family !== undefined) query = query.where("family", "=", filter.family);
      if (filter.startedBy !== undefined) query = query.where("started_by", "=", filter.startedBy);
      if (filter.serviceName !== undefined) query = query.where("service_name", "=", filter.serviceName);
      if (filter.desiredStatus !== undefined) query = query.where("desired_status", "=", filter.desiredStatus);
      if (filter.launchType !== undefined) query = query.where("launch_type", "=", filter.launchType);
      if (filter.hostId !== undefined) query = query.where("host_id", "=", filter.hostId);
      if (filter.afterTaskArn !== undefined) query = query.where("task_arn", ">", filter.afterTaskArn);
      return query.execute();
    },
    update(taskArn, expectedVersion, change) {
      return updateAtVersion(db, { taskArn, expectedVersion, change });
    },
    async updateMany(updates) {
      if (updates.length === 0) return [];
      // Rows are updated in task ARN order, so two overlapping batches lock them in the same order
      // (no deadlock on a database with row locks); the answers keep the caller's order.
      const order = updates.map((_, index) => index).sort((a, b) => (updates[a]!.taskArn < updates[b]!.taskArn ? -1 : updates[a]!.taskArn > updates[b]!.taskArn ? 1 : 0));
      return db.transaction().execute(async (tx) => {
        const applied: boolean[] = new Array<boolean>(updates.length).fill(false);
        for (const index of order) applied[index] = await updateAtVersion(tx, updates[index]!);
        return applied;
      });
    },
    async active() {
      return db.selectFrom("tasks").selectAll().where("last_status", "!=", "STOPPED").execute();
    },
    async reservations() {
      return db
        .selectFrom("tasks")
        .select(["task_arn", "host_id", "cpu_units", "memory_mib", "ephemeral_gib"])
        .where("last_status", "!=", "STOPPED")
        .where("host_id", "is not", null)
        .execute();
    },
    async activeOnHost(hostId) {
      return db.selectFrom("tasks").selectAll().where("host_id", "=", hostId).where("last_status", "!=", "STOPPED").execute();
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
      return db.transaction().execute(async (tx) => {
        const purged = tx.selectFrom("tasks").select("task_arn").where("last_status", "=", "STOPPED").where("stopped_at", "<", stoppedBefore);
        await tx.deleteFrom("tags").where("resource_arn", "in", purged).execute();
        const result = await tx.deleteFrom("tasks").where("last_status", "=", "STOPPED").where("stopped_at", "<", stoppedBefore).executeTakeFirst();
        // A remembered run is forgotten once it is old and none of its tasks is left to answer with.
        await tx
          .deleteFrom("run_task_requests")
          .where("created_at", "<", stoppedBefore)
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom("tasks").select("task_arn").whereRef("tasks.cluster_arn", "=", "run_task_requests.cluster_arn").whereRef("tasks.client_token", "=", "run_task_requests.client_token"))),
          )
          .execute();
        return Number(result.numDeletedRows);
      });
    },
  };
}
