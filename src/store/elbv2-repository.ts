// ELBv2 load balancers, target groups, listeners, rules, registered targets (with the health
// record a data plane writes through `recordTargetHealth`) and the tags of all four. Each resource
// is one row holding the SDK's own document as JSON beside the columns kept unique by the
// database (names, a listener's port, a rule's priority), so a race two replicas lose on those
// fails on the constraint as well as under `locked` (the one elbv2_write_lock row, taken first by
// every check-then-write of the API). Portable Kysely SQL.
import type { Listener, LoadBalancer, Rule, TargetGroup } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Kysely, Selectable } from "kysely";
import { inTransaction } from "./transaction.js";

interface DocumentRow {
  arn: string;
  document: string;
  created_at: number;
}

export interface Elbv2Tables {
  elbv2_write_lock: { id: number; revision: number };
  elbv2_load_balancers: DocumentRow & { name_key: string };
  elbv2_target_groups: DocumentRow & { name_key: string };
  elbv2_listeners: DocumentRow & { load_balancer_arn: string; port: number };
  elbv2_rules: DocumentRow & { listener_arn: string; priority: string };
  elbv2_targets: {
    target_group_arn: string;
    target_id: string;
    port: number;
    availability_zone: string | null;
    state: string | null;
    reason: string | null;
    description: string | null;
    updated_at: number | null;
    deregister_at: number | null;
    registered_at: number;
  };
  elbv2_tags: { resource_arn: string; tag_key: string; tag_value: string };
}

/** Attributes as ELBv2 lists them (key → value), every key AWS defines present. */
export type Elbv2Attributes = Readonly<Record<string, string>>;

export interface StoredLoadBalancer {
  readonly arn: string;
  readonly name: string;
  /** ms since the epoch; also the document's CreatedTime on read. */
  readonly createdAt: number;
  readonly loadBalancer: LoadBalancer;
  readonly attributes: Elbv2Attributes;
}

export interface StoredTargetGroup {
  readonly arn: string;
  readonly name: string;
  readonly createdAt: number;
  /** LoadBalancerArns is not kept: it is derived from the listeners and rules that forward to it. */
  readonly targetGroup: TargetGroup;
  readonly attributes: Elbv2Attributes;
}

export interface StoredListener {
  readonly arn: string;
  readonly loadBalancerArn: string;
  readonly port: number;
  readonly createdAt: number;
  readonly listener: Listener;
}

export interface StoredRule {
  readonly arn: string;
  readonly listenerArn: string;
  /** "default" or the priority as text. */
  readonly priority: string;
  readonly createdAt: number;
  readonly rule: Rule;
}

export interface StoredTarget {
  readonly targetGroupArn: string;
  readonly id: string;
  readonly port: number;
  readonly availabilityZone?: string | undefined;
  /** The last health a data plane recorded (undefined: never checked). */
  readonly health?:
    { readonly state: string; readonly reason?: string | undefined; readonly description?: string | undefined; readonly updatedAt: number } | undefined;
  /** When a deregistering target's row goes; undefined while registered. */
  readonly deregisterAt?: number | undefined;
  readonly registeredAt: number;
}

export interface NewTarget {
  readonly id: string;
  readonly port: number;
  readonly availabilityZone?: string | undefined;
}

