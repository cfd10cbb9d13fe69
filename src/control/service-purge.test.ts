import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { ManualClock } from "../../test/support/control-plane.js";
import { historyRow, serviceRecord } from "../../test/support/service-records.js";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { Store } from "../store/index.js";
import { INACTIVE_SERVICE_RETENTION_MS, startServicePurge } from "./service-purge.js";

eachStoreBackend((backend) => {
  let store: Store;
  let clock: ManualClock;
  beforeEach(async () => {
    store = await backend.open();
    clock = new ManualClock();
  });
  afterEach(() => store.close());

  test("a service INACTIVE for more than an hour is purged with its deployment history and tags; DRAINING, ACTIVE and younger INACTIVE ones stay", async () => {
    const at = clock.now();
    const gone = serviceRecord("gone", { status: "INACTIVE", updatedAtMs: at });
    const later = serviceRecord("later", { status: "INACTIVE", updatedAtMs: at + 60_000 });
    const draining = serviceRecord("draining", { status: "DRAINING", updatedAtMs: at });
    const active = serviceRecord("active", { updatedAtMs: at });
    for (const record of [gone, later, draining, active]) {
      await store.services.create(record);
      await store.serviceDeployments.put(historyRow(record.serviceArn, "1"));
      await store.tags.put(record.serviceArn, [{ key: "team", value: "a" }]);
    }
    const errors: unknown[] = [];
    const loop = startServicePurge({ clock, logger: { error: (details) => errors.push(details) }, store, holder: "replica-a" });
    const present = async () =>
      (await store.services.getMany([gone, later, draining, active].map((record) => record.serviceArn))).map((r) => r.serviceName).sort();

    await loop.runOnce();
    assert.deepEqual(await present(), ["active", "draining", "gone", "later"]);
    clock.advance(INACTIVE_SERVICE_RETENTION_MS);
    await loop.runOnce();
    assert.deepEqual(await present(), ["active", "draining", "gone", "later"], "INACTIVE for exactly an hour: still discoverable");

    clock.advance(1);
    await loop.runOnce();
    assert.deepEqual(await present(), ["active", "draining", "later"]);
    assert.deepEqual(await store.serviceDeployments.list(gone.serviceArn, { limit: 10 }), [], "its deployment history went with it");
    assert.deepEqual(await store.tags.list(gone.serviceArn), [], "and its tags");
    assert.equal((await store.serviceDeployments.list(draining.serviceArn, { limit: 10 })).length, 1);

    clock.advance(60_000);
    await loop.runOnce();
    assert.deepEqual(await present(), ["active", "draining"]);
    assert.deepEqual(await store.tags.list(active.serviceArn), [{ key: "team", value: "a" }]);
    await loop.stop();
    assert.deepEqual(errors, []);
  });
});
