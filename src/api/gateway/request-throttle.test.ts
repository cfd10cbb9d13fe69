import { test } from "node:test";
import assert from "node:assert/strict";
import { RequestThrottle } from "./request-throttle.js";
import { ByteBudget } from "./request-body.js";

const limits = { perKeyRatePerSecond: 2, perKeyBurst: 4, authFailuresPerAddressPerSecond: 1, authFailuresPerAddressBurst: 3 };

test("an address is refused once its failures spend the burst, and let in again as the bucket refills", () => {
  let now = 0;
  const throttle = new RequestThrottle(limits, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(throttle.addressMayTry("10.0.0.1"), true, `failure ${i}`);
    throttle.chargeFailure("10.0.0.1");
  }
  assert.equal(throttle.addressMayTry("10.0.0.1"), false);
  assert.equal(throttle.addressMayTry("10.0.0.2"), true, "other addresses are not affected");
  now += 999;
  assert.equal(throttle.addressMayTry("10.0.0.1"), false);
  now += 2;
  assert.equal(throttle.addressMayTry("10.0.0.1"), true, "one token back after a second");
});

test("a key is admitted up to its burst, then at its rate; 0 turns a limit off", () => {
  let now = 0;
  const throttle = new RequestThrottle(limits, () => now);
  assert.deepEqual(
    Array.from({ length: 6 }, () => throttle.admitKey("AKIA1")),
    [true, true, true, true, false, false],
  );
  now += 500;
  assert.equal(throttle.admitKey("AKIA1"), true);
  assert.equal(throttle.admitKey("AKIA1"), false);
  const off = new RequestThrottle({ ...limits, perKeyRatePerSecond: 0, authFailuresPerAddressPerSecond: 0 }, () => now);
  for (let i = 0; i < 100; i++) off.chargeFailure("10.0.0.1");
  assert.equal(off.addressMayTry("10.0.0.1"), true);
  assert.ok(Array.from({ length: 100 }, () => off.admitKey("AKIA1")).every(Boolean));
});

test("unverified body bytes are capped in all and per address, and given back", () => {
  const budget = new ByteBudget(10, 6);
  assert.equal(budget.take("a", 6), true);
  assert.equal(budget.take("a", 1), false, "per address");
  assert.equal(budget.take("b", 4), true);
  assert.equal(budget.take("c", 1), false, "in all");
  budget.give("a", 6);
  assert.equal(budget.take("c", 5), true);
});
