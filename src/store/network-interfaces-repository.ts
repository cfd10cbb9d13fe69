// Elastic network interfaces (a task's ENI) and their security groups. An interface is allocated
// the lowest free address of its subnet, AWS's reserved addresses excluded
// (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html), and released with its
// groups and tags. Schema: ec2-network-migration.ts. Portable Kysely SQL only.
import { randomBytes } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import { formatIpv4, parseCidr, parseIpv4, usableRange } from "../core/ec2/cidr.js";
import { newEc2Id } from "../core/ec2/ec2-ids.js";
import { AwsError } from "../core/errors.js";
import type { Ec2TagsTable, SubnetsTable } from "./vpcs-repository.js";

export interface NetworkInterfacesTable {
  eni_id: string;
  vpc_id: string;
  subnet_id: string;
  availability_zone: string;
  owner_id: string;
  private_ipv4: string;
  mac_address: string;
  description: string;
  interface_type: string;
  /** 'in-use' | 'available' */
  status: string;
  requester_id: string;
  /** 0/1 */
  requester_managed: number;
  attachment_id: string;
  task_arn: string | null;
  host_id: string | null;
  public_ipv4: string | null;
  created_at: number;
}

export interface NetworkInterfaceGroupsTable {
  eni_id: string;
  group_id: string;
  /** The group's place in the ENI's list (0-based), as the caller gave them. */
  position: number;
}

export interface NetworkInterfacesTables {
  network_interfaces: NetworkInterfacesTable;
  network_interface_groups: NetworkInterfaceGroupsTable;
}

export interface NetworkInterfaceRecord {
  readonly eniId: string;
  readonly vpcId: string;
  readonly subnetId: string;
  readonly availabilityZone: string;
  readonly ownerId: string;
  readonly privateIpv4: string;
  readonly macAddress: string;
  readonly description: string;
  readonly interfaceType: string;
  readonly status: "in-use" | "available";
  readonly requesterId: string;
  readonly requesterManaged: boolean;
  readonly attachmentId: string;
  readonly taskArn: string | undefined;
  readonly hostId: string | undefined;
  readonly publicIpv4: string | undefined;
  readonly createdAtMs: number;
  /** In the order they were given. */
  readonly groupIds: readonly string[];
}

/** What allocate() needs: the subnet (with its VPC and zone) and what the interface is for. */
export interface InterfaceRequest {
  readonly subnet: { readonly subnetId: string; readonly vpcId: string; readonly cidrBlock: string; readonly availabilityZone: string };
  readonly ownerId: string;
  readonly groupIds: readonly string[];
  readonly description: string;
  /** Who made it: ECS makes a task's interface (AWS: requesterId of the ECS service, requesterManaged true). */
  readonly requesterId: string;
  readonly requesterManaged: boolean;
  readonly taskArn?: string | undefined;
  readonly hostId?: string | undefined;
  readonly publicIpv4?: string | undefined;
  readonly createdAtMs: number;
}

export interface NetworkInterfacesRepository {
  /** Interfaces by id order (only those of `eniIds` when given), each with its groups. */
  list(eniIds?: readonly string[]): Promise<NetworkInterfaceRecord[]>;
  get(eniId: string): Promise<NetworkInterfaceRecord | undefined>;
  /** The interfaces of a task (one for awsvpc), with their groups. */
  listByTask(taskArn: string): Promise<NetworkInterfaceRecord[]>;
  /** The interfaces a service made (requesterId: "amazon-elb" for load balancer nodes), on one host when given. */
  listByRequester(requesterId: string, hostId?: string): Promise<NetworkInterfaceRecord[]>;
  /**
   * Creates an in-use interface at the lowest free address of the subnet (AWS's five reserved
   * addresses excluded). Throws InsufficientFreeAddressesInSubnet when the subnet is full. Callers
   * serialise allocations (Store.exclusively); the UNIQUE (subnet_id, private_ipv4) index refuses
   * a second interface at one address if they do not.
   */
  allocate(request: InterfaceRequest): Promise<NetworkInterfaceRecord>;
  /** Replaces the interface's groups (in this order); false when there is no such interface. */
  setGroups(eniId: string, groupIds: readonly string[]): Promise<boolean>;
  /** Records the host an interface's task was placed on. */
  setHost(eniId: string, hostId: string | undefined): Promise<void>;
  /** Deletes the interface with its groups and tags (idempotent). */
  release(eniId: string): Promise<void>;
}