export interface Elbv2Repository {
  /** Runs `work` in one transaction holding the elbv2_write_lock row (every API write does). */
  locked<T>(work: (tx: Elbv2Repository) => Promise<T>): Promise<T>;
  insertLoadBalancer(record: StoredLoadBalancer): Promise<void>;
  updateLoadBalancer(record: StoredLoadBalancer): Promise<void>;
  getLoadBalancer(arn: string): Promise<StoredLoadBalancer | undefined>;
  loadBalancerByName(name: string): Promise<StoredLoadBalancer | undefined>;
  /** By creation, then ARN. */
  listLoadBalancers(): Promise<StoredLoadBalancer[]>;
  /** Whether a load balancer sits in this subnet or uses this security group (EC2 refuses to delete either meanwhile). */
  usesNetworkResource(id: string): Promise<boolean>;
  /** Deletes the load balancer, its listeners, their rules and the tags of all of them. */
  deleteLoadBalancer(arn: string): Promise<void>;
  insertTargetGroup(record: StoredTargetGroup): Promise<void>;
  updateTargetGroup(record: StoredTargetGroup): Promise<void>;
  getTargetGroup(arn: string): Promise<StoredTargetGroup | undefined>;
  targetGroupByName(name: string): Promise<StoredTargetGroup | undefined>;
  listTargetGroups(): Promise<StoredTargetGroup[]>;
  /** Deletes the group, its targets and its tags. */
  deleteTargetGroup(arn: string): Promise<void>;
  insertListener(record: StoredListener): Promise<void>;
  updateListener(record: StoredListener): Promise<void>;
  getListener(arn: string): Promise<StoredListener | undefined>;
  /** Every listener, or those of one load balancer, by port. */
  listListeners(loadBalancerArn?: string): Promise<StoredListener[]>;
  /** Deletes the listener, its rules and the tags of both. */
  deleteListener(arn: string): Promise<void>;
  insertRule(record: StoredRule): Promise<void>;
  updateRule(record: StoredRule): Promise<void>;
  getRule(arn: string): Promise<StoredRule | undefined>;
  /** Every rule, or those of one listener. */
  listRules(listenerArn?: string): Promise<StoredRule[]>;
  deleteRule(arn: string): Promise<void>;
  /** Registers (or re-registers: a deregistering target comes back, its health forgotten). */
  registerTargets(targetGroupArn: string, targets: readonly NewTarget[], now: number): Promise<void>;
  /** Marks the targets deregistering until `removeAt`; unknown ones are skipped. */
  deregisterTargets(targetGroupArn: string, targets: readonly NewTarget[], removeAt: number): Promise<void>;
  /** The group's targets, after deleting those whose deregistration ended by `now`. */
  listTargets(targetGroupArn: string, now: number): Promise<StoredTarget[]>;
  /** A data plane's health check result for one registered target; false when there is no such target. */
  recordTargetHealth(
    targetGroupArn: string,
    id: string,
    port: number,
    state: string,
    reason: string | undefined,
    description: string | undefined,
    now: number,
  ): Promise<boolean>;
  /** Tags of each ARN (ARNs without tags map to an empty map). */
  tagsOf(arns: readonly string[]): Promise<Map<string, Map<string, string>>>;
  /** Adds or overwrites. */
  putTags(arn: string, tags: ReadonlyMap<string, string>): Promise<void>;
  removeTags(arn: string, keys: readonly string[]): Promise<void>;
}

const nameKey = (name: string) => name.toLowerCase();

function loadBalancerOf(row: Selectable<Elbv2Tables["elbv2_load_balancers"]>): StoredLoadBalancer {
  const { loadBalancer, attributes } = JSON.parse(row.document) as { loadBalancer: LoadBalancer; attributes: Elbv2Attributes };
  const createdAt = Number(row.created_at);
  return {
    arn: row.arn,
    name: loadBalancer.LoadBalancerName ?? "",
    createdAt,
    loadBalancer: { ...loadBalancer, CreatedTime: new Date(createdAt) },
    attributes,
  };
}

function targetGroupOf(row: Selectable<Elbv2Tables["elbv2_target_groups"]>): StoredTargetGroup {
  const { targetGroup, attributes } = JSON.parse(row.document) as { targetGroup: TargetGroup; attributes: Elbv2Attributes };
  return { arn: row.arn, name: targetGroup.TargetGroupName ?? "", createdAt: Number(row.created_at), targetGroup, attributes };
}

function listenerOf(row: Selectable<Elbv2Tables["elbv2_listeners"]>): StoredListener {
  return {
    arn: row.arn,
    loadBalancerArn: row.load_balancer_arn,
    port: Number(row.port),
    createdAt: Number(row.created_at),
    listener: JSON.parse(row.document) as Listener,
  };
}

function ruleOf(row: Selectable<Elbv2Tables["elbv2_rules"]>): StoredRule {
  return { arn: row.arn, listenerArn: row.listener_arn, priority: row.priority, createdAt: Number(row.created_at), rule: JSON.parse(row.document) as Rule };
}

