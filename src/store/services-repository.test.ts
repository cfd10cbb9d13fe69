// The services repository's counts, listing and purge of deleted services, on both stores.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import { freshPostgresDatabase } from "../../test/support/postgres.js";
import { historyRow, serviceArnOf as arnOf, serviceClusterArn as clusterArn, serviceRecord } from "../../test/support/service-records.js";
import type { Store } from "./index.js";
import { openStore } from "./index.js";

const HOUR = 3_600_000;

eachStoreBackend((backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(() => store.close());

  test("the quota's count is the cluster's ACTIVE and DRAINING services; ListServices shows the ACTIVE ones only", async () => {
    await store.services.create(serviceRecord("a"));
    await store.services.create(serviceRecord("b", { status: "DRAINING" }));
    await store.services.create(serviceRecord("c", { status: "INACTIVE" }));
    await store.services.create({ ...serviceRecord("elsewhere"), serviceArn: arnOf("elsewhere", "other"), clusterArn: `${clusterArn}-other` });
    assert.equal(await store.services.countScheduled(clusterArn), 2);
    assert.equal(await store.services.countActive(clusterArn), 1);
    assert.deepEqual(await store.services.listArns(clusterArn, { limit: 10 }), [arnOf("a")]);
  });

  test("purgeInactive deletes services INACTIVE since before the cutoff with their history and tags, and nothing else", async () => {
    const old = serviceRecord("old", { status: "INACTIVE", updatedAtMs: 1_000 });
    const recent = serviceRecord("recent", { status: "INACTIVE", updatedAtMs: 1_000 + HOUR });
    const draining = serviceRecord("draining", { status: "DRAINING", updatedAtMs: 1_000 });
    const active = serviceRecord("active", { updatedAtMs: 1_000 });
    for (const record of [old, recent, draining, active]) {
      await store.services.create(record);
      await store.serviceDeployments.put(historyRow(record.serviceArn, "1"));
      await store.tags.put(record.serviceArn, [{ key: "team", value: "a" }]);
    }
    assert.deepEqual(await store.services.purgeInactive(1_000 + HOUR, 100), [old.serviceArn]);
    assert.equal(await store.services.get(old.serviceArn), undefined);
    assert.deepEqual(await store.serviceDeployments.list(old.serviceArn, { limit: 10 }), []);
    assert.deepEqual(await store.tags.list(old.serviceArn), []);
    for (const kept of [recent, draining, active]) {
      assert.equal((await store.services.get(kept.serviceArn))?.status, kept.status, kept.serviceName);
      assert.equal((await store.serviceDeployments.list(kept.serviceArn, { limit: 10 })).length, 1, kept.serviceName);
      assert.equal((await store.tags.list(kept.serviceArn)).length, 1, kept.serviceName);
    }
    assert.deepEqual(await store.services.purgeInactive(1_000 + HOUR, 100), [], "a second pass finds nothing");
  });

  test("purgeInactive takes at most `limit` services, the longest INACTIVE first", async () => {
    for (const [name, at] of [
      ["c", 3_000],
      ["a", 1_000],
      ["b", 2_000],
    ] as const) {
      await store.services.create(serviceRecord(name, { status: "INACTIVE", updatedAtMs: at }));
    }
    assert.deepEqual(await store.services.purgeInactive(10_000, 2), [arnOf("a"), arnOf("b")]);
    assert.deepEqual(await store.services.purgeInactive(10_000, 2), [arnOf("c")]);
  });

  test("a service re-created under an INACTIVE one's name is not purged, nor its history and tags", async () => {
    await store.services.create(serviceRecord("web", { status: "INACTIVE", updatedAtMs: 1_000 }));
    assert.equal(await store.services.create(serviceRecord("web", { createdAtMs: 2 * HOUR, updatedAtMs: 2 * HOUR })), true, "the INACTIVE row is replaced");
    await store.serviceDeployments.put(historyRow(arnOf("web"), "2"));
    await store.tags.put(arnOf("web"), [{ key: "team", value: "b" }]);
    assert.deepEqual(await store.services.purgeInactive(3 * HOUR, 100), []);
    assert.equal((await store.services.get(arnOf("web")))?.status, "ACTIVE");
    assert.equal((await store.serviceDeployments.list(arnOf("web"), { limit: 10 })).length, 1);
    assert.deepEqual(await store.tags.list(arnOf("web")), [{ key: "team", value: "b" }]);
  });

  test("a service re-created under an INACTIVE one's name goes on from its version: a write naming the old service's version is refused", async () => {
    await store.services.create(serviceRecord("web"));
    const old = (await store.services.get(arnOf("web")))!;
    assert.ok(await store.services.update(arnOf("web"), old.version, { status: "INACTIVE", service: old.service, state: old.state, updatedAtMs: 1 }));
    assert.equal(await store.services.create(serviceRecord("web")), true);
    const fresh = (await store.services.get(arnOf("web")))!;
    assert.ok(fresh.version > old.version + 1);
    assert.equal(await store.services.update(arnOf("web"), old.version, { service: old.service, state: old.state, updatedAtMs: 2 }), false);
  });

  test("a purge inside a wider transaction joins it: rolled back with it", async () => {
    await store.services.create(serviceRecord("old", { status: "INACTIVE", updatedAtMs: 1_000 }));
    await assert.rejects(
      store.exclusively([], async (tx) => {
        assert.deepEqual(await tx.services.purgeInactive(2 * HOUR, 10), [arnOf("old")]);
        throw new Error("abort");
      }),
      /abort/,
    );
    assert.equal((await store.services.get(arnOf("old")))?.status, "INACTIVE");
  });

  test("CreateService's requestDigest is kept in the scheduling state and read back; a state without one reads as before", async () => {
    await store.services.create(
      serviceRecord("new", { state: { consecutiveFailures: 0, failuresSeen: {}, nextLaunchAtMs: 0, clientToken: "t", requestDigest: "ab" } }),
    );
    await store.services.create(serviceRecord("old", { state: { consecutiveFailures: 0, failuresSeen: {}, nextLaunchAtMs: 0, clientToken: "t" } }));
    assert.equal((await store.services.get(arnOf("new")))!.state.requestDigest, "ab");
    assert.equal("requestDigest" in (await store.services.get(arnOf("old")))!.state, false);
  });
});

test("on postgres, replicas creating services at once under the cluster's row lock never count past the quota", async () => {
  const database = await freshPostgresDatabase();
  const [a, b] = await Promise.all([openStore({ url: database.url, maxConnections: 8 }), openStore({ url: database.url, maxConnections: 8 })]);
  try {
    const quota = 3;
    const clusterName = clusterArn.slice(clusterArn.lastIndexOf("/") + 1);
    await a.clusters.put({ clusterArn, clusterName, status: "ACTIVE" }, 0);
    // CreateService's count-then-insert, with a pause between the two in which the others run.
    const createIfRoom = (store: Store, name: string) =>
      store.exclusively([], async (tx) => {
        await tx.clusters.lock(clusterName);
        if ((await tx.services.countScheduled(clusterArn)) >= quota) return false;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return tx.services.create(serviceRecord(name));
      });
    const created = await Promise.all(Array.from({ length: 12 }, (_, i) => createIfRoom(i % 2 === 0 ? a : b, `s${i}`)));
    assert.equal(created.filter(Boolean).length, quota);
    assert.equal(await a.services.countScheduled(clusterArn), quota);
  } finally {
    await a.close();
    await b.close();
    await database.drop();
  }
});
