// EC2 VPCs and their subnets. A VPC is created with its "default" security group (AWS makes one
// with every VPC) and deleted with it; deleting one refuses while anything else is in it. The
// ec2_tags table (the tags of every EC2 resource: vpc, subnet, sg, sgr, eni) is typed here and
// read and written by ec2-tags-repository.ts. Rows and column encodings stay here; callers see
// records.
// Schema: ec2-network-migration.ts.
import type { Kysely, Selectable } from "kysely";
import type { NetworkInterfacesTables } from "./network-interfaces-repository.js";
import type { SecurityGroupsTables } from "./security-groups-repository.js";

export interface VpcsTable {
  vpc_id: string;
  owner_id: string;
  cidr_block: string;
  /** 0/1 */
  is_default: number;
  state: string;
  /** VXLAN network identifier, 1..16777215, unique. */
  vni: number;
  instance_tenancy: string;
  created_at: number;
}

export interface SubnetsTable {
  subnet_id: string;
  vpc_id: string;
  owner_id: string;
  cidr_block: string;
  availability_zone: string;
  /** 0/1 */
  default_for_az: number;
  /** 0/1 */
  map_public_ip_on_launch: number;
  state: string;
  created_at: number;
  /** The address the subnet's last interface got (network-interfaces-repository.ts: next-fit). */
  last_allocated_ipv4?: string | null;
}

export interface Ec2TagsTable {
  resource_id: string;
  key: string;
  value: string;
}

export interface VpcsTables {
  vpcs: VpcsTable;
  subnets: SubnetsTable;
  ec2_tags: Ec2TagsTable;
}

export interface VpcRecord {
  readonly vpcId: string;
  readonly ownerId: string;
  readonly cidrBlock: string;
  readonly isDefault: boolean;
  readonly state: string;
  readonly vni: number;
  readonly instanceTenancy: string;
  readonly createdAtMs: number;
}

export interface SubnetRecord {
  readonly subnetId: string;
  readonly vpcId: string;
  readonly ownerId: string;
  readonly cidrBlock: string;
  readonly availabilityZone: string;
  readonly defaultForAz: boolean;
  readonly mapPublicIpOnLaunch: boolean;
  readonly state: string;
  readonly createdAtMs: number;
}

/** A VPC to create (its VNI is allocated by the store), with the "default" security group every VPC gets. */
export interface NewVpc {
  readonly vpcId: string;
  readonly ownerId: string;
  readonly cidrBlock: string;
  readonly isDefault: boolean;
  readonly createdAtMs: number;
  readonly defaultGroup: {
    readonly groupId: string;
    readonly description: string;
    /** The ids of its two default rules: all from the group itself (ingress), all to 0.0.0.0/0 (egress). */
    readonly ingressRuleId: string;
    readonly egressRuleId: string;
  };
}

export type NewSubnet = Omit<SubnetRecord, "state">;

/** Why a VPC or subnet was not deleted. */
export type DeleteOutcome = "deleted" | "missing" | "has-dependencies";

/** The largest VXLAN network identifier (24 bits); 0 is not used. */
export const MAX_VNI = 16_777_215;

export interface VpcsRepository {
  /** VPCs by id order; only those of `vpcIds` when given. */
  listVpcs(vpcIds?: readonly string[]): Promise<VpcRecord[]>;
  getVpc(vpcId: string): Promise<VpcRecord | undefined>;
  /**
   * Creates the VPC, its default security group and that group's two rules, with the smallest
   * unused VNI. Idempotent by id (ON CONFLICT DO NOTHING): false when the VPC existed already.
   * Callers serialise creations (Store.exclusively("network")) so two never pick one VNI; the
   * unique index refuses the second if they do not.
   */
  createVpc(vpc: NewVpc): Promise<boolean>;
  /** Deletes a VPC with no subnet, no group but its default one and no interface (with its tags). */
  deleteVpc(vpcId: string): Promise<DeleteOutcome>;
  /** Subnets by id order; only those of `subnetIds` when given. */
  listSubnets(subnetIds?: readonly string[]): Promise<SubnetRecord[]>;
  getSubnet(subnetId: string): Promise<SubnetRecord | undefined>;
  /** Idempotent by id: false when it existed already. */
  createSubnet(subnet: NewSubnet): Promise<boolean>;
  /** Deletes a subnet no interface is in (with its tags). */
  deleteSubnet(subnetId: string): Promise<DeleteOutcome>;
  /** Sets MapPublicIpOnLaunch; false when there is no such subnet. */
  setMapPublicIpOnLaunch(subnetId: string, enabled: boolean): Promise<boolean>;
  /** How many interfaces each subnet holds (subnets without any are absent). */
  interfaceCounts(): Promise<Map<string, number>>;
}