function targetOf(row: Selectable<Elbv2Tables["elbv2_targets"]>): StoredTarget {
  return {
    targetGroupArn: row.target_group_arn,
    id: row.target_id,
    port: Number(row.port),
    availabilityZone: row.availability_zone ?? undefined,
    health:
      row.state === null
        ? undefined
        : { state: row.state, reason: row.reason ?? undefined, description: row.description ?? undefined, updatedAt: Number(row.updated_at ?? 0) },
    deregisterAt: row.deregister_at === null ? undefined : Number(row.deregister_at),
    registeredAt: Number(row.registered_at),
  };
}

type Db = Kysely<Elbv2Tables>;

async function deleteRulesOf(db: Db, listenerArns: readonly string[]): Promise<void> {
  if (listenerArns.length === 0) return;
  const rules = await db.selectFrom("elbv2_rules").select("arn").where("listener_arn", "in", listenerArns).execute();
  const arns = [...listenerArns, ...rules.map((rule) => rule.arn)];
  await db.deleteFrom("elbv2_tags").where("resource_arn", "in", arns).execute();
  await db.deleteFrom("elbv2_rules").where("listener_arn", "in", listenerArns).execute();
}

type Methods<Keys extends keyof Elbv2Repository> = Pick<Elbv2Repository, Keys>;

function loadBalancerMethods(
  db: Db,
): Methods<
  "insertLoadBalancer" | "updateLoadBalancer" | "getLoadBalancer" | "loadBalancerByName" | "listLoadBalancers" | "usesNetworkResource" | "deleteLoadBalancer"
> {
  return {
    insertLoadBalancer: async (record) => {
      const document = JSON.stringify({ loadBalancer: record.loadBalancer, attributes: record.attributes });
      await db
        .insertInto("elbv2_load_balancers")
        .values({ arn: record.arn, name_key: nameKey(record.name), document, created_at: record.createdAt })
        .execute();
    },
    updateLoadBalancer: async (record) => {
      const document = JSON.stringify({ loadBalancer: record.loadBalancer, attributes: record.attributes });
      await db.updateTable("elbv2_load_balancers").set({ document }).where("arn", "=", record.arn).execute();
    },
    getLoadBalancer: async (arn) => {
      const row = await db.selectFrom("elbv2_load_balancers").selectAll().where("arn", "=", arn).executeTakeFirst();
      return row && loadBalancerOf(row);
    },
    loadBalancerByName: async (name) => {
      const row = await db.selectFrom("elbv2_load_balancers").selectAll().where("name_key", "=", nameKey(name)).executeTakeFirst();
      return row && loadBalancerOf(row);
    },
    listLoadBalancers: async () => (await db.selectFrom("elbv2_load_balancers").selectAll().orderBy("created_at").orderBy("arn").execute()).map(loadBalancerOf),
    usesNetworkResource: async (id) =>
      (await db.selectFrom("elbv2_load_balancers").selectAll().execute()).some((row) => {
        const { loadBalancer } = loadBalancerOf(row);
        return (loadBalancer.SecurityGroups ?? []).includes(id) || (loadBalancer.AvailabilityZones ?? []).some((zone) => zone.SubnetId === id);
      }),
    deleteLoadBalancer: (arn) =>
      inTransaction(db, async (tx) => {
        const listeners = await tx.selectFrom("elbv2_listeners").select("arn").where("load_balancer_arn", "=", arn).execute();
        await deleteRulesOf(
          tx,
          listeners.map((listener) => listener.arn),
        );
        await tx.deleteFrom("elbv2_listeners").where("load_balancer_arn", "=", arn).execute();
        await tx.deleteFrom("elbv2_tags").where("resource_arn", "=", arn).execute();
        await tx.deleteFrom("elbv2_load_balancers").where("arn", "=", arn).execute();
      }),
  };
}

