// The two task-definition reads DescribeTaskDefinition makes on every call, on PostgreSQL as named
// prepared statements of the `pg` driver: each connection parses and plans them once, then only
// binds and executes, where Kysely's path sends the text to be parsed and planned on every call.
// Measured end to end in bench/replicas.ts ("throughput"), recorded in bench/RESULTS.md. The same
// SQL and rows as the portable reads in ecs-repositories.ts (and sqlite-task-definition-reads.ts).
import type pg from "pg";
import type { StoredTaskDefinition, TaskDefinitionsRepository } from "./ecs-repositories.js";
import { isStorableRevision, storedTaskDefinition } from "./ecs-repositories.js";

type Row = [arn: string, status: string, document: string];

const storedOf = (rows: Row[]): StoredTaskDefinition | undefined => (rows[0] ? storedTaskDefinition(rows[0][0], rows[0][1], rows[0][2]) : undefined);

export function postgresTaskDefinitionReads(pool: pg.Pool): Pick<TaskDefinitionsRepository, "getStored" | "latestActiveStored"> {
  return {
    getStored: async (family, revision) =>
      // A revision beyond the integer column names nothing (PostgreSQL would refuse the parameter).
      isStorableRevision(revision)
        ? storedOf(
            (
              await pool.query<Row>({
                name: "berth_task_definition_by_revision",
                text: "SELECT task_definition_arn, status, document FROM task_definitions WHERE family = $1 AND revision = $2",
                values: [family, revision],
                rowMode: "array",
              })
            ).rows,
          )
        : undefined,
    latestActiveStored: async (family) =>
      storedOf(
        (
          await pool.query<Row>({
            name: "berth_task_definition_latest_active",
            text: "SELECT task_definition_arn, status, document FROM task_definitions WHERE family = $1 AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1",
            values: [family],
            rowMode: "array",
          })
        ).rows,
      ),
  };
}
