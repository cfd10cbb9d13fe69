import { test } from "node:test";
import assert from "node:assert/strict";
import { isIpv4Cidr, matcherCodes, validateLoadBalancerModel } from "./load-balancer-model.js";
import type { ConditionModel, LoadBalancerModel, TargetGroupModel } from "./load-balancer-model.js";

const web: TargetGroupModel = {
  id: "web",
  protocol: "HTTP",
  algorithm: "round_robin",
  slowStartSeconds: 0,
  deregistrationDelaySeconds: 300,
  healthCheck: {
    protocol: "HTTP",
    port: "traffic-port",
    path: "/health",
    intervalSeconds: 30,
    timeoutSeconds: 5,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
    matcher: "200",
  },
  targets: [{ ip: "10.0.1.4", port: 8080 }],
};

const withCondition = (condition: ConditionModel): LoadBalancerModel => ({
  id: "lb-1",
  idleTimeoutSeconds: 60,
  targetGroups: [web],
  listeners: [
    {
      id: "l-80",
      port: 80,
      protocol: "HTTP",
      rules: [{ id: "r-1", conditions: [condition], action: { type: "forward", targetGroups: [{ targetGroupId: "web", weight: 1 }] } }],
      defaultAction: { type: "fixed-response", statusCode: 404 },
    },
  ],
});
const base = withCondition({ field: "path-pattern", values: ["/api/*"] });

test("accepts a model with AWS's allowed characters", () => {
  assert.equal(validateLoadBalancerModel(withCondition({ field: "path-pattern", values: [`/a_b-c.$/~"'@:+&*?`] })).id, "lb-1");
  validateLoadBalancerModel(withCondition({ field: "host-header", values: ["*.example.com", "api-?.example.com"] }));
  validateLoadBalancerModel(withCondition({ field: "http-header", headerName: "User-Agent", values: [`*Mobile "x" #1 \\ 'y'`] }));
  validateLoadBalancerModel(withCondition({ field: "source-ip", values: ["10.0.0.0/8", "192.168.1.7/32"] }));
});

test("refuses path patterns that could leave their regex: newline, space, #, backslash, parentheses", () => {
  for (const value of ["/a\nbind :1", "/a b", "/a#b", "/a\\b", "/a(b)", "/a%0a", "", "/".repeat(129)]) {
    assert.throws(
      () => validateLoadBalancerModel(withCondition({ field: "path-pattern", values: [value] })),
      /ValidationError|path pattern/,
      JSON.stringify(value),
    );
  }
});

test("refuses host headers outside A-Z a-z 0-9 - . * ?", () => {
  for (const value of ["a.com\n", "a.com b", "a_b.com", "a.com:80", "é.com", `a"b`]) {
    assert.throws(() => validateLoadBalancerModel(withCondition({ field: "host-header", values: [value] })), /host header/, JSON.stringify(value));
  }
});

test("refuses header names that would close the fetch's argument, and values with control characters", () => {
  for (const headerName of ["x)", "x,y", "x y", "x\n", ""]) {
    assert.throws(() => validateLoadBalancerModel(withCondition({ field: "http-header", headerName, values: ["a"] })), /header name/, headerName);
  }
  for (const value of ["a\nb", "a\rb", "a\0b", "a\tb", "é"]) {
    assert.throws(
      () => validateLoadBalancerModel(withCondition({ field: "http-header", headerName: "X-A", values: [value] })),
      /header value/,
      JSON.stringify(value),
    );
  }
});

test("refuses methods, query keys and source CIDRs that are not what they claim", () => {
  assert.throws(() => validateLoadBalancerModel(withCondition({ field: "http-request-method", values: ["GET if TRUE"] })), /method/);
  assert.throws(() => validateLoadBalancerModel(withCondition({ field: "query-string", values: [{ key: "a=b", value: "x" }] })), /query string key/);
  assert.throws(() => validateLoadBalancerModel(withCondition({ field: "query-string", values: [{ value: "x\ny" }] })), /query string value/);
  for (const cidr of ["10.0.0.1/8", "10.0.0.0", "10.0.0.0/33", "0/0", "10.0.0.0/8 10.0.0.0/8"]) {
    assert.throws(() => validateLoadBalancerModel(withCondition({ field: "source-ip", values: [cidr] })), /CIDR/, cidr);
  }
});

