// What lets several replicas share one store: store-wide locks, leases with fencing, signals
// between replicas, migrations that run once. Each backend is tested the same; on PostgreSQL the
// "replicas" are separate stores (separate pools) opened on one database.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { eachStoreBackend, postgresBackend } from "../../test/support/store-backends.js";
import { freshPostgresDatabase } from "../../test/support/postgres.js";
import type { Store } from "./index.js";
import { LeaseLostError, openStore, StoreLockTimeout } from "./index.js";

eachStoreBackend((backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(() => store.close());

  test("a lease is held by one holder until it expires, and each change of hands raises the fencing token", async () => {
    const first = await store.leases.acquire("reaper", "replica-a", 1_000, 10_000);
    assert.equal(first?.fencingToken, 1);
    assert.equal(await store.leases.acquire("reaper", "replica-b", 5_000, 10_000), undefined, "held by a until 11 000");
    const renewed = await store.leases.acquire("reaper", "replica-a", 6_000, 10_000);
    assert.deepEqual(renewed, { name: "reaper", holder: "replica-a", fencingToken: 1, expiresAtMs: 16_000 }, "a renewal keeps the token");
    const taken = await store.leases.acquire("reaper", "replica-b", 16_000, 10_000);
    assert.deepEqual(taken, { name: "reaper", holder: "replica-b", fencingToken: 2, expiresAtMs: 26_000 });
    await store.leases.release(taken!);
    assert.equal((await store.leases.acquire("reaper", "replica-a", 17_000, 10_000))?.fencingToken, 3, "a released lease is free at once");
  });

  test("fenced writes are made only while the lease is held at its token", async () => {
    const stale = (await store.leases.acquire("gc", "replica-a", 0, 1_000))!;
    await store.fenced(
      stale,
      () => 500,
      (tx) => tx.accountSettings.put("p", "a", "1"),
    );
    const fresh = (await store.leases.acquire("gc", "replica-b", 2_000, 1_000))!;
    await assert.rejects(
      store.fenced(
        stale,
        () => 2_100,
        (tx) => tx.accountSettings.put("p", "a", "2"),
      ),
      (error: unknown) => error instanceof LeaseLostError,
    );
    await assert.rejects(
      store.fenced(
        fresh,
        () => 3_500,
        async () => undefined,
      ),
      LeaseLostError,
      "an expired lease fences its own holder out too",
    );
    await store.fenced(
      fresh,
      () => 2_500,
      (tx) => tx.accountSettings.put("p", "b", "3"),
    );
    assert.deepEqual((await store.accountSettings.list()).map((setting) => [setting.name, setting.value]).sort(), [
      ["a", "1"],
      ["b", "3"],
    ]);
  });

  test("a failed exclusive transaction writes nothing", async () => {
    await assert.rejects(
      store.exclusively("placement", async (tx) => {
        await tx.accountSettings.put("p", "x", "1");
        throw new Error("planner failed");
      }),
      /planner failed/,
    );
    assert.deepEqual(await store.accountSettings.list(), []);
  });

  test("signals reach this replica's subscribers", async () => {
    const heard: (string | undefined)[] = [];
    const unsubscribe = store.signals.subscribe("host-tasks", (key) => heard.push(key));
    store.signals.publish("host-tasks", "host-1");
    unsubscribe();
    store.signals.publish("host-tasks", "host-2");
    assert.deepEqual(heard, ["host-1"]);
  });
});

