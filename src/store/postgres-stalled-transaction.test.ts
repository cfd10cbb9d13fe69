// A replica that stalls (or loses its network) inside a transaction must not hold what that
// transaction locked for good: RunTask's placement lock is taken by every replica, so one stuck
// holder would stop every RunTask of the control plane, each waiter holding a pooled connection.
// PostgreSQL ends a session idle in a transaction after the pool's timeout; its locks go with it
// and its writes are rolled back.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { freshPostgresDatabase, stopOwnPostgresCluster } from "../../test/support/postgres.js";
import { IDLE_IN_TRANSACTION_TIMEOUT_MS, postgresPool } from "./postgres-connection.js";

after(() => stopOwnPostgresCluster());

const PLACEMENT_LIKE_LOCK = 4242;

test("every pooled connection ends a transaction left idle after the timeout (default one minute)", async () => {
  const database = await freshPostgresDatabase();
  const pool = postgresPool(database.url, 1);
  try {
    const { rows } = await pool.query<{ idle_in_transaction_session_timeout: string }>("SHOW idle_in_transaction_session_timeout");
    assert.equal(rows[0]!.idle_in_transaction_session_timeout, `${IDLE_IN_TRANSACTION_TIMEOUT_MS / 60_000}min`);
  } finally {
    await pool.end();
    await database.drop();
  }
});

test("a replica stalled while holding a transaction-scoped advisory lock loses it; the other replica's wait ends and the stalled writes are undone", async () => {
  const database = await freshPostgresDatabase();
  const stalledReplica = postgresPool(database.url, 2, { idleInTransactionTimeoutMs: 500 });
  const otherReplica = postgresPool(database.url, 2, { idleInTransactionTimeoutMs: 500 });
  try {
    await otherReplica.query("CREATE TABLE placed (who text)");
    const holder = await stalledReplica.connect();
    holder.on("error", () => undefined); // the server ends this session: expected
    await holder.query("BEGIN");
    await holder.query("SELECT pg_advisory_xact_lock($1)", [PLACEMENT_LIKE_LOCK]);
    await holder.query("INSERT INTO placed VALUES ('stalled')");
    // The holder now says nothing (a long pause, a partition): the other replica's placement waits for the lock.
    const started = Date.now();
    const waiter = await otherReplica.connect();
    try {
      await waiter.query("BEGIN");
      await waiter.query("SELECT pg_advisory_xact_lock($1)", [PLACEMENT_LIKE_LOCK]);
      await waiter.query("INSERT INTO placed VALUES ('other')");
      await waiter.query("COMMIT");
    } finally {
      waiter.release();
    }
    assert.ok(Date.now() - started < 10_000, `the lock came free after ${Date.now() - started} ms`);
    await assert.rejects(holder.query("COMMIT"), "the stalled replica's transaction is gone when it wakes up");
    holder.release(true);
    assert.deepEqual((await otherReplica.query("SELECT who FROM placed")).rows, [{ who: "other" }]);
  } finally {
    await stalledReplica.end();
    await otherReplica.end();
    await database.drop();
  }
});
