// PostgreSQL's text cannot hold U+0000 and refuses the whole statement; every string parameter
// Berth sends has its NULs replaced (postgres-connection.ts), whichever way the query is sent:
// Kysely's (text and values apart) or a query config (the named prepared statements of
// postgres-task-definition-reads.ts).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { freshPostgresDatabase, stopOwnPostgresCluster } from "../../test/support/postgres.js";
import { openStore } from "./index.js";
import { postgresPool } from "./postgres-connection.js";

after(() => stopOwnPostgresCluster());

test("a NUL in a parameter of a query config (a named prepared statement) is replaced, not refused", async () => {
  const database = await freshPostgresDatabase();
  const pool = postgresPool(database.url, 1);
  const store = await openStore({ url: database.url, maxConnections: 2 });
  try {
    const { rows } = await pool.query<{ v: string }>({ name: "nul_check", text: "SELECT $1::text AS v", values: ["a\u0000b"] });
    assert.deepEqual(rows, [{ v: "a\uFFFDb" }]);
    assert.equal(await store.taskDefinitions.getStored("web\u0000", 1), undefined);
    assert.equal(await store.taskDefinitions.latestActiveStored("web\u0000"), undefined);
  } finally {
    await pool.end();
    await store.close();
    await database.drop();
  }
});
