// EC2 tags of every EC2 resource (vpc, subnet, sg, sgr, eni), one row per (resource, key). The
// checks on keys and values and on the resources' existence are the API's; the 50-tag limit is
// enforced here, inside the write, so two CreateTags calls cannot pass it together.
import type { Kysely } from "kysely";
import type { Ec2TagsTable } from "./vpcs-repository.js";

export interface Ec2Tag {
  readonly resourceId: string;
  readonly key: string;
  readonly value: string;
}

/** AWS's limit of tags per resource (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html). */
export const MAX_TAGS_PER_RESOURCE = 50;

export interface Ec2TagsRepository {
  /** Tags of the given resources (all tagged resources when omitted), by resource id then key. */
  list(resourceIds?: readonly string[]): Promise<Ec2Tag[]>;
  /** Each resource's tags as a map, for filters and responses. */
  byResource(resourceIds: readonly string[]): Promise<Map<string, Map<string, string>>>;
  /**
   * Adds or overwrites `tags` on `resourceId`; false (nothing written) when the resource would end
   * up with more than MAX_TAGS_PER_RESOURCE tags.
   */
  put(resourceId: string, tags: ReadonlyMap<string, string>): Promise<boolean>;
  /** Removes tags: a key with `undefined` regardless of its value, else only when the value matches; no keys: all. */
  remove(resourceId: string, keys?: ReadonlyMap<string, string | undefined>): Promise<void>;
}

type Db = Kysely<{ ec2_tags: Ec2TagsTable }>;

/** IN lists stay far below both backends' bound on parameters per statement. */
const CHUNK = 500;

async function listTags(db: Db, resourceIds?: readonly string[]): Promise<Ec2Tag[]> {
  const query = db.selectFrom("ec2_tags").selectAll().orderBy("resource_id").orderBy("key");
  const rows: Ec2TagsTable[] = [];
  if (resourceIds === undefined) rows.push(...(await query.execute()));
  for (let start = 0; resourceIds && start < resourceIds.length; start += CHUNK) {
    rows.push(...(await query.where("resource_id", "in", resourceIds.slice(start, start + CHUNK)).execute()));
  }
  return rows.map((row) => ({ resourceId: row.resource_id, key: row.key, value: row.value }));
}

export function createEc2TagsRepository(db: Db): Ec2TagsRepository {
  return {
    list: (resourceIds) => listTags(db, resourceIds),
    async byResource(resourceIds) {
      const byResource = new Map<string, Map<string, string>>();
      for (const tag of await listTags(db, resourceIds)) {
        const tags = byResource.get(tag.resourceId) ?? new Map<string, string>();
        byResource.set(tag.resourceId, tags.set(tag.key, tag.value));
      }
      return byResource;
    },
    async put(resourceId, tags) {
      if (tags.size === 0) return true;
      const existing = await db.selectFrom("ec2_tags").select("key").where("resource_id", "=", resourceId).execute();
      const keys = new Set([...existing.map((row) => row.key), ...tags.keys()]);
      if (keys.size > MAX_TAGS_PER_RESOURCE) return false;
      await db
        .insertInto("ec2_tags")
        .values([...tags].map(([key, value]) => ({ resource_id: resourceId, key, value })))
        .onConflict((oc) => oc.columns(["resource_id", "key"]).doUpdateSet((eb) => ({ value: eb.ref("excluded.value") })))
        .execute();
      return true;
    },
    async remove(resourceId, keys) {
      if (keys === undefined) {
        await db.deleteFrom("ec2_tags").where("resource_id", "=", resourceId).execute();
        return;
      }
      for (const [key, value] of keys) {
        let query = db.deleteFrom("ec2_tags").where("resource_id", "=", resourceId).where("key", "=", key);
        if (value !== undefined) query = query.where("value", "=", value);
        await query.execute();
      }
    },
  };
}
