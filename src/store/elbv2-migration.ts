// The ELBv2 tables (elbv2-repository.ts), migration 0020. Each resource is one row holding its
// document (the stored model, JSON) beside the columns that must be unique or looked up: a load
// balancer's or target group's name (unique per account and region, case-insensitively: kept
// lower-cased in `name_key`), a listener's port on its load balancer, a rule's priority on its
// listener. Targets are rows of their own with the health record a data plane writes later.
import type { Kysely, Migration } from "kysely";
import { sql } from "kysely";

export const elbv2Migration: Migration = {
  async up(db: Kysely<unknown>) {
    // One row every ELBv2 write updates first, so checks across resources (a target group used by
    // one load balancer only, a name checked then taken) hold across replicas.
    await db.schema
      .createTable("elbv2_write_lock")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("revision", "bigint", (c) => c.notNull())
      .execute();
    await sql`INSERT INTO elbv2_write_lock (id, revision) VALUES (1, 0)`.execute(db);
    await db.schema
      .createTable("elbv2_load_balancers")
      .addColumn("arn", "varchar(256)", (c) => c.primaryKey())
      .addColumn("name_key", "varchar(32)", (c) => c.notNull().unique())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("elbv2_target_groups")
      .addColumn("arn", "varchar(256)", (c) => c.primaryKey())
      .addColumn("name_key", "varchar(32)", (c) => c.notNull().unique())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("elbv2_listeners")
      .addColumn("arn", "varchar(256)", (c) => c.primaryKey())
      .addColumn("load_balancer_arn", "varchar(256)", (c) => c.notNull())
      .addColumn("port", "integer", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("elbv2_listeners_port", ["load_balancer_arn", "port"])
      .execute();
    // priority: "default" for a listener's default rule, else the number as text (1–50000).
    await db.schema
      .createTable("elbv2_rules")
      .addColumn("arn", "varchar(256)", (c) => c.primaryKey())
      .addColumn("listener_arn", "varchar(256)", (c) => c.notNull())
      .addColumn("priority", "varchar(16)", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("elbv2_rules_priority", ["listener_arn", "priority"])
      .execute();
    // A registered target and its health record. deregister_at: when a deregistering target's
    // row goes (its group's deregistration delay after DeregisterTargets); null while registered.
    await db.schema
      .createTable("elbv2_targets")
      .addColumn("target_group_arn", "varchar(256)", (c) => c.notNull())
      .addColumn("target_id", "varchar(64)", (c) => c.notNull())
      .addColumn("port", "integer", (c) => c.notNull())
      .addColumn("availability_zone", "varchar(64)")
      .addColumn("state", "varchar(32)")
      .addColumn("reason", "varchar(64)")
      .addColumn("description", "text")
      .addColumn("updated_at", "bigint")
      .addColumn("deregister_at", "bigint")
      .addColumn("registered_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("elbv2_targets_pk", ["target_group_arn", "target_id", "port"])
      .execute();
    await db.schema
      .createTable("elbv2_tags")
      .addColumn("resource_arn", "varchar(256)", (c) => c.notNull())
      .addColumn("tag_key", "varchar(128)", (c) => c.notNull())
      .addColumn("tag_value", "varchar(256)", (c) => c.notNull())
      .addPrimaryKeyConstraint("elbv2_tags_pk", ["resource_arn", "tag_key"])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ["elbv2_tags", "elbv2_targets", "elbv2_rules", "elbv2_listeners", "elbv2_target_groups", "elbv2_load_balancers", "elbv2_write_lock"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
