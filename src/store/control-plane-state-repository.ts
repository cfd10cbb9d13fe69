// Control-plane state that is not rows of an aggregate: the account id, the check value of the key
// that seals the store's secrets, the registry's token key, the root access key and the bootstrap
// join token. Several replicas start at once against one store, and each must end up with the same
// value: a value is created with INSERT … ON CONFLICT DO NOTHING and read back, so whichever
// replica's insert lands first is the value every replica uses. A value that must change (the
// bootstrap join token, once expired) changes by compare-and-set, with the same outcome.
//
// Secret values arrive sealed (the caller holds the key); this table never sees a plaintext secret.
import type { Kysely } from "kysely";
import { sql } from "kysely";

export interface ControlPlaneStateTable {
  name: string;
  value: string;
  updated_at: number;
}

/** The values kept here; each is documented where it is made (src/cli/shared-control-plane-state.ts). */
export type ControlPlaneValueName =
  | "account-id"
  | "store-key-check"
  | "registry-token-key"
  | "root-access-key"
  | "bootstrap-join-token"
  // The default VPC's id, once it was seeded: a default VPC the user deleted stays deleted (as in AWS).
  | "default-vpc"
  // A counter bumped (increment) with every change hosts must enforce: an interface's groups, a group's rules.
  | "network-generation";

export interface ControlPlaneStateRepository {
  get(name: ControlPlaneValueName): Promise<string | undefined>;
  /**
   * Stores `initial` unless `name` already has a value, and returns the value stored now: `initial`
   * with `created` when this call made it, else the one another replica (or an earlier start) made.
   */
  createOnce(name: ControlPlaneValueName, initial: string, now: number): Promise<{ readonly value: string; readonly created: boolean }>;
  /** Sets `next` only while the value is still `expected` (compare-and-set); false when it was not. */
  replace(name: ControlPlaneValueName, expected: string, next: string, now: number): Promise<boolean>;
  /** Adds one to a counter (starting from 0) in one statement, and returns its new value. */
  increment(name: "network-generation", now: number): Promise<number>;
}

export function createControlPlaneStateRepository(db: Kysely<{ control_plane_state: ControlPlaneStateTable }>): ControlPlaneStateRepository {
  const get = async (name: ControlPlaneValueName) =>
    (await db.selectFrom("control_plane_state").select("value").where("name", "=", name).executeTakeFirst())?.value;
  return {
    get,
    async createOnce(name, initial, now) {
      const inserted = await db
        .insertInto("control_plane_state")
        .values({ name, value: initial, updated_at: now })
        .onConflict((oc) => oc.column("name").doNothing())
        .returning("value")
        .executeTakeFirst();
      if (inserted) return { value: inserted.value, created: true };
      // The conflicting row is committed (the insert waited for it): this read sees it.
      const value = await get(name);
      if (value === undefined) throw new Error(`control-plane value ${name} vanished while it was being created`);
      return { value, created: false };
    },
    async replace(name, expected, next, now) {
      const updated = await db
        .updateTable("control_plane_state")
        .set({ value: next, updated_at: now })
        .where("name", "=", name)
        .where("value", "=", expected)
        .returning("name")
        .executeTakeFirst();
      return updated !== undefined;
    },
    async increment(name, now) {
      // One upsert: two transactions bumping at once serialise on the row, neither bump is lost.
      const row = await db
        .insertInto("control_plane_state")
        .values({ name, value: "1", updated_at: now })
        .onConflict((oc) => oc.column("name").doUpdateSet({ value: sql<string>`CAST(CAST(control_plane_state.value AS bigint) + 1 AS text)`, updated_at: now }))
        .returning("value")
        .executeTakeFirstOrThrow();
      return Number(row.value);
    },
  };
}
