// The fleet: hosts that registered through the agent protocol, their declared capacity, their
// availability zone and architecture, and when they last heartbeat. Callers see `HostRecord`s;
// the rows (and the subnets' JSON column) stay here. Portable Kysely SQL only.
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
  /** sha256 of the agent's host secret: the secret itself is never stored. */
  token_sha256: string;
  agent_version: string;
  /** The subnets this host serves, JSON array of subnet ids. */
  subnets_json: string;
  /** The host's VXLAN underlay address (host-addresses-migration.ts). */
  overlay_address: string | null;
  /** The address its public tasks leave from. */
  public_address: string | null;
}

export interface HostsTables {
  hosts: HostsTable;
}

export type HostArchitecture = "X86_64" | "ARM64";
export type HostStatus = "ACTIVE" | "LOST";

export interface HostCapacity {
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  readonly taskSlots: number;
  readonly ephemeralGiB: number;
}

/** What an agent's (re)registration records. */
export interface HostRegistration {
  readonly hostId: string;
  readonly availabilityZone: string;
  readonly architecture: HostArchitecture;
  readonly capacity: HostCapacity;
  /** sha256 (hex) of the secret issued at this registration; "" for none. */
  readonly secretSha256: string;
  readonly agentVersion: string;
  readonly subnetIds: readonly string[];
  readonly registeredAtMs: number;
  readonly overlayAddress?: string;
  readonly publicAddress?: string;
}

export interface HostRecord extends HostRegistration {
  readonly status: HostStatus;
  readonly lastHeartbeatAtMs: number;
}

export interface HostsRepository {
  /**
   * Creates or refreshes a host's registration (an agent re-registers after every restart): the
   * host is ACTIVE, heartbeat at `registeredAtMs`; a known host keeps its first registration time.
   */
  upsert(registration: HostRegistration): Promise<void>;
  get(hostId: string): Promise<HostRecord | undefined>;
  list(): Promise<HostRecord[]>;
  heartbeat(hostId: string, at: number): Promise<boolean>;
  /** Forgets a host (deregistration); its agent must register again to rejoin. */
  remove(hostId: string): Promise<void>;
  /** Marks ACTIVE hosts silent since before `silentSince` LOST; returns their ids. */
  markLost(silentSince: number): Promise<string[]>;
}

function hostOf(row: Selectable<HostsTable>): HostRecord {
  return {
    hostId: row.host_id,
    availabilityZone: row.availability_zone,
    architecture: row.architecture as HostArchitecture,
    capacity: { cpuUnits: row.cpu_units, memoryMiB: row.memory_mib, taskSlots: row.task_slots, ephemeralGiB: row.ephemeral_gib },
    secretSha256: row.token_sha256,
    agentVersion: row.agent_version,
    subnetIds: JSON.parse(row.subnets_json) as string[],
    ...(row.overlay_address !== null ? { overlayAddress: row.overlay_address } : {}),
    ...(row.public_address !== null ? { publicAddress: row.public_address } : {}),
    registeredAtMs: Number(row.registered_at),
    status: row.status as HostStatus,
    lastHeartbeatAtMs: Number(row.last_heartbeat_at),
  };
}

export function createHostsRepository(db: Kysely<HostsTables>): HostsRepository {
  return {
    async upsert(registration) {
      const refreshed = {
        availability_zone: registration.availabilityZone,
        architecture: registration.architecture,
        cpu_units: registration.capacity.cpuUnits,
        memory_mib: registration.capacity.memoryMiB,
        task_slots: registration.capacity.taskSlots,
        ephemeral_gib: registration.capacity.ephemeralGiB,
        status: "ACTIVE",
        last_heartbeat_at: registration.registeredAtMs,
        token_sha256: registration.secretSha256,
        agent_version: registration.agentVersion,
        subnets_json: JSON.stringify(registration.subnetIds),
        overlay_address: registration.overlayAddress ?? null,
        public_address: registration.publicAddress ?? null,
      };
      await db
        .insertInto("hosts")
        .values({ host_id: registration.hostId, registered_at: registration.registeredAtMs, ...refreshed })
        .onConflict((oc) => oc.column("host_id").doUpdateSet(refreshed))
        .execute();
    },
    async get(hostId) {
      const row = await db.selectFrom("hosts").selectAll().where("host_id", "=", hostId).executeTakeFirst();
      return row ? hostOf(row) : undefined;
    },
    async list() {
      return (await db.selectFrom("hosts").selectAll().orderBy("host_id").execute()).map(hostOf);
    },
    async heartbeat(hostId, at) {
      const result = await db.updateTable("hosts").set({ last_heartbeat_at: at, status: "ACTIVE" }).where("host_id", "=", hostId).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async remove(hostId) {
      await db.deleteFrom("hosts").where("host_id", "=", hostId).execute();
    },
    async markLost(silentSince) {
      // One statement: a heartbeat committed by another replica in the meantime is seen by the
      // update's own condition, so a host that just spoke is never marked LOST.
      const lost = await db
        .updateTable("hosts")
        .set({ status: "LOST" })
        .where("status", "=", "ACTIVE")
        .where("last_heartbeat_at", "<", silentSince)
        .returning("host_id")
        .execute();
      return lost.map((row) => row.host_id).sort();
    },
  };
}
