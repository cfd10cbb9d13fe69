// The load balancer metrics store on SQLite and PostgreSQL: parts of a minute added to its row
// (sum and count added, min and max widened), each dimension set and minute its own row, and
// minutes before a bound purged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eachStoreBackend } from "../../test/support/store-backends.js";

const lb = "app/web/0123456789abcdef";
const tg = "targetgroup/tg/0123456789abcdef";

eachStoreBackend((backend) => {
  test("adds parts of a minute to its row, one row per dimensions and minute, and purges old minutes", async () => {
    const store = await backend.open();
    try {
      const base = { namespace: "AWS/ApplicationELB", metricName: "TargetResponseTime", loadBalancer: lb } as const;
      await store.elbMetrics.add([
        { ...base, minute: 60_000, sum: 1, count: 10, min: 0.1, max: 0.1 },
        { ...base, minute: 60_000, sum: 4, count: 10, min: 0.05, max: 0.5 },
        { ...base, targetGroup: tg, minute: 60_000, sum: 1, count: 10, min: 0.1, max: 0.1 },
        { ...base, minute: 120_000, sum: 2, count: 1, min: 2, max: 2 },
      ]);
      await store.elbMetrics.add([{ ...base, minute: 60_000, sum: 0.2, count: 1, min: 0.2, max: 0.2 }]);
      assert.deepEqual(await store.elbMetrics.aggregates("AWS/ApplicationELB", "TargetResponseTime"), [
        { ...base, minute: 60_000, sum: 5.2, count: 21, min: 0.05, max: 0.5 },
        { ...base, targetGroup: tg, minute: 60_000, sum: 1, count: 10, min: 0.1, max: 0.1 },
        { ...base, minute: 120_000, sum: 2, count: 1, min: 2, max: 2 },
      ]);
      assert.deepEqual(await store.elbMetrics.aggregates("AWS/ApplicationELB", "RequestCount"), []);
      assert.equal(await store.elbMetrics.purgeBefore(120_000), 2);
      assert.deepEqual(
        (await store.elbMetrics.aggregates("AWS/ApplicationELB", "TargetResponseTime")).map((row) => row.minute),
        [120_000],
      );
    } finally {
      await store.close();
    }
  });
});
