// Schema of the EC2 network model (VPC subset): VPCs with their VXLAN id, subnets, security groups
// and their rules, elastic network interfaces and their groups, and EC2 tags. The table design is
// shared by the VPC, security-group and task-launch code: vpcs-repository.ts (vpcs, subnets,
// tags), security-groups-repository.ts (groups, rules), network-interfaces-repository.ts (ENIs).
// Portable across SQLite and PostgreSQL: ids are AWS-shaped text, booleans INTEGER 0/1 (as
// ecr_repositories.scan_on_push), times bigint milliseconds.
import type { Kysely, Migration } from "kysely";

async function createVpcTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("vpcs")
    .addColumn("vpc_id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("owner_id", "varchar(12)", (c) => c.notNull())
    .addColumn("cidr_block", "varchar(18)", (c) => c.notNull())
    .addColumn("is_default", "integer", (c) => c.notNull())
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    // The VPC's VXLAN network identifier (1..16777215): its routing domain across hosts.
    .addColumn("vni", "integer", (c) => c.notNull().unique())
    .addColumn("instance_tenancy", "varchar(16)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("subnets")
    .addColumn("subnet_id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("vpc_id", "varchar(32)", (c) => c.notNull())
    .addColumn("owner_id", "varchar(12)", (c) => c.notNull())
    .addColumn("cidr_block", "varchar(18)", (c) => c.notNull())
    .addColumn("availability_zone", "varchar(64)", (c) => c.notNull())
    .addColumn("default_for_az", "integer", (c) => c.notNull())
    .addColumn("map_public_ip_on_launch", "integer", (c) => c.notNull())
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    // The address the subnet's last interface got: the next one is looked for after it (next-fit).
    .addColumn("last_allocated_ipv4", "varchar(15)")
    .execute();
  await db.schema.createIndex("subnets_vpc").on("subnets").column("vpc_id").execute();
}

async function createSecurityGroupTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("security_groups")
    .addColumn("group_id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("vpc_id", "varchar(32)", (c) => c.notNull())
    .addColumn("owner_id", "varchar(12)", (c) => c.notNull())
    .addColumn("group_name", "varchar(255)", (c) => c.notNull())
    .addColumn("description", "varchar(255)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("security_groups_vpc_name", ["vpc_id", "group_name"])
    .execute();
  await db.schema
    .createTable("security_group_rules")
    .addColumn("rule_id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("group_id", "varchar(32)", (c) => c.notNull())
    .addColumn("is_egress", "integer", (c) => c.notNull())
    // '-1' (all), 'tcp', 'udp' or 'icmp'.
    .addColumn("ip_protocol", "varchar(8)", (c) => c.notNull())
    // -1 for all ports / any ICMP type, as EC2 reports them.
    .addColumn("from_port", "integer", (c) => c.notNull())
    .addColumn("to_port", "integer", (c) => c.notNull())
    // Exactly one of the two sources is set.
    .addColumn("cidr_ipv4", "varchar(18)")
    .addColumn("referenced_group_id", "varchar(32)")
    .addColumn("description", "varchar(255)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("security_group_rules_group").on("security_group_rules").column("group_id").execute();
  await db.schema.createIndex("security_group_rules_referenced").on("security_group_rules").column("referenced_group_id").execute();
}

async function createNetworkInterfaceTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("network_interfaces")
    .addColumn("eni_id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("vpc_id", "varchar(32)", (c) => c.notNull())
    .addColumn("subnet_id", "varchar(32)", (c) => c.notNull())
    .addColumn("availability_zone", "varchar(64)", (c) => c.notNull())
    .addColumn("owner_id", "varchar(12)", (c) => c.notNull())
    .addColumn("private_ipv4", "varchar(15)", (c) => c.notNull())
    .addColumn("mac_address", "varchar(17)", (c) => c.notNull())
    .addColumn("description", "varchar(255)", (c) => c.notNull())
    .addColumn("interface_type", "varchar(32)", (c) => c.notNull())
    // 'in-use' | 'available'
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .addColumn("requester_id", "varchar(64)", (c) => c.notNull())
    .addColumn("requester_managed", "integer", (c) => c.notNull())
    .addColumn("attachment_id", "varchar(32)", (c) => c.notNull())
    .addColumn("task_arn", "varchar(1024)")
    .addColumn("host_id", "varchar(128)")
    .addColumn("public_ipv4", "varchar(15)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    // Two interfaces of one subnet never share an address: the allocation's race is settled here.
    .addUniqueConstraint("network_interfaces_subnet_address", ["subnet_id", "private_ipv4"])
    .execute();
  await db.schema.createIndex("network_interfaces_task").on("network_interfaces").column("task_arn").execute();
  await db.schema
    .createTable("network_interface_groups")
    .addColumn("eni_id", "varchar(32)", (c) => c.notNull())
    .addColumn("group_id", "varchar(32)", (c) => c.notNull())
    .addColumn("position", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("network_interface_groups_pk", ["eni_id", "group_id"])
    .execute();
  await db.schema.createIndex("network_interface_groups_group").on("network_interface_groups").column("group_id").execute();
}

export const ec2NetworkMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await createVpcTables(db);
    await createSecurityGroupTables(db);
    await createNetworkInterfaceTables(db);
    await db.schema
      .createTable("ec2_tags")
      .addColumn("resource_id", "varchar(32)", (c) => c.notNull())
      .addColumn("key", "varchar(128)", (c) => c.notNull())
      .addColumn("value", "varchar(256)", (c) => c.notNull())
      .addPrimaryKeyConstraint("ec2_tags_pk", ["resource_id", "key"])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ["ec2_tags", "network_interface_groups", "network_interfaces", "security_group_rules", "security_groups", "subnets", "vpcs"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