function vpcOf(row: Selectable<VpcsTable>): VpcRecord {
  return {
    vpcId: row.vpc_id,
    ownerId: row.owner_id,
    cidrBlock: row.cidr_block,
    isDefault: row.is_default === 1,
    state: row.state,
    vni: Number(row.vni),
    instanceTenancy: row.instance_tenancy,
    createdAtMs: Number(row.created_at),
  };
}

function subnetOf(row: Selectable<SubnetsTable>): SubnetRecord {
  return {
    subnetId: row.subnet_id,
    vpcId: row.vpc_id,
    ownerId: row.owner_id,
    cidrBlock: row.cidr_block,
    availabilityZone: row.availability_zone,
    defaultForAz: row.default_for_az === 1,
    mapPublicIpOnLaunch: row.map_public_ip_on_launch === 1,
    state: row.state,
    createdAtMs: Number(row.created_at),
  };
}

type Db = Kysely<VpcsTables & SecurityGroupsTables & NetworkInterfacesTables>;

/** The smallest VNI no VPC uses (1 when there is none). */
async function smallestFreeVni(db: Db): Promise<number> {
  const used = await db.selectFrom("vpcs").select("vni").orderBy("vni").execute();
  let candidate = 1;
  for (const { vni } of used) {
    if (Number(vni) > candidate) break;
    if (Number(vni) === candidate) candidate++;
  }
  if (candidate > MAX_VNI) throw new Error("every VXLAN network identifier is in use");
  return candidate;
}

async function insertDefaultGroup(db: Db, vpc: NewVpc): Promise<void> {
  const group = vpc.defaultGroup;
  const inserted = await db
    .insertInto("security_groups")
    .values({
      group_id: group.groupId,
      vpc_id: vpc.vpcId,
      owner_id: vpc.ownerId,
      group_name: "default",
      description: group.description,
      created_at: vpc.createdAtMs,
    })
    .onConflict((oc) => oc.doNothing())
    .returning("group_id")
    .executeTakeFirst();
  if (!inserted) return;
  // AWS's default group: inbound all from members of itself, outbound all to anywhere
  // (https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html).
  const common = { group_id: group.groupId, ip_protocol: "-1", from_port: -1, to_port: -1, description: null, created_at: vpc.createdAtMs };
  await db
    .insertInto("security_group_rules")
    .values([
      { ...common, rule_id: group.ingressRuleId, is_egress: 0, cidr_ipv4: null, referenced_group_id: group.groupId },
      { ...common, rule_id: group.egressRuleId, is_egress: 1, cidr_ipv4: "0.0.0.0/0", referenced_group_id: null },
    ])
    .onConflict((oc) => oc.doNothing())
    .execute();
}

async function deleteTagsOf(db: Db, resourceIds: readonly string[]): Promise<void> {
  if (resourceIds.length > 0) await db.deleteFrom("ec2_tags").where("resource_id", "in", resourceIds).execute();
}

async function deleteVpc(db: Db, vpcId: string): Promise<DeleteOutcome> {
  const vpc = await db.selectFrom("vpcs").select("vpc_id").where("vpc_id", "=", vpcId).executeTakeFirst();
  if (!vpc) return "missing";
  const subnet = await db.selectFrom("subnets").select("subnet_id").where("vpc_id", "=", vpcId).limit(1).executeTakeFirst();
  const eni = await db.selectFrom("network_interfaces").select("eni_id").where("vpc_id", "=", vpcId).limit(1).executeTakeFirst();
  const groups = await db.selectFrom("security_groups").select(["group_id", "group_name"]).where("vpc_id", "=", vpcId).execute();
  if (subnet || eni || groups.some((group) => group.group_name !== "default")) return "has-dependencies";
  const groupIds = groups.map((group) => group.group_id);
  if (groupIds.length > 0) {
    const rules = await db.selectFrom("security_group_rules").select("rule_id").where("group_id", "in", groupIds).execute();
    await deleteTagsOf(
      db,
      rules.map((rule) => rule.rule_id),
    );
    await db.deleteFrom("security_group_rules").where("group_id", "in", groupIds).execute();
    await db.deleteFrom("security_groups").where("group_id", "in", groupIds).execute();
  }
  await deleteTagsOf(db, [...groupIds, vpcId]);
  await db.deleteFrom("vpcs").where("vpc_id", "=", vpcId).execute();
  return "deleted";
}

