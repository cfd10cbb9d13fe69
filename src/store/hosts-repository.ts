// The fleet: hosts that registered through the agent protocol, their declared capacity, their
// availability zone and architecture, and when they last heartbeat. Portable Kysely SQL only.
import type { Kysely, Selectable } from "kysely";

export interface HostsTable {
  host_id: string;
  availability_zone: string;
  architecture: string;
  cpu_units: number;
  memory_mib: number;
  task_slots: number;
  ephemeral_gib: number;
  /** ACTIVE while heartbeating, LOST once the grace period passed without one. */
  status: string;
  registered_at: number;
  last_heartbeat_at: number;
  /** sha256 of the agent's join token: the token itself is never stored. */
  token_sha256: string;
  agent_version: string;
  /** The subnets this host serves, JSON array of subnet ids. */
  subnets_json: string;
}

export interface HostsTables {
  hosts: HostsTable;
}

export type HostRow = Selectable<HostsTable>;

export interface HostsRepository {
  /** Creates or refreshes a host's registration (an agent re-registers after every restart). */
  upsert(host: HostRow): Promise<void>;
  get(hostId: string): Promise<HostRow | undefined>;
  list(): Promise<HostRow[]>;
  heartbeat(hostId: string, at: number): Promise<boolean>;
  /** Forgets a host (deregistration); its agent must register again to rejoin. */
  remove(hostId: string): Promise<void>;
  /** Marks ACTIVE hosts silent since before `silentSince` LOST; returns their ids. */
  markLost(silentSince: number): Promise<string[]>;
}

export function createHostsRepository(db: Kysely<HostsTables>): HostsRepository {
  return {
    async upsert(host) {
      const { host_id: _id, registered_at: _registered, ...refreshed } = host;
      await db
        .insertInto("hosts")
        .values(host)
        .onConflict((oc) => oc.column("host_id").doUpdateSet(refreshed))
        .execute();
    },
    async get(hostId) {
      return db.selectFrom("hosts").selectAll().where("host_id", "=", hostId).executeTakeFirst();
    },
    async list() {
      return db.selectFrom("hosts").selectAll().orderBy("host_id").execute();
    },
    async heartbeat(hostId, at) {
      const result = await db
        .updateTable("hosts")
        .set({ last_heartbeat_at: at, status: "ACTIVE" })
        .where("host_id", "=", hostId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async remove(hostId) {
      await db.deleteFrom("hosts").where("host_id", "=", hostId).execute();
    },
    async markLost(silentSince) {
      return db.transaction().execute(async (tx) => {
        const silent = await tx
          .selectFrom("hosts")
          .select("host_id")
          .where("status", "=", "ACTIVE")
          .where("last_heartbeat_at", "<", silentSince)
          .execute();
        if (silent.length === 0) return [];
        const ids = silent.map((row) => row.host_id);
        await tx.updateTable("hosts").set({ status: "LOST" }).where("host_id", "in", ids).execute();
        return ids;
      });
    },
  };
}