test("refuses ids, addresses and redirect parts that are not plain", () => {
  assert.throws(() => validateLoadBalancerModel({ ...base, id: "lb 1" }), /load balancer id/);
  assert.throws(() => validateLoadBalancerModel({ ...base, targetGroups: [{ ...web, id: "Web" }] }), /target group id/);
  assert.throws(() => validateLoadBalancerModel({ ...base, targetGroups: [{ ...web, targets: [{ ip: "10.0.1.4 backup", port: 80 }] }] }), /target address/);
  const redirect = (part: object) => ({
    ...base,
    listeners: [{ ...base.listeners[0]!, defaultAction: { type: "redirect" as const, statusCode: "HTTP_301" as const, ...part } }],
  });
  validateLoadBalancerModel(redirect({ protocol: "HTTPS", port: "443", host: "#{host}", path: "/#{path}", query: "a=1&#{query}" }));
  for (const part of [{ host: "a.com\nbind" }, { path: "no-slash" }, { path: "/a b" }, { query: "a=%[src]" }, { port: "99999" }, { protocol: "FTP" }]) {
    assert.throws(() => validateLoadBalancerModel(redirect(part)), /redirect/, JSON.stringify(part));
  }
});

test("fixed responses take AWS's content types and at most 1024 bytes of body (any text: it goes to a file)", () => {
  const fixed = (action: object) => ({
    ...base,
    listeners: [{ ...base.listeners[0]!, defaultAction: { type: "fixed-response" as const, statusCode: 200, ...action } }],
  });
  validateLoadBalancerModel(fixed({ contentType: "application/json", messageBody: `{"a": "#\n\\"}` }));
  assert.throws(() => validateLoadBalancerModel(fixed({ contentType: "text/plain\nbind :1" })), /content type/);
  assert.throws(() => validateLoadBalancerModel(fixed({ messageBody: "x".repeat(1025) })), /1024/);
});

test("forward actions name known groups of the listener's protocol, weights 0–999, one above 0", () => {
  const forward = (targetGroups: { targetGroupId: string; weight: number }[]) => ({
    ...base,
    listeners: [{ ...base.listeners[0]!, defaultAction: { type: "forward" as const, targetGroups } }],
  });
  assert.throws(() => validateLoadBalancerModel(forward([{ targetGroupId: "nope", weight: 1 }])), /unknown target group/);
  assert.throws(() => validateLoadBalancerModel(forward([{ targetGroupId: "web", weight: 0 }])), /above 0/);
  assert.throws(() => validateLoadBalancerModel(forward([{ targetGroupId: "web", weight: 1000 }])), /weight/);
  const tcp = { ...base, listeners: [{ ...base.listeners[0]!, protocol: "TCP" as const }] };
  assert.throws(() => validateLoadBalancerModel(tcp), /TCP/);
});

test("health check matchers: single codes, ranges and lists, 200–599", () => {
  assert.deepEqual(matcherCodes("200"), [200]);
  assert.deepEqual(matcherCodes("200,202"), [200, 202]);
  assert.equal(matcherCodes("200-299").length, 100);
  for (const matcher of ["199", "200-", "300-200", "600", "2xx", "200;bind"]) assert.throws(() => matcherCodes(matcher), /matcher/, matcher);
  assert.throws(
    () => validateLoadBalancerModel({ ...base, targetGroups: [{ ...web, healthCheck: { ...web.healthCheck, path: "/h ealth" } }] }),
    /health check path/,
  );
  assert.throws(() => validateLoadBalancerModel({ ...base, targetGroups: [{ ...web, healthCheck: { ...web.healthCheck, timeoutSeconds: 31 } }] }), /exceed/);
});

test("CIDRs are canonical IPv4", () => {
  assert.equal(isIpv4Cidr("0.0.0.0/0"), true);
  assert.equal(isIpv4Cidr("10.1.0.0/16"), true);
  assert.equal(isIpv4Cidr("10.1.0.1/16"), false);
  assert.equal(isIpv4Cidr("256.0.0.0/8"), false);
});

test("a method starts with a letter: `--`, `-M`, `_X` are refused", () => {
  validateLoadBalancerModel(withCondition({ field: "http-request-method", values: ["GET", "M-SEARCH", "X_Y"] }));
  for (const value of ["--", "-M", "-i", "_X", ""]) {
    assert.throws(() => validateLoadBalancerModel(withCondition({ field: "http-request-method", values: [value] })), /http request method/, value);
  }
});