function interfaceOf(row: Selectable<NetworkInterfacesTable>, groupIds: readonly string[]): NetworkInterfaceRecord {
  return {
    eniId: row.eni_id,
    vpcId: row.vpc_id,
    subnetId: row.subnet_id,
    availabilityZone: row.availability_zone,
    ownerId: row.owner_id,
    privateIpv4: row.private_ipv4,
    macAddress: row.mac_address,
    description: row.description,
    interfaceType: row.interface_type,
    status: row.status === "available" ? "available" : "in-use",
    requesterId: row.requester_id,
    requesterManaged: row.requester_managed === 1,
    attachmentId: row.attachment_id,
    taskArn: row.task_arn ?? undefined,
    hostId: row.host_id ?? undefined,
    publicIpv4: row.public_ipv4 ?? undefined,
    createdAtMs: Number(row.created_at),
    groupIds,
  };
}

type Db = Kysely<NetworkInterfacesTables & { ec2_tags: Ec2TagsTable } & { subnets: SubnetsTable }>;

/** IN lists stay far below both backends' bound on parameters per statement. */
const CHUNK = 500;

async function withGroups(db: Db, rows: Selectable<NetworkInterfacesTable>[]): Promise<NetworkInterfaceRecord[]> {
  const groups = new Map<string, string[]>();
  for (let start = 0; start < rows.length; start += CHUNK) {
    const ids = rows.slice(start, start + CHUNK).map((row) => row.eni_id);
    const members = await db.selectFrom("network_interface_groups").selectAll().where("eni_id", "in", ids).orderBy("eni_id").orderBy("position").execute();
    for (const member of members) groups.set(member.eni_id, [...(groups.get(member.eni_id) ?? []), member.group_id]);
  }
  return rows.map((row) => interfaceOf(row, groups.get(row.eni_id) ?? []));
}

/** A subnet's taken addresses and allocation cursor as one transaction read them and has moved them since. */
interface SubnetAllocations {
  readonly used: Set<number>;
  after: number | undefined;
}

/**
 * The subnet's next free address after the one its last interface got (next-fit, wrapping round
 * to the lowest), outside AWS's reserved ones. Not the lowest free one: an address just released
 * may still sit in other hosts' views (a group's members, a peer) and in their routers' connection
 * tracking until they have heard of the release, and the next task must not inherit that.
 * `known` (a transaction's, see createNetworkInterfacesRepository) spares reading the subnet's
 * addresses again for each interface of one placement: that read grows with the subnet's tasks.
 */
async function nextFreeAddress(db: Db, subnetId: string, cidrBlock: string, known?: Map<string, SubnetAllocations>): Promise<string> {
  const cidr = parseCidr(cidrBlock);
  if (!cidr) throw new Error(`subnet ${subnetId} has an invalid CIDR ${cidrBlock}`);
  let state: SubnetAllocations | undefined = known?.get(subnetId);
  if (!state) {
    const taken = await db.selectFrom("network_interfaces").select("private_ipv4").where("subnet_id", "=", subnetId).execute();
    const cursor = await db.selectFrom("subnets").select("last_allocated_ipv4").where("subnet_id", "=", subnetId).executeTakeFirst();
    state = {
      used: new Set(taken.flatMap((row) => parseIpv4(row.private_ipv4) ?? [])),
      after: cursor?.last_allocated_ipv4 ? parseIpv4(cursor.last_allocated_ipv4) : undefined,
    };
    known?.set(subnetId, state);
  }
  const { first, last } = usableRange(cidr);
  const { used, after } = state;
  const start = after !== undefined && after >= first && after < last ? after + 1 : first;
  const size = last - first + 1;
  for (let step = 0; step < size; step++) {
    const address = first + ((start - first + step) % size);
    if (used.has(address)) continue;
    const chosen = formatIpv4(address);
    await db.updateTable("subnets").set({ last_allocated_ipv4: chosen }).where("subnet_id", "=", subnetId).execute();
    used.add(address);
    state.after = address;
    return chosen;
  }
  // AWS's message for a full subnet (RunInstances, CreateNetworkInterface).
  throw new AwsError(
    "InsufficientFreeAddressesInSubnet",
    `There are not enough free addresses in subnet '${subnetId}' to satisfy the requested number of instances.`,
  );
}

