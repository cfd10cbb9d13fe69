// The Logs Insights repository on the real migrations (in-memory SQLite): the concurrency bound in
// one statement, a status that ends once, stale queries expiring, log group names with LIKE's
// wildcard characters, definitions by prefix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openStore } from "./index.js";

const query = (queryId: string, createTime: number, logGroupNames = ["/app"]) => ({
  queryId,
  queryString: "fields @message",
  logGroupNames,
  startTime: 0,
  endTime: 10,
  limit: 100,
  createTime,
});

test("createQuery admits at most maxActive active queries; ended and stale ones do not count", async () => {
  const store = await openStore({ inMemory: true });
  try {
    const limit = { maxActive: 2, activeSince: 1_000 };
    assert.equal(await store.logsInsights.createQuery(query("a", 2_000), limit), true);
    assert.equal(await store.logsInsights.createQuery(query("b", 2_000), limit), true);
    assert.equal(await store.logsInsights.createQuery(query("c", 2_000), limit), false);
    assert.equal(await store.logsInsights.getQuery("c"), undefined);
    // A status leaves Scheduled/Running once.
    assert.equal(await store.logsInsights.endQuery("a", { status: "Cancelled" }), true);
    assert.equal(await store.logsInsights.endQuery("a", { status: "Complete", results: [] }), false);
    assert.equal((await store.logsInsights.getQuery("a"))!.status, "Cancelled");
    assert.equal(await store.logsInsights.recordProgress("a", { recordsMatched: 1, recordsScanned: 1, bytesScanned: 1 }), false);
    assert.equal(await store.logsInsights.createQuery(query("c", 2_000), limit), true);
    // Created before activeSince: expired by the sweep, and not counted.
    await store.logsInsights.expireActive(2_500);
    assert.equal((await store.logsInsights.getQuery("b"))!.status, "Timeout");
    assert.equal(await store.logsInsights.createQuery(query("d", 3_000), { maxActive: 1, activeSince: 2_500 }), true);
  } finally {
    await store.close();
  }
});

test("listQueries by log group matches whole names, with _ and % taken literally", async () => {
  const store = await openStore({ inMemory: true });
  try {
    const limit = { maxActive: 100, activeSince: 0 };
    await store.logsInsights.createQuery(query("q1", 1, ["/a_b"]), limit);
    await store.logsInsights.createQuery(query("q2", 2, ["/aXb"]), limit);
    await store.logsInsights.createQuery(query("q3", 3, ["/x", "/a_b"]), limit);
    await store.logsInsights.createQuery(query("q4", 4, ["/a_bc"]), limit);
    const ids = async (name: string) => (await store.logsInsights.listQueries({ logGroupName: name, limit: 10 })).map((row) => row.queryId);
    assert.deepEqual(await ids("/a_b"), ["q3", "q1"]);
    assert.deepEqual(await ids("/a%"), []);
    const page = await store.logsInsights.listQueries({ limit: 2 });
    assert.deepEqual(
      page.map((row) => row.queryId),
      ["q4", "q3"],
    );
    const next = await store.logsInsights.listQueries({ limit: 2, after: { createTime: 3, queryId: "q3" } });
    assert.deepEqual(
      next.map((row) => row.queryId),
      ["q2", "q1"],
    );
    assert.equal(await store.logsInsights.purgeQueries(3), 2);
  } finally {
    await store.close();
  }
});

test("query definitions: upsert by id, list by name prefix in pages, delete once", async () => {
  const store = await openStore({ inMemory: true });
  try {
    const put = (id: string, name: string) =>
      store.logsInsights.putDefinition({ queryDefinitionId: id, name, queryString: "q", logGroupNames: ["/g"], lastModified: 1 });
    await put("1", "ops/errors");
    await put("2", "ops/latency");
    await put("3", "other");
    await put("1", "ops/errors-renamed");
    assert.equal(await store.logsInsights.countDefinitions(), 3);
    const first = await store.logsInsights.listDefinitions({ namePrefix: "ops/", limit: 1 });
    assert.deepEqual(
      first.map((row) => row.name),
      ["ops/errors-renamed"],
    );
    const rest = await store.logsInsights.listDefinitions({ namePrefix: "ops/", limit: 5, after: { name: first[0]!.name, queryDefinitionId: "1" } });
    assert.deepEqual(
      rest.map((row) => row.name),
      ["ops/latency"],
    );
    assert.equal(await store.logsInsights.deleteDefinition("2"), true);
    assert.equal(await store.logsInsights.deleteDefinition("2"), false);
  } finally {
    await store.close();
  }
});
