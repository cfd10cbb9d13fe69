// EC2 security groups and their rules, one row per rule exactly as DescribeSecurityGroupRules
// lists them, and the reads the control plane builds each host's network view from: the groups'
// rules in the normalised form hosts enforce (specsFor) and the addresses of each group's members
// (groupMembers). Validation lives in core/ec2/security-group-rules.ts; callers that check and then
// write (duplicates, quotas, dependencies) do both in one Store.exclusively transaction.
// Schema: ec2-network-migration.ts. Portable Kysely SQL only.
import type { Kysely, Selectable } from "kysely";
import { sql } from "kysely";
import type { NormalisedGroup, RuleProtocol, SecurityGroupRuleFields } from "../core/ec2/security-group-rules.js";
import { toSpec } from "../core/ec2/security-group-rules.js";
import type { NetworkInterfacesTables } from "./network-interfaces-repository.js";
import type { Ec2TagsTable } from "./vpcs-repository.js";

export interface SecurityGroupsTable {
  group_id: string;
  vpc_id: string;
  owner_id: string;
  group_name: string;
  description: string;
  created_at: number;
}

export interface SecurityGroupRulesTable {
  rule_id: string;
  group_id: string;
  /** 0/1 */
  is_egress: number;
  /** '-1' | 'tcp' | 'udp' | 'icmp' */
  ip_protocol: string;
  /** -1 for all ports / any ICMP type, as EC2 reports them. */
  from_port: number;
  to_port: number;
  /** Exactly one of cidr_ipv4 and referenced_group_id is set. */
  cidr_ipv4: string | null;
  referenced_group_id: string | null;
  description: string | null;
  created_at: number;
}

export interface SecurityGroupsTables {
  security_groups: SecurityGroupsTable;
  security_group_rules: SecurityGroupRulesTable;
}

/** The tables this repository reads: its own, the interfaces' memberships and the EC2 tags of its resources. */
export type SecurityGroupsRepositoryTables = SecurityGroupsTables & NetworkInterfacesTables & { ec2_tags: Ec2TagsTable };

export interface SecurityGroupRecord {
  readonly groupId: string;
  readonly vpcId: string;
  readonly ownerId: string;
  readonly groupName: string;
  readonly description: string;
  readonly createdAtMs: number;
}

export interface SecurityGroupRuleRecord extends SecurityGroupRuleFields {
  readonly ruleId: string;
  readonly groupId: string;
  readonly createdAtMs: number;
}

/** The private addresses of a group's in-use interfaces, across the fleet. */
export interface GroupMembers {
  readonly groupId: string;
  readonly vpcId: string;
  readonly ipv4s: readonly string[];
}

export interface SecurityGroupsRepository {
  insertGroup(group: SecurityGroupRecord): Promise<void>;
  /** The groups with these ids that exist (in no particular order). */
  getGroups(groupIds: readonly string[]): Promise<SecurityGroupRecord[]>;
  /** The group of `vpcId` named `groupName`; names are case-insensitive in a VPC, as in EC2. */
  findByName(vpcId: string, groupName: string): Promise<SecurityGroupRecord | undefined>;
  /** Every group (of `vpcId` when given), by group id. */
  listGroups(vpcId?: string): Promise<SecurityGroupRecord[]>;
  countGroups(vpcId: string): Promise<number>;
  /** Removes the group, its rules and the tags of both (tags are written through Repositories.ec2Tags). */
  deleteGroup(groupId: string): Promise<void>;
  insertRules(rules: readonly SecurityGroupRuleRecord[]): Promise<void>;
  /** The rules of these groups (all groups when undefined), oldest first. */
  rulesOf(groupIds?: readonly string[]): Promise<SecurityGroupRuleRecord[]>;
  getRules(ruleIds: readonly string[]): Promise<SecurityGroupRuleRecord[]>;
  deleteRules(ruleIds: readonly string[]): Promise<void>;
  setRuleDescription(ruleId: string, description: string | undefined): Promise<void>;
  /** Replaces a rule's protocol, ports, peer and description (ModifySecurityGroupRules); its id, group and direction stay. */
  updateRule(ruleId: string, fields: Omit<SecurityGroupRuleFields, "isEgress">): Promise<void>;
  /** Rules of other groups that name `groupId` as their source or destination. */
  rulesReferencing(groupId: string): Promise<SecurityGroupRuleRecord[]>;
  /** How many network interfaces are in the group (in use or not). */
  countInterfaces(groupId: string): Promise<number>;
  /** The groups with these ids in the form hosts enforce (unknown ids are skipped), by group id. */
  specsFor(groupIds: readonly string[]): Promise<NormalisedGroup[]>;
  /** The private addresses of the in-use interfaces of each of these groups, by group id. */
  groupMembers(groupIds: readonly string[]): Promise<GroupMembers[]>;
}

