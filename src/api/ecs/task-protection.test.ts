import { test } from "node:test";
import assert from "node:assert/strict";
import { nextProtectedTasks } from "./task-protection.js";

const running = (taskArn: string) => ({ taskArn, lastStatus: "RUNNING" });

test("protecting adds the tasks until the new expiry and renews one already protected", () => {
  const next = nextProtectedTasks({ a: 5_000 }, [running("a"), running("b")], { enabled: true, untilMs: 9_000, nowMs: 1_000, stopped: new Set() });
  assert.deepEqual(next, { a: 9_000, b: 9_000 });
});

test("unprotecting removes only the named tasks", () => {
  const next = nextProtectedTasks({ a: 5_000, b: 5_000 }, [running("a")], { enabled: false, untilMs: 0, nowMs: 1_000, stopped: new Set() });
  assert.deepEqual(next, { b: 5_000 });
});

test("expired entries and entries of stopped tasks are dropped on every write", () => {
  const next = nextProtectedTasks({ old: 500, gone: 5_000, live: 5_000 }, [running("new")], {
    enabled: true,
    untilMs: 9_000,
    nowMs: 1_000,
    stopped: new Set(["gone"]),
  });
  assert.deepEqual(next, { live: 5_000, new: 9_000 });
});

test("a stopped task is not protected", () => {
  const next = nextProtectedTasks({}, [{ taskArn: "s", lastStatus: "STOPPED" }], { enabled: true, untilMs: 9_000, nowMs: 1_000, stopped: new Set() });
  assert.deepEqual(next, {});
});
