// The two task-definition reads DescribeTaskDefinition makes on every call (getStored,
// latestActiveStored), run as reused better-sqlite3 prepared statements instead of through Kysely.
// In a tight loop (one 725-byte definition) Kysely's compiled query with a bound `LIMIT ?` took
// ~6.6 µs a read and these ~1.5–2 µs; end to end under 32 connections the difference is larger,
// ~55 µs of server CPU per request and 1.5× the throughput (bench/RESULTS.md, "Issue 10 —
// task-definition reads"), most likely because the Kysely path also queues each read behind its connection
// mutex and several promise hops. Same SQL semantics and the same rows as the portable versions
// in ecs-repositories.ts, which a PostgreSQL store keeps using; wired for SQLite only, in
// openStore. The store stays the source of truth: every call reads the row.
import type Database from "better-sqlite3";
import type { StoredTaskDefinition, TaskDefinitionsRepository } from "./ecs-repositories.js";
import { storedTaskDefinition } from "./ecs-repositories.js";

type Row = [arn: string, status: string, document: string];

export function sqliteTaskDefinitionReads(database: Database.Database): Pick<TaskDefinitionsRepository, "getStored" | "latestActiveStored"> {
  const latestActive = database
    .prepare<[string], Row>(
      "SELECT task_definition_arn, status, document FROM task_definitions WHERE family = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1",
    )
    .raw();
  const byRevision = database
    .prepare<[string, number], Row>("SELECT task_definition_arn, status, document FROM task_definitions WHERE family = ? AND revision = ?")
    .raw();
  const storedOf = (row: Row | undefined): StoredTaskDefinition | undefined => (row ? storedTaskDefinition(row[0], row[1], row[2]) : undefined);
  return {
    // Promise.resolve, not async: the interface is asynchronous for other dialects; no extra hop here.
    getStored: (family, revision) => Promise.resolve(storedOf(byRevision.get(family, revision))),
    latestActiveStored: (family) => Promise.resolve(storedOf(latestActive.get(family))),
  };
}
