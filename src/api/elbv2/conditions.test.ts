// Rule conditions: AWS's answer form, its characters and lengths, the five-value limit, and
// hostile values (spaces, quotes, control characters, injections) refused before they can reach
// the proxy's config.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkConditions } from "./conditions.js";

test("host-header and path-pattern answer both Values and their configuration; the others their configuration", () => {
  assert.deepEqual(
    checkConditions([
      { Field: "host-header", Values: ["*.example.com"] },
      { Field: "path-pattern", PathPatternConfig: { Values: ["/api/*"] } },
    ]),
    [
      { Field: "host-header", Values: ["*.example.com"], HostHeaderConfig: { Values: ["*.example.com"] } },
      { Field: "path-pattern", Values: ["/api/*"], PathPatternConfig: { Values: ["/api/*"] } },
    ],
  );
  assert.deepEqual(checkConditions([{ Field: "source-ip", SourceIpConfig: { Values: ["192.168.0.0/16"] } }]), [
    { Field: "source-ip", SourceIpConfig: { Values: ["192.168.0.0/16"] } },
  ]);
});

test("at most one host-header, path-pattern, method and source-ip; http-header and query-string may repeat; five values in all", () => {
  assert.throws(() => checkConditions([]), { name: "ValidationError" });
  assert.throws(
    () =>
      checkConditions([
        { Field: "host-header", Values: ["a"] },
        { Field: "host-header", Values: ["b"] },
      ]),
    /only one 'host-header'/,
  );
  assert.doesNotThrow(() =>
    checkConditions([
      { Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "A", Values: ["1"] } },
      { Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "B", Values: ["2"] } },
    ]),
  );
  assert.throws(
    () =>
      checkConditions([
        { Field: "path-pattern", Values: ["/1", "/2", "/3"] },
        { Field: "host-header", Values: ["a", "b", "c"] },
      ]),
    /'5' condition values/,
  );
  assert.throws(() => checkConditions([{ Field: "path-pattern", Values: ["/a"], PathPatternConfig: { Values: ["/b"] } }]), { name: "ValidationError" });
});

test("hostile values are refused", () => {
  const hostile = [
    { Field: "path-pattern", Values: ["/a b"] },
    { Field: "path-pattern", Values: ['/a"b'] },
    { Field: "path-pattern", Values: ["/a\\b"] },
    { Field: "path-pattern", Values: ["/a\rb"] },
    { Field: "path-pattern", Values: ["/%0a"] },
    { Field: "path-pattern", Values: [`/${"a".repeat(128)}`] },
    { Field: "host-header", Values: ["a b"] },
    { Field: "host-header", Values: ["a/b"] },
    { Field: "host-header", Values: ["ex\u00e4mple.com"] },
    { Field: "host-header", Values: ["a".repeat(129)] },
    { Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X Y", Values: ["1"] } },
    { Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "x".repeat(41), Values: ["1"] } },
    { Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X", Values: ["a b"] } },
    { Field: "http-request-method", Values: ["GET POST"] },
    { Field: "query-string", QueryStringConfig: { Values: [{ Key: "a", Value: "b c" }] } },
    { Field: "query-string", QueryStringConfig: { Values: [{ Key: "a=b", Value: "c" }] } },
    { Field: "source-ip", Values: ["10.0.0.1"] },
    { Field: "source-ip", Values: ["10.0.0.0/8 "] },
    { Field: "source-ip", Values: ["2001:db8::/32"] },
  ];
  for (const condition of hostile) assert.throws(() => checkConditions([condition]), { name: "ValidationError" }, JSON.stringify(condition));
});
