// The control plane's named values: made once whoever asks first, changed only by compare-and-set;
// on PostgreSQL two replicas racing to make a value end up with one value between them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import { freshPostgresDatabase } from "../../test/support/postgres.js";
import { openStore } from "./index.js";

eachStoreBackend((backend) => {
  test("a value is created once; later creates get the first value back", async () => {
    const store = await backend.open();
    try {
      assert.equal(await store.controlPlaneState.get("account-id"), undefined);
      assert.deepEqual(await store.controlPlaneState.createOnce("account-id", "111111111111", 1), { value: "111111111111", created: true });
      assert.deepEqual(await store.controlPlaneState.createOnce("account-id", "222222222222", 2), { value: "111111111111", created: false });
      assert.equal(await store.controlPlaneState.get("account-id"), "111111111111");
      assert.equal(await store.controlPlaneState.get("registry-token-key"), undefined, "values are independent");
    } finally {
      await store.close();
    }
  });

  test("replace changes a value only from the value the caller read", async () => {
    const store = await backend.open();
    try {
      await store.controlPlaneState.createOnce("bootstrap-join-token", "old", 1);
      assert.equal(await store.controlPlaneState.replace("bootstrap-join-token", "stale", "mine", 2), false);
      assert.equal(await store.controlPlaneState.get("bootstrap-join-token"), "old");
      assert.equal(await store.controlPlaneState.replace("bootstrap-join-token", "old", "new", 3), true);
      assert.equal(await store.controlPlaneState.replace("bootstrap-join-token", "old", "other", 4), false, "the second of two racers loses");
      assert.equal(await store.controlPlaneState.get("bootstrap-join-token"), "new");
      assert.equal(await store.controlPlaneState.replace("root-access-key", "x", "y", 5), false, "a value that does not exist is not created");
      assert.equal(await store.controlPlaneState.get("root-access-key"), undefined);
    } finally {
      await store.close();
    }
  });

  test("values are stored as given, long sealed values and quotes included", async () => {
    const store = await backend.open();
    try {
      const sealed = `v1.${"A".repeat(16)}.${"B".repeat(24)}.${"C/+=".repeat(500)}'"; --`;
      await store.controlPlaneState.createOnce("root-access-key", sealed, 1);
      assert.equal(await store.controlPlaneState.get("root-access-key"), sealed);
    } finally {
      await store.close();
    }
  });
});

test("on postgres, two replicas racing to create the same values end up with the same ones", async () => {
  const database = await freshPostgresDatabase();
  const [a, b] = await Promise.all([openStore({ url: database.url, maxConnections: 8 }), openStore({ url: database.url, maxConnections: 8 })]);
  try {
    const names = ["account-id", "store-key-check", "registry-token-key", "root-access-key"] as const;
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const name = names[i % names.length]!;
        return (i % 2 === 0 ? a : b).controlPlaneState.createOnce(name, `${name}-from-${i}`, i).then((outcome) => ({ name, ...outcome }));
      }),
    );
    for (const name of names) {
      const mine = outcomes.filter((outcome) => outcome.name === name);
      assert.equal(mine.filter((outcome) => outcome.created).length, 1, `one creator of ${name}`);
      assert.equal(new Set(mine.map((outcome) => outcome.value)).size, 1, `every racer got the same ${name}`);
      assert.equal(await a.controlPlaneState.get(name), mine[0]!.value);
      assert.equal(await b.controlPlaneState.get(name), mine[0]!.value);
    }
    // Compare-and-set from both replicas at once: exactly one renewal wins.
    await a.controlPlaneState.createOnce("bootstrap-join-token", "expired", 0);
    const renewals = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).controlPlaneState.replace("bootstrap-join-token", "expired", `new-${i}`, i)),
    );
    assert.equal(renewals.filter(Boolean).length, 1);
    const winner = renewals.indexOf(true);
    assert.equal(await b.controlPlaneState.get("bootstrap-join-token"), `new-${winner}`);
  } finally {
    await a.close();
    await b.close();
    await database.drop();
  }
});
