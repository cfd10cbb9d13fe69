// The PostgreSQL side of openStore: a pooled `pg` connection for Kysely, and the settings every
// connection of Berth's uses.
//
// Isolation: every transaction runs at PostgreSQL's default, READ COMMITTED, which is enough for
// each repository's invariants because none of them rests on a read staying true until commit:
// - tasks: changes are compare-and-set on the row's version (TasksRepository.update), and RunTask
//   plans and inserts under Store.exclusively("placement"), an advisory lock every replica takes,
//   so each planner reads the reservations the previous one committed;
// - hosts, access keys, join tokens, clusters, tags, settings: single-statement upserts and
//   conditional updates; the lost-host reaper writes under its fenced lease;
// - logs: counters move by `+ n` in the statement, event inserts and stream stamps in one
//   transaction;
// - ECR: an image, its tags and references in one transaction, and tag mutability is enforced in
//   the statement that moves the tag; leases: one conditional UPDATE per acquire.
import pg from "pg";

/** int8 (bigint) columns hold millisecond times, byte counts and counters: well inside 2^53. */
const INT8_OID = 20;

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`a bigint column holds ${text}, beyond what Berth stores`);
  return value;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? parseInt8 : pg.types.getTypeParser(oid, format as "text")) as pg.CustomTypesConfig["getTypeParser"],
};

export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text);
}

/** The settings of every connection to the store (the pool's and the signal listener's). */
export function postgresClientConfig(url: string): pg.ClientConfig {
  if (!isPostgresUrl(url)) throw new Error("a PostgreSQL store is named by a postgres:// or postgresql:// URL");
  return { connectionString: url, types, application_name: "berth", connectionTimeoutMillis: 10_000 };
}

/**
 * PostgreSQL's text cannot hold U+0000 (it refuses the whole statement), SQLite's can. Anything
 * from outside may carry one: a lookup by a hostile name, a log line. On PostgreSQL a NUL in a
 * string parameter becomes U+FFFD, the replacement character: a lookup then finds nothing (no
 * name Berth stores can hold either) instead of failing with a 500, and a log line keeps
 * everything but that character.
 */
export function withoutNul(value: unknown): unknown {
  return typeof value === "string" && value.includes("\u0000") ? value.replaceAll("\u0000", "\uFFFD") : value;
}

function replaceNulInParameters(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    // The values come beside the text (Kysely) or inside a query config (named prepared statements).
    if (Array.isArray(values)) return query(config, values.map(withoutNul), callback);
    const inside = (config as { values?: unknown } | null)?.values;
    const plain = typeof config === "object" && typeof (config as { submit?: unknown }).submit !== "function"; // not a cursor or stream
    if (plain && Array.isArray(inside)) return query({ ...config, values: inside.map(withoutNul) }, values, callback);
    return query(config, values, callback);
  };
}

/**
 * How long a connection of the pool may sit in an open transaction without sending anything
 * before PostgreSQL ends it. No transaction of Berth's waits on anything but the database, so a
 * transaction idle this long belongs to a replica that stalled or lost its network with it open,
 * and whatever it holds (the placement lock every RunTask of every replica waits for, a lease's
 * row lock) would otherwise stay held until the server notices the dead connection: with the
 * default TCP keepalive, two hours.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

export function postgresPool(url: string, maxConnections: number, options: { idleInTransactionTimeoutMs?: number } = {}): pg.Pool {
  // keepAlive: this end notices a server gone silent (a partition) instead of waiting on it for good.
  const pool = new pg.Pool({
    ...postgresClientConfig(url),
    max: maxConnections,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  const idleInTransactionMs = options.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS;
  pool.on("connect", (client) => {
    replaceNulInParameters(client);
    // A session setting, sent as the connection's first statement (before any query of a caller's).
    client.query(`SET idle_in_transaction_session_timeout = ${Math.trunc(idleInTransactionMs)}`).catch(() => undefined);
  });
  // An idle connection the server drops (restart, failover) must not take the process down; the
  // next query gets a fresh connection.
  pool.on("error", () => undefined);
  return pool;
}