test("on postgres, replicas: exclusive transactions never interleave, signals cross, leases race to one winner, migrations run once", async () => {
  const database = await freshPostgresDatabase();
  // Opened together: both migrate the empty database at once, and one waits for the other.
  const [a, b] = await Promise.all([openStore({ url: database.url, maxConnections: 8 }), openStore({ url: database.url, maxConnections: 8 })]);
  try {
    // A read-modify-write under the lock, 40 times from each replica at once: no update is lost.
    await a.accountSettings.put("p", "counter", "0");
    const bump = (store: Store) =>
      store.exclusively("placement", async (tx) => {
        const [current] = await tx.accountSettings.list();
        await new Promise((resolve) => setTimeout(resolve, 1));
        await tx.accountSettings.put("p", "counter", String(Number(current!.value) + 1));
      });
    await Promise.all(Array.from({ length: 40 }, (_, i) => bump(i % 2 === 0 ? a : b)));
    assert.equal((await b.accountSettings.list())[0]!.value, "40");

    const heard: (string | undefined)[] = [];
    b.signals.subscribe("host-tasks", (key) => heard.push(key));
    a.signals.publish("host-tasks", "host-7");
    const deadline = Date.now() + 5_000;
    while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(heard, ["host-7"], "a NOTIFY from replica a wakes replica b");

    // One log batch delivered to both replicas at once (an agent's retry racing the original): stored once.
    const group = (await a.logs.createGroup({ name: "g", createdAt: 0, logGroupClass: "STANDARD", tags: {} }))!;
    const stream = (await a.logs.createStream(group.id, "s", 0))!;
    const batch = Array.from({ length: 50 }, (_, i) => ({ timestamp: i, message: `line ${i}`, sourceOffset: i * 10 }));
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).logs.appendEvents(stream, batch, 1)));
    const stored = await b.logs.groupEvents({ groupId: group.id, range: {}, limit: 1_000 });
    assert.equal(stored.length, 50, "every line once");

    const winners = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).leases.acquire("race", `replica-${i}`, 0, 60_000)));
    assert.equal(winners.filter(Boolean).length, 1, "one holder of a contested lease");
  } finally {
    await a.close();
    await b.close();
    await database.drop();
  }
});

test("on postgres, bigint columns come back as numbers and a store URL must be postgres://", async () => {
  const store = await postgresBackend.open();
  try {
    const lease = await store.leases.acquire("big", "r", 2 ** 50, 1);
    assert.equal(typeof lease?.expiresAtMs, "number");
    assert.equal(lease?.expiresAtMs, 2 ** 50 + 1);
  } finally {
    await store.close();
  }
  await assert.rejects(openStore({ url: "mysql://localhost/berth" }), /postgres:\/\//);
});

eachStoreBackend((backend) => {
  test("a NUL in a string finds nothing when looked up and is kept (SQLite) or replaced by U+FFFD (PostgreSQL) when stored", async () => {
    const store = await backend.open();
    try {
      assert.equal(await store.clusters.get("a\u0000b"), undefined);
      await store.accountSettings.put("p", "n", "x\u0000y");
      const [setting] = await store.accountSettings.list();
      assert.equal(setting!.value, backend.name === "postgres" ? "x\uFFFDy" : "x\u0000y");
    } finally {
      await store.close();
    }
  });
});

test("on postgres, a store-wide lock held too long makes the next taker fail with StoreLockTimeout, having written nothing", async () => {
  const database = await freshPostgresDatabase();
  const a = await openStore({ url: database.url, maxConnections: 4 });
  const b = await openStore({ url: database.url, maxConnections: 4, lockWaitMs: 200 });
  try {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let taken: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (taken = resolve));
    const slow = a.exclusively("placement", async () => {
      taken();
      await held;
    });
    await holding;
    await assert.rejects(
      b.exclusively("placement", (tx) => tx.accountSettings.put("p", "late", "1")),
      (error: unknown) => error instanceof StoreLockTimeout,
    );
    release();
    await slow;
    assert.deepEqual(await b.accountSettings.list(), []);
  } finally {
    await a.close();
    await b.close();
    await database.drop();
  }
});

test("on postgres, a tool's check-only store refuses a schema it would have to migrate, and opens a current one without migrating", async () => {
  const database = await freshPostgresDatabase();
  try {
    await assert.rejects(openStore({ url: database.url, schema: "check" }), /older than this berth's/);
    const server = await openStore({ url: database.url });
    await server.close();
    const tool = await openStore({ url: database.url, schema: "check" });
    await tool.close();
  } finally {
    await database.drop();
  }
});