function groupOf(row: Selectable<SecurityGroupsTable>): SecurityGroupRecord {
  return {
    groupId: row.group_id,
    vpcId: row.vpc_id,
    ownerId: row.owner_id,
    groupName: row.group_name,
    description: row.description,
    createdAtMs: Number(row.created_at),
  };
}

function ruleOf(row: Selectable<SecurityGroupRulesTable>): SecurityGroupRuleRecord {
  return {
    ruleId: row.rule_id,
    groupId: row.group_id,
    isEgress: row.is_egress === 1,
    ipProtocol: row.ip_protocol as RuleProtocol,
    fromPort: row.from_port,
    toPort: row.to_port,
    cidrIpv4: row.cidr_ipv4 ?? undefined,
    referencedGroupId: row.referenced_group_id ?? undefined,
    description: row.description ?? undefined,
    createdAtMs: Number(row.created_at),
  };
}

/** Bounds the parameters of one IN list (SQLite allows 32,766, PostgreSQL 65,535 per statement). */
const IN_LIST_CHUNK = 500;

async function inChunks<T, R>(values: readonly T[], read: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < values.length; start += IN_LIST_CHUNK) results.push(...(await read(values.slice(start, start + IN_LIST_CHUNK))));
  return results;
}

type Db = Kysely<SecurityGroupsRepositoryTables>;

const rulesReader = (db: Db) => async (groupIds?: readonly string[]) => {
  const query = () => db.selectFrom("security_group_rules").selectAll().orderBy("created_at").orderBy("rule_id");
  const rows = groupIds === undefined ? await query().execute() : await inChunks(groupIds, (chunk) => query().where("group_id", "in", chunk).execute());
  return rows.map(ruleOf).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.ruleId < b.ruleId ? -1 : 1));
};

const groupsReader = (db: Db) => async (groupIds: readonly string[]) =>
  (await inChunks([...new Set(groupIds)], (chunk) => db.selectFrom("security_groups").selectAll().where("group_id", "in", chunk).execute())).map(groupOf);

type GroupMethods = Pick<
  SecurityGroupsRepository,
  "insertGroup" | "getGroups" | "findByName" | "listGroups" | "countGroups" | "deleteGroup" | "countInterfaces"
>;
type RuleMethods = Pick<
  SecurityGroupsRepository,
  "insertRules" | "rulesOf" | "getRules" | "deleteRules" | "setRuleDescription" | "updateRule" | "rulesReferencing"
>;
type ViewMethods = Pick<SecurityGroupsRepository, "specsFor" | "groupMembers">;

export function createSecurityGroupsRepository(db: Db): SecurityGroupsRepository {
  return { ...groupMethods(db), ...ruleMethods(db), ...viewMethods(db) };
}

function groupMethods(db: Db): GroupMethods {
  const getGroups = groupsReader(db);
  return {
    async insertGroup(group) {
      await db
        .insertInto("security_groups")
        .values({
          group_id: group.groupId,
          vpc_id: group.vpcId,
          owner_id: group.ownerId,
          group_name: group.groupName,
          description: group.description,
          created_at: group.createdAtMs,
        })
        .execute();
    },
    getGroups,
    async findByName(vpcId, groupName) {
      const row = await db
        .selectFrom("security_groups")
        .selectAll()
        .where("vpc_id", "=", vpcId)
        .where(sql<string>`lower(group_name)`, "=", groupName.toLowerCase())
        .executeTakeFirst();
      return row ? groupOf(row) : undefined;
    },
    async listGroups(vpcId) {
      let query = db.selectFrom("security_groups").selectAll().orderBy("group_id");
      if (vpcId !== undefined) query = query.where("vpc_id", "=", vpcId);
      return (await query.execute()).map(groupOf);
    },
    async countGroups(vpcId) {
      const row = await db
        .selectFrom("security_groups")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("vpc_id", "=", vpcId)
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },
    async deleteGroup(groupId) {
      const ruleIds = (await db.selectFrom("security_group_rules").select("rule_id").where("group_id", "=", groupId).execute()).map((row) => row.rule_id);
      await inChunks([groupId, ...ruleIds], async (chunk) => [await db.deleteFrom("ec2_tags").where("resource_id", "in", chunk).execute()]);
      await db.deleteFrom("security_group_rules").where("group_id", "=", groupId).execute();
      await db.deleteFrom("security_groups").where("group_id", "=", groupId).execute();
    },
    async countInterfaces(groupId) {
      const row = await db
        .selectFrom("network_interface_groups")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("group_id", "=", groupId)
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },
  };
}

