// Leases on the control loops (the lost-host reaper, retention, registry GC, and every loop later
// issues add): of all the replicas sharing a store, only the holder of a loop's lease runs its
// passes. A lease is held for a time (its holder renews it at every pass) and changes hands only
// once it has expired; each change of hands increments the lease's fencing token.
//
// Fencing: a holder does its writes through Store.fenced, whose transaction first checks (and on
// PostgreSQL row-locks) the lease at the token it was granted. A holder that stalled past its
// lease (a long GC pause, a partitioned replica) and lost it finds a newer token there and its
// writes are refused; and while a fenced transaction runs, nobody can take the lease over.
//
// Expiry is judged on the replicas' clocks, which must agree to well within a lease's time (NTP);
// fencing keeps a stale holder's writes out whatever the clocks say.
import type { Kysely } from "kysely";

export interface LeasesTable {
  name: string;
  holder: string;
  fencing_token: number;
  expires_at: number;
}

/** A lease granted to a holder: what Store.fenced checks. */
export interface HeldLease {
  readonly name: string;
  readonly holder: string;
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

export interface LeasesRepository {
  /**
   * Takes the lease if it is free or expired, renews it if `holder` already holds it; undefined when
   * another holder's lease is still running.
   */
  acquire(name: string, holder: string, nowMs: number, ttlMs: number): Promise<HeldLease | undefined>;
  /** Gives the lease up (shutdown), so another replica need not wait for it to expire. */
  release(lease: HeldLease): Promise<void>;
  /** The lease as it is now (tests, diagnostics). */
  get(name: string): Promise<HeldLease | undefined>;
}

/** Thrown by Store.fenced when the lease moved on: the writes were not made. */
export class LeaseLostError extends Error {
  constructor(readonly lease: HeldLease) {
    super(`lease ${lease.name} (fencing token ${lease.fencingToken}) is no longer held by ${lease.holder}`);
    this.name = "LeaseLostError";
  }
}

function heldLease(row: LeasesTable): HeldLease {
  return { name: row.name, holder: row.holder, fencingToken: Number(row.fencing_token), expiresAtMs: Number(row.expires_at) };
}

export function createLeasesRepository(db: Kysely<{ leases: LeasesTable }>): LeasesRepository {
  return {
    async acquire(name, holder, nowMs, ttlMs) {
      const expiresAt = nowMs + ttlMs;
      const created = await db
        .insertInto("leases")
        .values({ name, holder, fencing_token: 1, expires_at: expiresAt })
        .onConflict((oc) => oc.column("name").doNothing())
        .returningAll()
        .executeTakeFirst();
      if (created) return heldLease(created);
      // One statement, so two replicas racing for an expired lease cannot both win: the second
      // one's WHERE is evaluated against the first one's committed row.
      const taken = await db
        .updateTable("leases")
        .set((eb) => ({
          holder,
          expires_at: expiresAt,
          fencing_token: eb
            .case()
            .when("holder", "=", holder)
            .then(eb.ref("fencing_token"))
            .else(eb("fencing_token", "+", 1))
            .end(),
        }))
        .where("name", "=", name)
        .where((eb) => eb.or([eb("holder", "=", holder), eb("expires_at", "<=", nowMs)]))
        .returningAll()
        .executeTakeFirst();
      return taken ? heldLease(taken) : undefined;
    },
    async release(lease) {
      // Expired now, token kept: the next holder takes it at once and bumps the token.
      await db
        .updateTable("leases")
        .set({ expires_at: 0 })
        .where("name", "=", lease.name)
        .where("holder", "=", lease.holder)
        .where("fencing_token", "=", lease.fencingToken)
        .execute();
    },
    async get(name) {
      const row = await db.selectFrom("leases").selectAll().where("name", "=", name).executeTakeFirst();
      return row ? heldLease(row) : undefined;
    },
  };
}

/**
 * Inside a transaction: confirms `lease` is still held at its token (row-locked on PostgreSQL, so
 * it cannot change hands before the transaction ends); throws LeaseLostError otherwise.
 */
export async function assertLeaseHeld(tx: Kysely<{ leases: LeasesTable }>, lease: HeldLease, nowMs: number, rowLocks: boolean): Promise<void> {
  let query = tx
    .selectFrom("leases")
    .select("name")
    .where("name", "=", lease.name)
    .where("holder", "=", lease.holder)
    .where("fencing_token", "=", lease.fencingToken)
    .where("expires_at", ">", nowMs);
  if (rowLocks) query = query.forUpdate();
  if (!(await query.executeTakeFirst())) throw new LeaseLostError(lease);
}