function targetGroupMethods(
  db: Db,
): Methods<"insertTargetGroup" | "updateTargetGroup" | "getTargetGroup" | "targetGroupByName" | "listTargetGroups" | "deleteTargetGroup"> {
  return {
    insertTargetGroup: async (record) => {
      const document = JSON.stringify({ targetGroup: record.targetGroup, attributes: record.attributes });
      await db
        .insertInto("elbv2_target_groups")
        .values({ arn: record.arn, name_key: nameKey(record.name), document, created_at: record.createdAt })
        .execute();
    },
    updateTargetGroup: async (record) => {
      const document = JSON.stringify({ targetGroup: record.targetGroup, attributes: record.attributes });
      await db.updateTable("elbv2_target_groups").set({ document }).where("arn", "=", record.arn).execute();
    },
    getTargetGroup: async (arn) => {
      const row = await db.selectFrom("elbv2_target_groups").selectAll().where("arn", "=", arn).executeTakeFirst();
      return row && targetGroupOf(row);
    },
    targetGroupByName: async (name) => {
      const row = await db.selectFrom("elbv2_target_groups").selectAll().where("name_key", "=", nameKey(name)).executeTakeFirst();
      return row && targetGroupOf(row);
    },
    listTargetGroups: async () => (await db.selectFrom("elbv2_target_groups").selectAll().orderBy("created_at").orderBy("arn").execute()).map(targetGroupOf),
    deleteTargetGroup: (arn) =>
      inTransaction(db, async (tx) => {
        await tx.deleteFrom("elbv2_targets").where("target_group_arn", "=", arn).execute();
        await tx.deleteFrom("elbv2_tags").where("resource_arn", "=", arn).execute();
        await tx.deleteFrom("elbv2_target_groups").where("arn", "=", arn).execute();
      }),
  };
}

function listenerMethods(db: Db): Methods<"insertListener" | "updateListener" | "getListener" | "listListeners" | "deleteListener"> {
  return {
    insertListener: async (record) => {
      await db
        .insertInto("elbv2_listeners")
        .values({
          arn: record.arn,
          load_balancer_arn: record.loadBalancerArn,
          port: record.port,
          document: JSON.stringify(record.listener),
          created_at: record.createdAt,
        })
        .execute();
    },
    updateListener: async (record) => {
      await db
        .updateTable("elbv2_listeners")
        .set({ port: record.port, document: JSON.stringify(record.listener), created_at: record.createdAt })
        .where("arn", "=", record.arn)
        .execute();
    },
    getListener: async (arn) => {
      const row = await db.selectFrom("elbv2_listeners").selectAll().where("arn", "=", arn).executeTakeFirst();
      return row && listenerOf(row);
    },
    listListeners: async (loadBalancerArn) => {
      let query = db.selectFrom("elbv2_listeners").selectAll();
      if (loadBalancerArn !== undefined) query = query.where("load_balancer_arn", "=", loadBalancerArn);
      return (await query.orderBy("load_balancer_arn").orderBy("port").execute()).map(listenerOf);
    },
    deleteListener: (arn) =>
      inTransaction(db, async (tx) => {
        await deleteRulesOf(tx, [arn]);
        await tx.deleteFrom("elbv2_listeners").where("arn", "=", arn).execute();
      }),
  };
}

function ruleMethods(db: Db): Methods<"insertRule" | "updateRule" | "getRule" | "listRules" | "deleteRule"> {
  return {
    insertRule: async (record) => {
      await db
        .insertInto("elbv2_rules")
        .values({
          arn: record.arn,
          listener_arn: record.listenerArn,
          priority: record.priority,
          document: JSON.stringify(record.rule),
          created_at: record.createdAt,
        })
        .execute();
    },
    updateRule: async (record) => {
      await db
        .updateTable("elbv2_rules")
        .set({ priority: record.priority, document: JSON.stringify(record.rule) })
        .where("arn", "=", record.arn)
        .execute();
    },
    getRule: async (arn) => {
      const row = await db.selectFrom("elbv2_rules").selectAll().where("arn", "=", arn).executeTakeFirst();
      return row && ruleOf(row);
    },
    listRules: async (listenerArn) => {
      let query = db.selectFrom("elbv2_rules").selectAll();
      if (listenerArn !== undefined) query = query.where("listener_arn", "=", listenerArn);
      return (await query.orderBy("created_at").orderBy("arn").execute()).map(ruleOf);
    },
    deleteRule: async (arn) => {
      await db.deleteFrom("elbv2_tags").where("resource_arn", "=", arn).execute();
      await db.deleteFrom("elbv2_rules").where("arn", "=", arn).execute();
    },
  };
}