function ruleMethods(db: Db): RuleMethods {
  const rulesOf = rulesReader(db);
  return {
    async insertRules(rules) {
      if (rules.length === 0) return;
      const rows = rules.map((rule) => ({
        rule_id: rule.ruleId,
        group_id: rule.groupId,
        is_egress: rule.isEgress ? 1 : 0,
        ip_protocol: rule.ipProtocol,
        from_port: rule.fromPort,
        to_port: rule.toPort,
        cidr_ipv4: rule.cidrIpv4 ?? null,
        referenced_group_id: rule.referencedGroupId ?? null,
        description: rule.description ?? null,
        created_at: rule.createdAtMs,
      }));
      await inChunks(rows, async (chunk) => [await db.insertInto("security_group_rules").values(chunk).execute()]);
    },
    rulesOf,
    async getRules(ruleIds) {
      return (await inChunks([...new Set(ruleIds)], (chunk) => db.selectFrom("security_group_rules").selectAll().where("rule_id", "in", chunk).execute())).map(
        ruleOf,
      );
    },
    async deleteRules(ruleIds) {
      await inChunks([...ruleIds], async (chunk) => {
        await db.deleteFrom("ec2_tags").where("resource_id", "in", chunk).execute();
        return [await db.deleteFrom("security_group_rules").where("rule_id", "in", chunk).execute()];
      });
    },
    async setRuleDescription(ruleId, description) {
      await db
        .updateTable("security_group_rules")
        .set({ description: description ?? null })
        .where("rule_id", "=", ruleId)
        .execute();
    },
    async updateRule(ruleId, fields) {
      await db
        .updateTable("security_group_rules")
        .set({
          ip_protocol: fields.ipProtocol,
          from_port: fields.fromPort,
          to_port: fields.toPort,
          cidr_ipv4: fields.cidrIpv4 ?? null,
          referenced_group_id: fields.referencedGroupId ?? null,
          description: fields.description ?? null,
        })
        .where("rule_id", "=", ruleId)
        .execute();
    },
    async rulesReferencing(groupId) {
      const rows = await db
        .selectFrom("security_group_rules")
        .selectAll()
        .where("referenced_group_id", "=", groupId)
        .where("group_id", "<>", groupId)
        .execute();
      return rows.map(ruleOf);
    },
  };
}

function viewMethods(db: Db): ViewMethods {
  const getGroups = groupsReader(db);
  const rulesOf = rulesReader(db);
  return {
    async specsFor(groupIds) {
      const groups = (await getGroups(groupIds)).sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
      const rulesByGroup = new Map<string, SecurityGroupRuleRecord[]>();
      for (const rule of await rulesOf(groups.map((group) => group.groupId))) rulesByGroup.set(rule.groupId, [...(rulesByGroup.get(rule.groupId) ?? []), rule]);
      return groups.map((group) => toSpec(group, rulesByGroup.get(group.groupId) ?? []));
    },
    async groupMembers(groupIds) {
      const groups = (await getGroups(groupIds)).sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
      const rows = await inChunks(
        groups.map((group) => group.groupId),
        (chunk) =>
          db
            .selectFrom("network_interface_groups")
            .innerJoin("network_interfaces", "network_interfaces.eni_id", "network_interface_groups.eni_id")
            .select(["network_interface_groups.group_id as group_id", "network_interfaces.private_ipv4 as ipv4"])
            .where("network_interface_groups.group_id", "in", chunk)
            .where("network_interfaces.status", "=", "in-use")
            .execute(),
      );
      const addresses = new Map<string, Set<string>>();
      for (const row of rows) addresses.set(row.group_id, (addresses.get(row.group_id) ?? new Set()).add(row.ipv4));
      return groups.map((group) => ({ groupId: group.groupId, vpcId: group.vpcId, ipv4s: [...(addresses.get(group.groupId) ?? [])].sort() }));
    },
  };
}
