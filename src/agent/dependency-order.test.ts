import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { conditionVerdict, remainingStartTimeoutMs, startOrder } from "./dependency-order.js";

const defs = (entries: [string, [string, string][]][]): ContainerDefinition[] =>
  entries.map(([name, deps]) => ({ name, dependsOn: deps.map(([containerName, condition]) => ({ containerName, condition: condition as "START" })) }));

test("containers start after their dependencies, ties in task-definition order; stop is the reverse", () => {
  assert.deepEqual(
    startOrder(
      defs([
        [
          "app",
          [
            ["init", "SUCCESS"],
            ["proxy", "HEALTHY"],
          ],
        ],
        ["proxy", []],
        ["init", []],
        ["log", []],
      ]),
    ),
    ["init", "proxy", "app", "log"],
  );
  assert.throws(
    () =>
      startOrder(
        defs([
          ["a", [["b", "START"]]],
          ["b", [["a", "START"]]],
        ]),
      ),
    /dependsOn cycle through container a/,
  );
  assert.throws(() => startOrder(defs([["a", [["ghost", "START"]]]])), /depends on unknown container ghost/);
});

test("START is met once the dependency ran, COMPLETE once it exited, whatever its exit code", () => {
  assert.equal(conditionVerdict("START", { phase: "CREATED", health: "UNKNOWN" }), "not-yet");
  assert.equal(conditionVerdict("START", { phase: "RUNNING", health: "UNKNOWN" }), "met");
  assert.equal(conditionVerdict("START", { phase: "STOPPED", exitCode: 1, health: "UNKNOWN" }), "met");
  assert.equal(conditionVerdict("COMPLETE", { phase: "RUNNING", health: "UNKNOWN" }), "not-yet");
  assert.equal(conditionVerdict("COMPLETE", { phase: "STOPPED", exitCode: 3, health: "UNKNOWN" }), "met");
});

test("SUCCESS needs exit 0 and can never be met after another exit code", () => {
  assert.equal(conditionVerdict("SUCCESS", { phase: "RUNNING", health: "UNKNOWN" }), "not-yet");
  assert.equal(conditionVerdict("SUCCESS", { phase: "STOPPED", exitCode: 0, health: "UNKNOWN" }), "met");
  assert.equal(conditionVerdict("SUCCESS", { phase: "STOPPED", exitCode: 1, health: "UNKNOWN" }), "never");
});

test("HEALTHY needs a passed health check; unhealthy or exited dependencies never become it", () => {
  assert.equal(conditionVerdict("HEALTHY", { phase: "RUNNING", health: "UNKNOWN" }), "not-yet");
  assert.equal(conditionVerdict("HEALTHY", { phase: "RUNNING", health: "HEALTHY" }), "met");
  assert.equal(conditionVerdict("HEALTHY", { phase: "RUNNING", health: "UNHEALTHY" }), "never");
  assert.equal(conditionVerdict("HEALTHY", { phase: "STOPPED", exitCode: 0, health: "UNKNOWN" }), "never");
  assert.equal(conditionVerdict(undefined, { phase: "NONE", health: "UNKNOWN" }), "met", "no condition: nothing to wait for");
});

test("a dependency's startTimeout counts from its own start", () => {
  assert.equal(remainingStartTimeoutMs({ name: "db", startTimeout: 10 }, 1_000, 4_000), 7_000);
  assert.equal(remainingStartTimeoutMs({ name: "db", startTimeout: 10 }, 1_000, 60_000), 0);
  assert.equal(remainingStartTimeoutMs({ name: "db", startTimeout: 10 }, undefined, 4_000), undefined, "not started yet: no clock running");
  assert.equal(remainingStartTimeoutMs({ name: "db" }, 1_000, 4_000), undefined);
});