function targetMethods(db: Db): Methods<"registerTargets" | "deregisterTargets" | "listTargets" | "recordTargetHealth"> {
  return {
    registerTargets: (targetGroupArn, targets, now) =>
      inTransaction(db, async (tx) => {
        for (const target of targets) {
          const existing = await tx
            .selectFrom("elbv2_targets")
            .select("deregister_at")
            .where("target_group_arn", "=", targetGroupArn)
            .where("target_id", "=", target.id)
            .where("port", "=", target.port)
            .executeTakeFirst();
          if (existing !== undefined && existing.deregister_at === null) continue;
          if (existing !== undefined) {
            await tx
              .deleteFrom("elbv2_targets")
              .where("target_group_arn", "=", targetGroupArn)
              .where("target_id", "=", target.id)
              .where("port", "=", target.port)
              .execute();
          }
          await tx
            .insertInto("elbv2_targets")
            .values({
              target_group_arn: targetGroupArn,
              target_id: target.id,
              port: target.port,
              availability_zone: target.availabilityZone ?? null,
              state: null,
              reason: null,
              description: null,
              updated_at: null,
              deregister_at: null,
              registered_at: now,
            })
            .execute();
        }
      }),
    deregisterTargets: (targetGroupArn, targets, removeAt) =>
      inTransaction(db, async (tx) => {
        for (const target of targets) {
          await tx
            .updateTable("elbv2_targets")
            .set({ deregister_at: removeAt })
            .where("target_group_arn", "=", targetGroupArn)
            .where("target_id", "=", target.id)
            .where("port", "=", target.port)
            .where("deregister_at", "is", null)
            .execute();
        }
      }),
    listTargets: async (targetGroupArn, now) => {
      await db.deleteFrom("elbv2_targets").where("target_group_arn", "=", targetGroupArn).where("deregister_at", "<=", now).execute();
      const rows = await db
        .selectFrom("elbv2_targets")
        .selectAll()
        .where("target_group_arn", "=", targetGroupArn)
        .orderBy("registered_at")
        .orderBy("target_id")
        .execute();
      return rows.map(targetOf);
    },
    recordTargetHealth: async (targetGroupArn, id, port, state, reason, description, now) => {
      const result = await db
        .updateTable("elbv2_targets")
        .set({ state, reason: reason ?? null, description: description ?? null, updated_at: now })
        .where("target_group_arn", "=", targetGroupArn)
        .where("target_id", "=", id)
        .where("port", "=", port)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

function tagMethods(db: Db): Methods<"tagsOf" | "putTags" | "removeTags"> {
  return {
    tagsOf: async (arns) => {
      const tags = new Map(arns.map((arn) => [arn, new Map<string, string>()]));
      if (arns.length === 0) return tags;
      const rows = await db.selectFrom("elbv2_tags").selectAll().where("resource_arn", "in", arns).orderBy("tag_key").execute();
      for (const row of rows) tags.get(row.resource_arn)?.set(row.tag_key, row.tag_value);
      return tags;
    },
    putTags: (arn, tags) =>
      inTransaction(db, async (tx) => {
        for (const [key, value] of tags) {
          await tx
            .insertInto("elbv2_tags")
            .values({ resource_arn: arn, tag_key: key, tag_value: value })
            .onConflict((conflict) => conflict.columns(["resource_arn", "tag_key"]).doUpdateSet({ tag_value: value }))
            .execute();
        }
      }),
    removeTags: async (arn, keys) => {
      if (keys.length === 0) return;
      await db.deleteFrom("elbv2_tags").where("resource_arn", "=", arn).where("tag_key", "in", keys).execute();
    },
  };
}

export function createElbv2Repository(db: Db): Elbv2Repository {
  return {
    locked: (work) =>
      inTransaction(db, async (tx) => {
        // The row lock every ELBv2 write takes first (PostgreSQL: held to commit; SQLite: the write lock).
        await tx
          .updateTable("elbv2_write_lock")
          .set((eb) => ({ revision: eb("revision", "+", 1) }))
          .where("id", "=", 1)
          .execute();
        return work(createElbv2Repository(tx));
      }),
    ...loadBalancerMethods(db),
    ...targetGroupMethods(db),
    ...listenerMethods(db),
    ...ruleMethods(db),
    ...targetMethods(db),
    ...tagMethods(db),
  };
}
