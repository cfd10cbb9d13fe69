import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { ManualClock } from "../../test/support/control-plane.js";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { SecretRecord, Store } from "../store/index.js";
import { startSecretPurge } from "./secret-purge.js";

const DAY_MS = 86_400_000;

function secret(name: string, at: number): SecretRecord {
  return {
    arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`,
    name,
    description: undefined,
    kmsKeyId: undefined,
    tags: [],
    createdAt: at,
    lastChangedAt: at,
    lastAccessedAt: undefined,
    deletedAt: undefined,
    purgeAt: undefined,
  };
}

eachStoreBackend((backend) => {
  let store: Store;
  let clock: ManualClock;
  beforeEach(async () => {
    store = await backend.open();
    clock = new ManualClock();
  });
  afterEach(() => store.close());

  test("a secret past its deletion date is purged with its versions; a restored one and a live one stay", async () => {
    const at = clock.now();
    const [gone, restored, live] = [secret("gone", at), secret("restored", at), secret("live", at)];
    for (const record of [gone, restored, live]) {
      assert.equal(
        await store.secrets.create(record, { versionId: "v".repeat(32), createdAt: at, stages: ["AWSCURRENT"], kind: "string", sealedValue: "e1.x" }),
        true,
      );
    }
    assert.equal(await store.secrets.create(secret("gone", at), undefined), false, "a name is taken once");
    for (const record of [gone, restored]) await store.secrets.locked(record.arn, (locked) => locked.change({ deletedAt: at, purgeAt: at + 7 * DAY_MS }));
    await store.secrets.locked(restored.arn, (locked) => locked.change({ deletedAt: undefined, purgeAt: undefined }));
    const errors: unknown[] = [];
    const loop = startSecretPurge({ clock, logger: { error: (details) => errors.push(details) }, store, holder: "replica-a" });
    const present = async () => (await store.secrets.list()).map((record) => record.name).sort();

    await loop.runOnce();
    assert.deepEqual(await present(), ["gone", "live", "restored"]);
    clock.advance(7 * DAY_MS);
    await loop.runOnce();
    assert.deepEqual(await present(), ["live", "restored"]);
    assert.deepEqual(await store.secrets.versions(gone.arn), [], "its versions went with it");
    assert.equal((await store.secrets.versions(live.arn)).length, 1);
    assert.equal(await store.secrets.create(secret("gone", clock.now()), undefined), true, "the name is free again");
    await loop.stop();
    assert.deepEqual(errors, []);
  });

  test("locked() finds no secret that is gone, and holds a secret's versions for its labels", async () => {
    const record = secret("labels", clock.now());
    await store.secrets.create(record, undefined);
    assert.equal(await store.secrets.locked(`${record.arn}x`, async () => "ran"), undefined);
    await store.secrets.locked(record.arn, async (locked) => {
      await locked.addVersion({ versionId: "a".repeat(32), createdAt: 1, stages: ["AWSCURRENT"], kind: "string", sealedValue: "e1.a" });
      await locked.addVersion({ versionId: "b".repeat(32), createdAt: 2, stages: [], kind: "binary", sealedValue: "e1.b" });
      await locked.setStages("a".repeat(32), ["AWSPREVIOUS"]);
      await locked.setStages("b".repeat(32), ["AWSCURRENT"]);
    });
    assert.deepEqual(
      (await store.secrets.versions(record.arn)).map((version) => [version.versionId[0], version.stages, version.kind]),
      [
        ["a", ["AWSPREVIOUS"], "string"],
        ["b", ["AWSCURRENT"], "binary"],
      ],
    );
  });

  test("versions() reads no values; sealedValue() reads the one asked for", async () => {
    const record = secret("values", clock.now());
    await store.secrets.create(record, { versionId: "a".repeat(32), createdAt: 1, stages: ["AWSCURRENT"], kind: "string", sealedValue: "e1.a" });
    const [version] = await store.secrets.versions(record.arn);
    assert.ok(version && !("sealedValue" in version), "listing versions carries no sealed values");
    assert.equal(await store.secrets.sealedValue(record.arn, "a".repeat(32)), "e1.a");
    assert.equal(await store.secrets.sealedValue(record.arn, "b".repeat(32)), undefined);
    assert.equal(await store.secrets.locked(record.arn, (locked) => locked.sealedValue("a".repeat(32))).then((done) => done?.value), "e1.a");
  });
});
