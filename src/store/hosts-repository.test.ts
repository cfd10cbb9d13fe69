import { test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { HostRow, HostsTables } from "./hosts-repository.js";
import { createHostsRepository } from "./hosts-repository.js";
import { hostsMigration } from "./hosts-migration.js";

const host = (id: string, at: number): HostRow => ({
  host_id: id,
  availability_zone: "us-east-1a",
  architecture: "X86_64",
  cpu_units: 2048,
  memory_mib: 4096,
  task_slots: 100,
  ephemeral_gib: 200,
  status: "ACTIVE",
  registered_at: at,
  last_heartbeat_at: at,
  token_sha256: "0".repeat(64),
  agent_version: "1",
  subnets_json: "[]",
});

test("hosts that stop heartbeating are marked lost, and come back when they heartbeat", async () => {
  const db = new Kysely<HostsTables>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  await hostsMigration.up(db as unknown as Kysely<unknown>);
  const hosts = createHostsRepository(db);
  await hosts.upsert(host("h1", 0));
  await hosts.upsert(host("h2", 0));
  await hosts.heartbeat("h2", 100);
  assert.deepEqual(await hosts.markLost(50), ["h1"]);
  assert.equal((await hosts.get("h1"))!.status, "LOST");
  assert.deepEqual(await hosts.markLost(50), [], "already lost hosts are not reported twice");
  await hosts.heartbeat("h1", 200);
  assert.equal((await hosts.get("h1"))!.status, "ACTIVE");
  await hosts.upsert({ ...host("h1", 300), cpu_units: 4096 });
  const h1 = (await hosts.get("h1"))!;
  assert.equal(h1.cpu_units, 4096);
  assert.equal(h1.registered_at, 0, "re-registration keeps the first registration time");
  await db.destroy();
});
