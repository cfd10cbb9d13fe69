// The reads behind a host's network view (src/control/host-network-view.ts builds the view from
// them): the host's in-use interfaces, their VPCs with subnets, their groups' rules (normalised
// by the security-group repository), the members of every group those rules name, and where the
// other interfaces of those VPCs live. A few small queries per poll answer, each bounded by an IN
// list of ids the previous one produced. Schema: ec2-network-migration.ts, host-addresses-migration.ts.
import type { Kysely } from "kysely";
import type { HostsTables } from "./hosts-repository.js";
import type { NormalisedGroup } from "../core/ec2/security-group-rules.js";
import type { GroupMembers, SecurityGroupsRepositoryTables } from "./security-groups-repository.js";
import { createSecurityGroupsRepository } from "./security-groups-repository.js";
import type { VpcsTables } from "./vpcs-repository.js";

/** The requester of load balancer nodes' interfaces (src/control/load-balancer-nodes.ts). */
const LOAD_BALANCER_REQUESTER_ID = "amazon-elb";

type Tables = HostsTables & SecurityGroupsRepositoryTables & VpcsTables;

export interface HostInterfaceRow {
  readonly eniId: string;
  /** The task the interface is for; absent for a load balancer node's (requester "amazon-elb"). */
  readonly taskArn?: string;
  /** A load balancer node's interface: its description ("ELB app/<name>/<id>"). */
  readonly loadBalancerDescription?: string;
  readonly vpcId: string;
  readonly privateIpv4: string;
  /** In the order the caller gave them. */
  readonly groupIds: readonly string[];
}

export interface VpcRow {
  readonly vpcId: string;
  readonly cidrBlock: string;
  readonly vni: number;
  readonly isDefault: boolean;
  readonly subnets: readonly { readonly subnetId: string; readonly cidrBlock: string }[];
}

export interface HostNetworkRows {
  readonly interfaces: readonly HostInterfaceRow[];
  readonly vpcs: readonly VpcRow[];
  /** The interfaces' groups, their rules in the hosts' normalised form (core/ec2/security-group-rules.ts toSpec). */
  readonly groups: readonly NormalisedGroup[];
  /** Per group named by a rule: its members' addresses (in-use interfaces, any host). */
  readonly members: readonly GroupMembers[];
  /** The VPCs' interfaces on other hosts that have an overlay address. */
  readonly peers: readonly { readonly vpcId: string; readonly privateIpv4: string; readonly hostAddress: string }[];
}

export interface HostNetworkReads {
  rowsForHost(hostId: string): Promise<HostNetworkRows>;
}

/** IN lists are chunked: SQLite allows 32,766 parameters, PostgreSQL 65,535. */
const CHUNK = 1000;

async function chunked<T>(ids: readonly string[], read: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) results.push(...(await read(ids.slice(i, i + CHUNK))));
  return results;
}

type Db = Kysely<Tables>;

async function interfacesOn(db: Db, hostId: string): Promise<HostInterfaceRow[]> {
  const rows = await db
    .selectFrom("network_interfaces")
    .select(["eni_id", "task_arn", "vpc_id", "private_ipv4", "description"])
    .where("host_id", "=", hostId)
    .where("status", "=", "in-use")
    .where((eb) => eb.or([eb("task_arn", "is not", null), eb("requester_id", "=", LOAD_BALANCER_REQUESTER_ID)]))
    .orderBy("eni_id")
    .execute();
  const groups = await chunked(
    rows.map((row) => row.eni_id),
    (ids) =>
      db.selectFrom("network_interface_groups").select(["eni_id", "group_id"]).where("eni_id", "in", ids).orderBy("eni_id").orderBy("position").execute(),
  );
  return rows.map((row) => ({
    eniId: row.eni_id,
    ...(row.task_arn !== null ? { taskArn: row.task_arn } : { loadBalancerDescription: row.description }),
    vpcId: row.vpc_id,
    privateIpv4: row.private_ipv4,
    groupIds: groups.filter((group) => group.eni_id === row.eni_id).map((group) => group.group_id),
  }));
}

async function vpcsOf(db: Db, vpcIds: readonly string[]): Promise<VpcRow[]> {
  const vpcs = await chunked(vpcIds, (ids) =>
    db.selectFrom("vpcs").select(["vpc_id", "cidr_block", "vni", "is_default"]).where("vpc_id", "in", ids).orderBy("vpc_id").execute(),
  );
  const subnets = await chunked(vpcIds, (ids) =>
    db.selectFrom("subnets").select(["subnet_id", "vpc_id", "cidr_block"]).where("vpc_id", "in", ids).orderBy("subnet_id").execute(),
  );
  return vpcs.map((vpc) => ({
    vpcId: vpc.vpc_id,
    cidrBlock: vpc.cidr_block,
    vni: Number(vpc.vni),
    isDefault: Number(vpc.is_default) === 1,
    subnets: subnets.filter((subnet) => subnet.vpc_id === vpc.vpc_id).map((subnet) => ({ subnetId: subnet.subnet_id, cidrBlock: subnet.cidr_block })),
  }));
}

function peersOf(db: Db, hostId: string, vpcIds: readonly string[]) {
  return chunked(vpcIds, async (ids) =>
    (
      await db
        .selectFrom("network_interfaces")
        .innerJoin("hosts", "hosts.host_id", "network_interfaces.host_id")
        .select(["network_interfaces.vpc_id as vpcId", "network_interfaces.private_ipv4 as privateIpv4", "hosts.overlay_address as hostAddress"])
        .where("network_interfaces.vpc_id", "in", ids)
        .where("network_interfaces.host_id", "!=", hostId)
        .where("network_interfaces.status", "=", "in-use")
        .where("hosts.overlay_address", "is not", null)
        .orderBy("network_interfaces.vpc_id")
        .orderBy("network_interfaces.private_ipv4")
        .execute()
    ).map((row) => ({ vpcId: row.vpcId, privateIpv4: row.privateIpv4, hostAddress: row.hostAddress! })),
  );
}

export function createHostNetworkReads(db: Db): HostNetworkReads {
  // The same handle, seen through the tables that repository uses (Kysely's table maps are invariant).
  const securityGroups = createSecurityGroupsRepository(db as unknown as Kysely<SecurityGroupsRepositoryTables>);
  return {
    async rowsForHost(hostId) {
      const interfaces = await interfacesOn(db, hostId);
      const vpcIds = [...new Set(interfaces.map((row) => row.vpcId))];
      const groupIds = [...new Set(interfaces.flatMap((row) => row.groupIds))];
      const groups = await securityGroups.specsFor(groupIds);
      const named = [...new Set(groups.flatMap((group) => [...group.ingress, ...group.egress].flatMap((rule) => rule.groupIds)))];
      const [vpcs, members, peers] = [await vpcsOf(db, vpcIds), await securityGroups.groupMembers(named), await peersOf(db, hostId, vpcIds)];
      return { interfaces, vpcs, groups, members, peers };
    },
  };
}
