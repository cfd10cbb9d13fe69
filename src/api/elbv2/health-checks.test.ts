// Health check settings: AWS's defaults per protocol, bounds, matcher codes and hostile paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HealthCheckSettings } from "./health-checks.js";
import { checkGrpcCode, checkHealthCheckPath, checkHttpCode, healthCheckSettings } from "./health-checks.js";

test("defaults: HTTP groups check over HTTP on / for 200 (timeout 5), TCP groups over TCP (timeout 10)", () => {
  assert.deepEqual(healthCheckSettings("HTTP", "HTTP1", {}), {
    HealthCheckProtocol: "HTTP",
    HealthCheckPort: "traffic-port",
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: 30,
    HealthCheckTimeoutSeconds: 5,
    HealthyThresholdCount: 5,
    UnhealthyThresholdCount: 2,
    HealthCheckPath: "/",
    Matcher: { HttpCode: "200" },
  });
  const tcp = healthCheckSettings("TCP", undefined, {});
  assert.deepEqual([tcp.HealthCheckProtocol, tcp.HealthCheckTimeoutSeconds, tcp.HealthCheckPath, tcp.Matcher], ["TCP", 10, undefined, undefined]);
  assert.deepEqual(healthCheckSettings("TCP", undefined, { HealthCheckProtocol: "HTTP" }).Matcher, { HttpCode: "200-399" });
  assert.deepEqual(healthCheckSettings("HTTP", "GRPC", {}).Matcher, { GrpcCode: "12" });
  assert.equal(healthCheckSettings("HTTPS", "HTTP1", {}).HealthCheckProtocol, "HTTPS");
});

test("a modification keeps what it does not name and is checked against the result", () => {
  const current = healthCheckSettings("HTTP", "HTTP1", { HealthCheckPath: "/health", HealthCheckIntervalSeconds: 10 });
  const next = healthCheckSettings("HTTP", "HTTP1", { HealthyThresholdCount: 3 }, current);
  assert.deepEqual([next.HealthCheckPath, next.HealthCheckIntervalSeconds, next.HealthyThresholdCount], ["/health", 10, 3]);
  assert.throws(() => healthCheckSettings("HTTP", "HTTP1", { HealthCheckTimeoutSeconds: 10 }, current), /smaller than the interval/);
});

test("bounds and combinations AWS refuses", () => {
  const refused: HealthCheckSettings[] = [
    { HealthCheckIntervalSeconds: 4 },
    { HealthCheckIntervalSeconds: 301 },
    { HealthCheckTimeoutSeconds: 1 },
    { HealthyThresholdCount: 1 },
    { UnhealthyThresholdCount: 11 },
    { HealthCheckPort: "0" },
    { HealthCheckPort: "65536" },
    { HealthCheckPort: "80; rm" },
    { HealthCheckProtocol: "TCP" },
    { HealthCheckProtocol: "UDP" },
    { Matcher: { GrpcCode: "0" } },
  ];
  for (const given of refused) {
    assert.throws(() => healthCheckSettings("HTTP", "HTTP1", given), { name: "ValidationError" }, JSON.stringify(given));
  }
  assert.throws(() => healthCheckSettings("TCP", undefined, { HealthCheckPath: "/x" }), { name: "ValidationError" });
});

test("matcher codes: single, lists and ranges within the load balancer type's bounds", () => {
  for (const ok of ["200", "200,202", "200-299", "200-499", "404,200-299"]) assert.doesNotThrow(() => checkHttpCode(ok, 200, 499));
  for (const bad of ["199", "500", "200-", "299-200", "2xx", "200 ", "200,,201", "1,2,3,4,5,6,7,8,9,10,11"]) {
    assert.throws(() => checkHttpCode(bad, 200, 499), { name: "ValidationError" }, bad);
  }
  assert.doesNotThrow(() => checkHttpCode("200-599", 200, 599));
  assert.doesNotThrow(() => checkGrpcCode("0-99"));
  assert.throws(() => checkGrpcCode("100"), { name: "ValidationError" });
});

test("paths: start with /, printable, no spaces, quotes, backslashes or control characters, 1024 at most", () => {
  for (const ok of ["/", "/health?full=1", "/a/b-c_d.e~f"]) assert.doesNotThrow(() => checkHealthCheckPath(ok));
  for (const bad of ["", "health", "/a b", '/a"b', "/a\\b", "/a\tb", "/a\u0000", "/é", `/${"a".repeat(1024)}`]) {
    assert.throws(() => checkHealthCheckPath(bad), { name: "ValidationError" }, JSON.stringify(bad));
  }
});
