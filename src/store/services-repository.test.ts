// The services repository's counts, listing and purge of deleted services, on both stores.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import { freshPostgresDatabase } from "../../test/support/postgres.js";
import { serviceArnOf as arnOf, serviceClusterArn as clusterArn, serviceRecord } from "../../test/support/service-records.js";
import type { Store } from "./index.js";
import { openStore } from "./index.js";

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

  test("CreateService's requestDigest is kept in the scheduling state and read back; a state without one reads as before", async () => {
    await store.services.create(
      serviceRecord("new", { state: { consecutiveFailures: 0, failuresSeen: {}, nextLaunchAtMs: 0, clientToken: "t", requestDigest: "ab" } }),
    );
    await store.services.create(serviceRecord("old", { state: { consecutiveFailures: 0, failuresSeen: {}, nextLaunchAtMs: 0, clientToken: "t" } }));
    assert.equal((await store.services.get(arnOf("new")))!.state.requestDigest, "ab");
    assert.equal("requestDigest" in (await store.services.get(arnOf("old")))!.state, false);
  });
});

test('on postgres, replicas creating services at once under the "services" lock never count past the quota', async () => {
  const database = await freshPostgresDatabase();
  const [a, b] = await Promise.all([openStore({ url: database.url, maxConnections: 8 }), openStore({ url: database.url, maxConnections: 8 })]);
  try {
    const quota = 3;
    // CreateService's count-then-insert, with a pause between the two in which the others run.
    const createIfRoom = (store: Store, name: string) =>
      store.exclusively("services", async (tx) => {
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
