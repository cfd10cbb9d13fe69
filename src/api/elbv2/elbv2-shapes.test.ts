// Names, ARNs, pages and tags as ELBv2 checks them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkArn, checkName, checkTags, page } from "./elbv2-shapes.js";
import { applyAttributes, defaultAttributes } from "./attributes.js";

test("names: 32 alphanumerics or hyphens, no hyphen at either end, no internal- prefix for load balancers", () => {
  for (const ok of ["a", "web-1", "A".repeat(32)]) assert.doesNotThrow(() => checkName("Load balancer", ok));
  for (const bad of ["", "-a", "a-", "a_b", "a.b", "a b", "A".repeat(33), "internal-web", "Internal-web", "a\u0000", "ü"]) {
    assert.throws(() => checkName("Load balancer", bad), { name: "ValidationError" }, bad);
  }
  assert.doesNotThrow(() => checkName("Target group", "internal-tg"));
});

test("ARNs: the kind's resource type in this partition's form", () => {
  assert.doesNotThrow(() => checkArn("load balancer", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef"));
  assert.doesNotThrow(() => checkArn("listener rule", "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/0123456789abcdef/1/2"));
  for (const bad of [
    "",
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/01",
    "arn:aws:s3:::x",
    "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1",
  ]) {
    assert.throws(() => checkArn("load balancer", bad), { name: "ValidationError" }, bad);
  }
});

test("pages of at most PageSize with an opaque marker; bad markers and sizes refused", () => {
  const items = [1, 2, 3, 4, 5];
  const first = page(items, undefined, 2);
  assert.deepEqual(first.items, [1, 2]);
  const second = page(items, first.nextMarker, 2);
  assert.deepEqual(second.items, [3, 4]);
  assert.deepEqual(page(items, second.nextMarker, 2), { items: [5] });
  assert.throws(() => page(items, "bogus", 2), { name: "ValidationError" });
  assert.throws(() => page(items, undefined, 0), { name: "ValidationError" });
});

test("tags: 50 at most with those already there, no aws: keys, no duplicates", () => {
  assert.equal(checkTags([{ Key: "a", Value: "1" }]).get("a"), "1");
  const existing = new Map(Array.from({ length: 50 }, (_, index) => [`k${index}`, "v"]));
  assert.doesNotThrow(() => checkTags([{ Key: "k1", Value: "new" }], existing));
  assert.throws(() => checkTags([{ Key: "k50", Value: "v" }], existing), { name: "TooManyTags" });
  assert.throws(() => checkTags([{ Key: "AWS:x", Value: "v" }]), { name: "ValidationError" });
  assert.throws(
    () =>
      checkTags([
        { Key: "a", Value: "1" },
        { Key: "a", Value: "2" },
      ]),
    { name: "DuplicateTagKeys" },
  );
  assert.throws(() => checkTags([{ Key: "a\nb", Value: "1" }]), { name: "ValidationError" });
});

test("attributes: AWS's defaults per type, unknown keys and values refused", () => {
  assert.equal(defaultAttributes("application")["idle_timeout.timeout_seconds"], "60");
  assert.equal(defaultAttributes("network")["load_balancing.cross_zone.enabled"], "false");
  assert.equal(defaultAttributes("tcp-target-group")["stickiness.type"], "source_ip");
  const next = applyAttributes(
    "application",
    defaultAttributes("application"),
    [{ Key: "routing.http.desync_mitigation_mode", Value: "strictest" }],
    "Load balancer",
  );
  assert.equal(next["routing.http.desync_mitigation_mode"], "strictest");
  assert.throws(
    () => applyAttributes("network", defaultAttributes("network"), [{ Key: "idle_timeout.timeout_seconds", Value: "60" }], "Load balancer"),
    /not recognized/,
  );
  assert.throws(() => applyAttributes("application", defaultAttributes("application"), [{ Key: "__proto__", Value: "x" }], "Load balancer"), /not recognized/);
  assert.throws(
    () =>
      applyAttributes(
        "http-target-group",
        defaultAttributes("http-target-group"),
        [{ Key: "stickiness.lb_cookie.duration_seconds", Value: "0" }],
        "Target group",
      ),
    {
      name: "ValidationError",
    },
  );
});