type SubnetMethods = Pick<VpcsRepository, "listSubnets" | "getSubnet" | "createSubnet" | "deleteSubnet" | "setMapPublicIpOnLaunch">;

function subnetMethods(db: Db): SubnetMethods {
  return {
    async listSubnets(subnetIds) {
      if (subnetIds?.length === 0) return [];
      let query = db.selectFrom("subnets").selectAll().orderBy("subnet_id");
      if (subnetIds) query = query.where("subnet_id", "in", subnetIds);
      return (await query.execute()).map(subnetOf);
    },
    async getSubnet(subnetId) {
      const row = await db.selectFrom("subnets").selectAll().where("subnet_id", "=", subnetId).executeTakeFirst();
      return row && subnetOf(row);
    },
    async createSubnet(subnet) {
      const inserted = await db
        .insertInto("subnets")
        .values({
          subnet_id: subnet.subnetId,
          vpc_id: subnet.vpcId,
          owner_id: subnet.ownerId,
          cidr_block: subnet.cidrBlock,
          availability_zone: subnet.availabilityZone,
          default_for_az: subnet.defaultForAz ? 1 : 0,
          map_public_ip_on_launch: subnet.mapPublicIpOnLaunch ? 1 : 0,
          state: "available",
          created_at: subnet.createdAtMs,
        })
        .onConflict((oc) => oc.column("subnet_id").doNothing())
        .returning("subnet_id")
        .executeTakeFirst();
      return inserted !== undefined;
    },
    async deleteSubnet(subnetId) {
      const subnet = await db.selectFrom("subnets").select("subnet_id").where("subnet_id", "=", subnetId).executeTakeFirst();
      if (!subnet) return "missing";
      const eni = await db.selectFrom("network_interfaces").select("eni_id").where("subnet_id", "=", subnetId).limit(1).executeTakeFirst();
      if (eni) return "has-dependencies";
      await deleteTagsOf(db, [subnetId]);
      await db.deleteFrom("subnets").where("subnet_id", "=", subnetId).execute();
      return "deleted";
    },
    async setMapPublicIpOnLaunch(subnetId, enabled) {
      const updated = await db
        .updateTable("subnets")
        .set({ map_public_ip_on_launch: enabled ? 1 : 0 })
        .where("subnet_id", "=", subnetId)
        .returning("subnet_id")
        .executeTakeFirst();
      return updated !== undefined;
    },
  };
}

export function createVpcsRepository(db: Db): VpcsRepository {
  return {
    async listVpcs(vpcIds) {
      if (vpcIds?.length === 0) return [];
      let query = db.selectFrom("vpcs").selectAll().orderBy("vpc_id");
      if (vpcIds) query = query.where("vpc_id", "in", vpcIds);
      return (await query.execute()).map(vpcOf);
    },
    async getVpc(vpcId) {
      const row = await db.selectFrom("vpcs").selectAll().where("vpc_id", "=", vpcId).executeTakeFirst();
      return row && vpcOf(row);
    },
    async createVpc(vpc) {
      const inserted = await db
        .insertInto("vpcs")
        .values({
          vpc_id: vpc.vpcId,
          owner_id: vpc.ownerId,
          cidr_block: vpc.cidrBlock,
          is_default: vpc.isDefault ? 1 : 0,
          state: "available",
          vni: await smallestFreeVni(db),
          instance_tenancy: "default",
          created_at: vpc.createdAtMs,
        })
        .onConflict((oc) => oc.column("vpc_id").doNothing())
        .returning("vpc_id")
        .executeTakeFirst();
      if (!inserted) return false;
      await insertDefaultGroup(db, vpc);
      return true;
    },
    deleteVpc: (vpcId) => deleteVpc(db, vpcId),
    ...subnetMethods(db),
    async interfaceCounts() {
      const rows = await db
        .selectFrom("network_interfaces")
        .select((eb) => ["subnet_id", eb.fn.countAll<number>().as("count")])
        .groupBy("subnet_id")
        .execute();
      return new Map(rows.map((row) => [row.subnet_id, Number(row.count)]));
    },
  };
}
