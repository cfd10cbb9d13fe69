import { test } from "node:test";
import assert from "node:assert/strict";
import { targetHealth } from "./target-health.js";

const inUse = { draining: false, groupInUse: true };

test("a target HAProxy does not have yet is initial, registration in progress", () => {
  assert.deepEqual(targetHealth(undefined, inUse), {
    State: "initial",
    Reason: "Elb.RegistrationInProgress",
    Description: "Target registration is in progress",
  });
});

test("no check result yet is initial health checking", () => {
  assert.deepEqual(targetHealth({ status: "UP", checkStatus: "INI" }, inUse), {
    State: "initial",
    Reason: "Elb.InitialHealthChecking",
    Description: "Initial health checking in progress",
  });
});

test("UP, and UP on its way down, are healthy with no reason", () => {
  assert.deepEqual(targetHealth({ status: "UP", checkStatus: "L7OK", checkCode: 200 }, inUse), { State: "healthy" });
  assert.deepEqual(targetHealth({ status: "UP 1/2", checkStatus: "L7STS", checkCode: 503 }, inUse), { State: "healthy" });
});

test("a refused status code is a response code mismatch naming the code", () => {
  assert.deepEqual(targetHealth({ status: "DOWN", checkStatus: "L7STS", checkCode: 503 }, inUse), {
    State: "unhealthy",
    Reason: "Target.ResponseCodeMismatch",
    Description: "Health checks failed with these codes: [503]",
  });
});

test("a check timeout is Target.Timeout; a refused connection or bad reply is Target.FailedHealthChecks", () => {
  assert.deepEqual(targetHealth({ status: "DOWN", checkStatus: "L4TOUT" }, inUse), {
    State: "unhealthy",
    Reason: "Target.Timeout",
    Description: "Request timed out",
  });
  assert.deepEqual(targetHealth({ status: "DOWN 1/2", checkStatus: "L7TOUT" }, inUse), {
    State: "unhealthy",
    Reason: "Target.Timeout",
    Description: "Request timed out",
  });
  assert.deepEqual(targetHealth({ status: "DOWN", checkStatus: "L4CON" }, inUse), {
    State: "unhealthy",
    Reason: "Target.FailedHealthChecks",
    Description: "Health checks failed",
  });
  assert.deepEqual(targetHealth({ status: "DOWN", checkStatus: "L7RSP" }, inUse).Reason, "Target.FailedHealthChecks");
});

test("a draining target is draining whatever its checks say", () => {
  const draining = { State: "draining", Reason: "Target.DeregistrationInProgress", Description: "Target deregistration is in progress" };
  assert.deepEqual(targetHealth({ status: "UP", checkStatus: "L7OK" }, { draining: true, groupInUse: true }), draining);
  assert.deepEqual(targetHealth({ status: "DRAIN", checkStatus: "L7OK" }, inUse), draining);
});

test("a target of a group no listener forwards to is unused", () => {
  assert.equal(targetHealth({ status: "UP", checkStatus: "L7OK" }, { draining: false, groupInUse: false }).State, "unused");
});

test("a new target passing but not yet healthy-threshold times is initial; failing, it is unhealthy", () => {
  const fresh = { draining: false, groupInUse: true, awaitingFirstPass: true };
  assert.equal(targetHealth({ status: "DOWN 1/3", checkStatus: "L7OK", checkCode: 200 }, fresh).Reason, "Elb.InitialHealthChecking");
  assert.equal(targetHealth({ status: "DOWN", checkStatus: "L7STS", checkCode: 500 }, fresh).Reason, "Target.ResponseCodeMismatch");
  assert.deepEqual(targetHealth({ status: "UP", checkStatus: "L7OK", checkCode: 200 }, fresh), { State: "healthy" });
  assert.equal(targetHealth({ status: "DOWN 1/3", checkStatus: "L7OK", checkCode: 200 }, inUse).State, "unhealthy", "recovering is not initial");
});
