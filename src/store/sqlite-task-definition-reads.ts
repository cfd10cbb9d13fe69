// The two task-definition reads on the hot path (DescribeTaskDefinition, RunTask), run as reused
// better-sqlite3 prepared statements instead of through Kysely. Measured on the 2-core dev VM
// (tight loop, one 725-byte definition): Kysely's compiled query with a bound `LIMIT ?` took
// ~6.6 µs a read, most of it inside SQLite (a bound limit costs SQLite ~4 µs more than a literal
// `LIMIT 1` here), plus Kysely's connection mutex and several promise hops per query; the raw
// statements below take ~1.5–2 µs. Same SQL semantics and the same rows as the portable versions
// in ecs-repositories.ts, which a PostgreSQL store keeps using: the store stays the source of
// truth, every call reads the row.
import type Database from "better-sqlite3";
import type { StoredTaskDefinition, TaskDefinitionsRepository } from "./ecs-repositories.js";

type Row = [arn: string, status: string, document: string];

export function sqliteTaskDefinitionReads(database: Database.Database): Pick<TaskDefinitionsRepository, "getStored" | "latestActiveStored"> {
  const latestActive = database
    .prepare<[string], Row>("SELECT task_definition_arn, status, document FROM task_definitions WHERE family = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1")
    .raw();
  const byRevision = database.prepare<[string, number], Row>("SELECT task_definition_arn, status, document FROM task_definitions WHERE family = ? AND revision = ?").raw();
  const storedOf = (row: Row | undefined): StoredTaskDefinition | undefined => (row ? { arn: row[0], status: row[1], document: row[2] } : undefined);
  return {
    // Promise.resolve, not async: the interface is asynchronous for other dialects; no extra hop here.
    getStored: (family, revision) => Promise.resolve(storedOf(byRevision.get(family, revision))),
    latestActiveStored: (family) => Promise.resolve(storedOf(latestActive.get(family))),
  };
}