test("wildcards: at most 5 per rule (AWS), at most 200 wildcard values per listener", () => {
  validateLoadBalancerModel(withCondition({ field: "path-pattern", values: ["/a*b*c*d*e*"] }));
  assert.throws(() => validateLoadBalancerModel(withCondition({ field: "path-pattern", values: ["*a".repeat(63) + "b"] })), /wildcards/);
  assert.throws(() => validateLoadBalancerModel(withCondition({ field: "path-pattern", values: ["/a*b*c*", "/d*e?f?"] })), /wildcards/);
  assert.throws(
    () => validateLoadBalancerModel(withCondition({ field: "query-string", values: [{ key: "k", value: "*a*b*c" }, { value: "??x?" }] })),
    /wildcards/,
  );
  const listener = base.listeners[0]!;
  const rules = (count: number) =>
    Array.from({ length: count }, (_, index) => ({
      ...listener.rules[0]!,
      id: `r-${index}`,
      conditions: [{ field: "path-pattern" as const, values: ["/a*", "/b*", "/c*", "/d*", "/e*"] }],
    }));
  validateLoadBalancerModel({ ...base, listeners: [{ ...listener, rules: rules(40) }] });
  assert.throws(() => validateLoadBalancerModel({ ...base, listeners: [{ ...listener, rules: rules(41) }] }), /wildcards per listener/);
});

test("per-node budgets: 1000 targets over all groups, 500 rules over all listeners", () => {
  const targets = (group: number, count: number) => Array.from({ length: count }, (_, index) => ({ ip: `10.${group}.${index >> 8}.${index & 255}`, port: 80 }));
  const groups = (count: number, each: number) => Array.from({ length: count }, (_, index) => ({ ...web, id: `g${index}`, targets: targets(index, each) }));
  validateLoadBalancerModel({ ...base, targetGroups: [web, ...groups(3, 333)] });
  assert.throws(() => validateLoadBalancerModel({ ...base, targetGroups: [web, ...groups(2, 500)] }), /1000 targets over all/);
  const listener = base.listeners[0]!;
  const listeners = Array.from({ length: 6 }, (_, at) => ({
    ...listener,
    id: `l-${at}`,
    port: 80 + at,
    rules: Array.from({ length: 100 }, (_, index) => ({
      ...listener.rules[0]!,
      id: `r-${index}`,
      conditions: [{ field: "path-pattern" as const, values: ["/x"] }],
    })),
  }));
  validateLoadBalancerModel({ ...base, listeners: listeners.slice(0, 5) });
  assert.throws(() => validateLoadBalancerModel({ ...base, listeners }), /500 rules over all/);
});

test("targets on loopback, 0/8, link-local, multicast, reserved or broadcast addresses are refused", () => {
  for (const ip of ["127.0.0.1", "127.9.9.9", "0.0.0.0", "0.1.2.3", "169.254.169.254", "224.0.0.1", "239.1.1.1", "240.0.0.1", "255.255.255.255"]) {
    assert.throws(() => validateLoadBalancerModel({ ...base, targetGroups: [{ ...web, targets: [{ ip, port: 80 }] }] }), /loopback, link-local/, ip);
  }
  for (const ip of ["10.0.0.1", "172.16.0.1", "192.168.0.1", "100.64.0.1", "169.253.0.1", "223.255.255.254"]) {
    validateLoadBalancerModel({ ...base, targetGroups: [{ ...web, targets: [{ ip, port: 80 }] }] });
  }
});

test("an HTTPS listener needs a certificate bundle of PEM blocks only; other listeners take none", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nREVG\n-----END PRIVATE KEY-----\n";
  const https = (tls: unknown): LoadBalancerModel => ({
    ...base,
    listeners: [
      { ...base.listeners[0]!, port: 443, protocol: "HTTPS", ...(tls === undefined ? {} : { tls: tls as { pemBundle: string; minVersion: "TLSv1.2" } }) },
    ],
  });
  assert.doesNotThrow(() => validateLoadBalancerModel(https({ pemBundle: pem, minVersion: "TLSv1.2" })));
  assert.throws(() => validateLoadBalancerModel(https(undefined)), /has no certificate/);
  // Anything but PEM blocks (a config line, a path, text around the blocks) is refused.
  for (const pemBundle of [`${pem}\n    bind :22`, `crt /etc/shadow\n${pem}`, "", pem.replace("QUJD", "QU JD"), "-----BEGIN X-----\n-----END X-----\n"]) {
    assert.throws(() => validateLoadBalancerModel(https({ pemBundle, minVersion: "TLSv1.2" })), /certificate bundle/, JSON.stringify(pemBundle));
  }
  assert.throws(() => validateLoadBalancerModel(https({ pemBundle: pem, minVersion: "SSLv3" })), /minimum TLS version/);
  assert.throws(
    () => validateLoadBalancerModel({ ...base, listeners: [{ ...base.listeners[0]!, tls: { pemBundle: pem, minVersion: "TLSv1.2" } }] }),
    /only an HTTPS/,
  );
});