/** A locally administered unicast MAC (02:…), as random as the interface id. */
function newMacAddress(): string {
  return ["02", ...randomBytes(5)].map((octet) => (typeof octet === "string" ? octet : octet.toString(16).padStart(2, "0"))).join(":");
}

async function insertGroups(db: Db, eniId: string, groupIds: readonly string[]): Promise<void> {
  if (groupIds.length === 0) return;
  await db
    .insertInto("network_interface_groups")
    .values(groupIds.map((groupId, position) => ({ eni_id: eniId, group_id: groupId, position })))
    .execute();
}

export function createNetworkInterfacesRepository(db: Db): NetworkInterfacesRepository {
  // In a transaction (each gets repositories of its own; a placement allocates up to ten
  // interfaces under the "network" lock) a subnet's addresses are read once and then kept by its
  // allocations. An interface released in it, here or by a task's stop, may stay counted as taken
  // until the transaction ends: never one address twice. Outside a transaction each allocation
  // reads them afresh (another writer may have allocated in between).
  const allocations = db.isTransaction ? new Map<string, SubnetAllocations>() : undefined;
  const list = async (eniIds?: readonly string[]) => {
    if (eniIds?.length === 0) return [];
    let query = db.selectFrom("network_interfaces").selectAll().orderBy("eni_id");
    if (eniIds) query = query.where("eni_id", "in", eniIds);
    return withGroups(db, await query.execute());
  };
  return {
    list,
    get: async (eniId) => (await list([eniId]))[0],
    listByTask: async (taskArn) =>
      withGroups(db, await db.selectFrom("network_interfaces").selectAll().where("task_arn", "=", taskArn).orderBy("eni_id").execute()),
    async listByRequester(requesterId, hostId) {
      let query = db.selectFrom("network_interfaces").selectAll().where("requester_id", "=", requesterId);
      if (hostId !== undefined) query = query.where("host_id", "=", hostId);
      return withGroups(db, await query.orderBy("eni_id").execute());
    },
    async allocate(request) {
      const { subnet } = request;
      const row = {
        eni_id: newEc2Id("eni"),
        vpc_id: subnet.vpcId,
        subnet_id: subnet.subnetId,
        availability_zone: subnet.availabilityZone,
        owner_id: request.ownerId,
        private_ipv4: await nextFreeAddress(db, subnet.subnetId, subnet.cidrBlock, allocations),
        mac_address: newMacAddress(),
        description: request.description,
        interface_type: "interface",
        status: "in-use",
        requester_id: request.requesterId,
        requester_managed: request.requesterManaged ? 1 : 0,
        attachment_id: `eni-attach-${randomBytes(9).toString("hex").slice(0, 17)}`,
        task_arn: request.taskArn ?? null,
        host_id: request.hostId ?? null,
        public_ipv4: request.publicIpv4 ?? null,
        created_at: request.createdAtMs,
      };
      await db.insertInto("network_interfaces").values(row).execute();
      await insertGroups(db, row.eni_id, request.groupIds);
      return interfaceOf(row, [...request.groupIds]);
    },
    async setGroups(eniId, groupIds) {
      const exists = await db.selectFrom("network_interfaces").select("eni_id").where("eni_id", "=", eniId).executeTakeFirst();
      if (!exists) return false;
      await db.deleteFrom("network_interface_groups").where("eni_id", "=", eniId).execute();
      await insertGroups(db, eniId, groupIds);
      return true;
    },
    async setHost(eniId, hostId) {
      await db
        .updateTable("network_interfaces")
        .set({ host_id: hostId ?? null })
        .where("eni_id", "=", eniId)
        .execute();
    },
    async release(eniId) {
      await db.deleteFrom("network_interface_groups").where("eni_id", "=", eniId).execute();
      await db.deleteFrom("ec2_tags").where("resource_id", "=", eniId).execute();
      await db.deleteFrom("network_interfaces").where("eni_id", "=", eniId).execute();
    },
  };
}
