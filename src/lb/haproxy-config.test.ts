import { test } from "node:test";
import assert from "node:assert/strict";
import { bodyFile, compileHaproxyConfig, cookieValue, maxConnectionsFor, serverName, statusAlternatives, wildcardRegex } from "./haproxy-config.js";
import type { ActionModel, LoadBalancerModel, RuleModel, TargetGroupModel } from "./load-balancer-model.js";
import { validateLoadBalancerModel } from "./load-balancer-model.js";

const group = (id: string, extra: Partial<TargetGroupModel> = {}): TargetGroupModel => ({
  id,
  protocol: "HTTP",
  algorithm: "round_robin",
  slowStartSeconds: 0,
  deregistrationDelaySeconds: 300,
  healthCheck: {
    protocol: "HTTP",
    port: "traffic-port",
    path: "/health",
    intervalSeconds: 10,
    timeoutSeconds: 5,
    healthyThreshold: 3,
    unhealthyThreshold: 2,
    matcher: "200",
  },
  targets: [{ ip: "10.0.1.4", port: 8080 }],
  ...extra,
});
const forward = (...groups: [string, number][]): ActionModel => ({
  type: "forward",
  targetGroups: groups.map(([targetGroupId, weight]) => ({ targetGroupId, weight })),
});
const model = (rules: RuleModel[], defaultAction: ActionModel = forward(["web", 1]), groups = [group("web"), group("api")]): LoadBalancerModel =>
  validateLoadBalancerModel({
    id: "lb-1",
    idleTimeoutSeconds: 75,
    targetGroups: groups,
    listeners: [{ id: "l-80", port: 80, protocol: "HTTP", rules, defaultAction }],
  });
const compile = (m: LoadBalancerModel) => compileHaproxyConfig(m, { stateDir: "/var/lib/berth/lb/lb-1" });
const lines = (text: string) => text.split("\n").map((line) => line.trim());

test("global: master-worker, an admin socket in the state dir exposing the listeners, hard-stop-after, server state kept", () => {
  const text = compile(model([])).text;
  assert.ok(lines(text).includes("master-worker"));
  assert.ok(lines(text).includes("stats socket /var/lib/berth/lb/lb-1/admin.sock mode 600 level admin expose-fd listeners"));
  assert.match(text, /^ {4}hard-stop-after \d+s$/m);
  assert.match(text, /^ {4}server-state-file \/var\/lib\/berth\/lb\/lb-1\/servers.state$/m);
  assert.match(text, /^ {4}load-server-state-from-file global$/m);
});

test("defaults: the idle timeout is the client, server and keep-alive timeout", () => {
  const text = compile(model([])).text;
  for (const line of ["timeout client 75s", "timeout server 75s", "timeout http-keep-alive 75s", "option idle-close-on-response"])
    assert.ok(lines(text).includes(line), line);
});

test("rules are classified in order into txn.rule, then acted on by that number; no match is the default action", () => {
  const text = compile(
    model([
      { id: "a", conditions: [{ field: "path-pattern", values: ["/api/*"] }], action: forward(["api", 1]) },
      {
        id: "b",
        conditions: [{ field: "http-request-method", values: ["POST"] }],
        action: { type: "redirect", protocol: "HTTPS", port: "443", statusCode: "HTTP_302" },
      },
    ]),
  ).text;
  const body = lines(text);
  const classifyA = body.indexOf("http-request set-var(txn.rule) int(1) if !{ var(txn.rule) -m found } r1c0");
  const classifyB = body.indexOf("http-request set-var(txn.rule) int(2) if !{ var(txn.rule) -m found } r2c0");
  assert.ok(classifyA > 0 && classifyB > classifyA);
  assert.ok(body.includes("acl r1c0 path -m reg '^\\x2fapi\\x2f.*$'"));
  assert.ok(body.includes("use_backend tg-api if { var(txn.rule) -m int eq 1 }"));
  assert.ok(body.includes("http-request redirect location https://%[req.hdr(host),field(1,:)]%[path] code 302 if { var(txn.rule) -m int eq 2 }"));
  assert.ok(body.includes("use_backend tg-web if !{ var(txn.rule) -m found }"));
});

test("a weighted forward picks by one random number per request against cumulative thresholds", () => {
  const text = compile(model([], forward(["web", 80], ["api", 20]))).text;
  const body = lines(text);
  assert.ok(body.includes("http-request set-var(txn.pick) rand(1000)"));
  assert.ok(body.includes("use_backend tg-web if !{ var(txn.rule) -m found } { var(txn.pick) -m int lt 800 }"));
  assert.ok(body.includes("use_backend tg-api if !{ var(txn.rule) -m found }"));
  assert.equal(compile(model([])).text.includes("rand("), false, "no pick without weights");
});

test("group stickiness keeps the chosen backend in a cookie, checked before the pick", () => {
  const sticky: ActionModel = { ...(forward(["web", 1], ["api", 1]) as Extract<ActionModel, { type: "forward" }>), stickinessSeconds: 3600 };
  const body = lines(compile(model([], sticky)).text);
  const cookie = body.indexOf("use_backend tg-web if !{ var(txn.rule) -m found } { req.cook(BERTHTG) -m str tg-web }");
  const pick = body.indexOf("use_backend tg-web if !{ var(txn.rule) -m found } { var(txn.pick) -m int lt 500 }");
  assert.ok(cookie > 0 && pick > cookie);
  assert.ok(body.includes("http-response add-header Set-Cookie BERTHTG=%[be_name];Max-Age=3600;Path=/ if !{ var(txn.rule) -m found }"));
});

test("backends: balance, check settings, matcher, slow start, stable server names, drain as weight 0", () => {
  const groups = [
    group("web", {
      algorithm: "least_outstanding_requests",
      slowStartSeconds: 30,
      healthCheck: { ...group("web").healthCheck, port: 9000, matcher: "200-299,302" },
      targets: [
        { ip: "10.0.1.4", port: 8080 },
        { ip: "10.0.1.5", port: 8080, draining: true },
      ],
    }),
    group("api"),
  ];
  const body = lines(compile(model([], forward(["web", 1]), groups)).text);
  assert.ok(body.includes("balance leastconn"));
  assert.ok(body.includes("option httpchk GET /health"));
  assert.ok(body.includes("timeout check 5s"));
  assert.ok(body.includes("http-check expect rstatus '^(20[0-9]|21[0-9]|22[0-9]|23[0-9]|24[0-9]|25[0-9]|26[0-9]|27[0-9]|28[0-9]|29[0-9]|302)$'"));
  assert.ok(body.includes("server t-0a000104-1f90 10.0.1.4:8080 check inter 10s fall 2 rise 3 port 9000 slowstart 30s"));
  assert.ok(body.includes("server t-0a000105-1f90 10.0.1.5:8080 check inter 10s fall 2 rise 3 port 9000 slowstart 30s weight 0"));
  assert.ok(lines(compile(model([])).text).includes("http-check expect status 200"));
});

test("new targets named in startDisabled start in maintenance", () => {
  const body = lines(compileHaproxyConfig(model([]), { stateDir: "/run/lb" }, new Set(["tg-api/t-0a000104-1f90"])).text);
  assert.ok(body.includes("server t-0a000104-1f90 10.0.1.4:8080 check inter 10s fall 2 rise 3 disabled"));
  assert.ok(body.includes("server t-0a000104-1f90 10.0.1.4:8080 check inter 10s fall 2 rise 3"), "the other group's is enabled");
});

test("a TCP listener is a tcp frontend with its group as default backend", () => {
  const tcp = validateLoadBalancerModel({
    id: "nlb-1",
    idleTimeoutSeconds: 350,
    targetGroups: [group("db", { protocol: "TCP", healthCheck: { ...group("db").healthCheck, protocol: "TCP" } })],
    listeners: [{ id: "l-5432", port: 5432, protocol: "TCP", rules: [], defaultAction: forward(["db", 1]) }],
  });
  const text = compileHaproxyConfig(tcp, { stateDir: "/run/lb" }).text;
  assert.match(text, /frontend ls-l-5432\n {4}bind 0\.0\.0\.0:5432\n {4}mode tcp\n {4}default_backend tg-db/);
  assert.doesNotMatch(text, /httpchk/);
});

test("HTTPS groups: TLS to the targets and their checks, certificates not verified; HTTP checks of an HTTPS group and HTTPS checks of an HTTP group; HTTP checks of a TCP group", () => {
  const https = group("web", { protocol: "HTTPS", healthCheck: { ...group("web").healthCheck, protocol: "HTTPS" } });
  const httpsCheckedOverHttp = group("api", { protocol: "HTTPS", targets: [{ ip: "10.0.1.5", port: 8443 }] });
  const body = lines(compile(model([], forward(["web", 1], ["api", 1]), [https, httpsCheckedOverHttp])).text);
  assert.ok(body.includes("server t-0a000104-1f90 10.0.1.4:8080 check inter 10s fall 2 rise 3 ssl verify none check-ssl"));
  assert.ok(body.includes("server t-0a000105-20fb 10.0.1.5:8443 check inter 10s fall 2 rise 3 ssl verify none no-check-ssl"));
  assert.equal(body.filter((line) => line === "mode http").length >= 3, true, "HTTPS groups are http backends");
  const checkedOverHttps = group("web", { healthCheck: { ...group("web").healthCheck, protocol: "HTTPS" } });
  assert.ok(
    lines(compile(model([], forward(["web", 1]), [checkedOverHttps, group("api")])).text).includes(
      "server t-0a000104-1f90 10.0.1.4:8080 check inter 10s fall 2 rise 3 check-ssl verify none",
    ),
  );
  const tcp = validateLoadBalancerModel({
    id: "nlb-1",
    idleTimeoutSeconds: 350,
    targetGroups: [group("db", { protocol: "TCP" })],
    listeners: [{ id: "l-5432", port: 5432, protocol: "TCP", rules: [], defaultAction: forward(["db", 1]) }],
  });
  const tcpBody = lines(compileHaproxyConfig(tcp, { stateDir: "/run/lb" }).text);
  assert.ok(tcpBody.includes("mode tcp") && tcpBody.includes("option httpchk GET /health"), "a TCP group checked over HTTP");
  // An HTTPS group cannot serve a TCP listener, nor a TCP group an HTTP one.
  assert.throws(() => model([], forward(["db", 1]), [group("db", { protocol: "TCP" }), group("web"), group("api")]), /cannot serve/);
});

test("hostile text allowed by AWS reaches the config only as \\xHH escapes inside single quotes, bodies only as files", () => {
  const hostile = `*"x" 'y' #z \\w $HOME %[src] ;bind :1`;
  const body = `"quoted" #not-a-comment\nbind :1\n$HOME`;
  const compiled = compile(
    model([
      { id: "h", conditions: [{ field: "http-header", headerName: "X-Test", values: [hostile] }], action: forward(["api", 1]) },
      {
        id: "q",
        conditions: [{ field: "query-string", values: [{ key: "k", value: hostile }] }],
        action: { type: "fixed-response", statusCode: 503, messageBody: body },
      },
    ]),
  );
  const header = lines(compiled.text).find((line) => line.startsWith("acl r1c0"))!;
  assert.equal(
    header,
    `acl r1c0 req.hdr(X-Test) -i -m reg '^.*\\x22x\\x22\\x20\\x27y\\x27\\x20\\x23z\\x20\\x5cw\\x20\\x24HOME\\x20\\x25\\x5bsrc\\x5d\\x20\\x3bbind\\x20\\x3a1$'`,
  );
  for (const fragment of ['"x"', "'y'", "#z", "$HOME", "%[src]", ";bind", "bind :1"]) {
    assert.equal(compiled.text.includes(fragment), false, `${fragment} appears raw`);
  }
  assert.equal(compiled.files.get(bodyFile(body)), body);
  assert.ok(
    lines(compiled.text).includes(
      `http-request return status 503 content-type text/plain file /var/lib/berth/lb/lb-1/${bodyFile(body)} if { var(txn.rule) -m int eq 2 }`,
    ),
  );
});

test("refuses an unsafe state dir or an unchecked id", () => {
  assert.throws(() => compileHaproxyConfig(model([]), { stateDir: "/tmp/a b" }), /unsafe state dir/);
  assert.throws(() => compileHaproxyConfig(model([]), { stateDir: "/tmp/../etc" }), /unsafe state dir/);
  assert.throws(() => compileHaproxyConfig({ ...model([]), id: "x\ny" }, { stateDir: "/tmp/x" }), /unsafe load balancer id/);
});

test("helpers: server names from ip:port, wildcard regexes, status alternatives", () => {
  assert.equal(serverName({ ip: "10.251.0.11", port: 80 }), "t-0afb000b-0050");
  assert.equal(wildcardRegex("/a?*.b"), "'^\\x2fa..*\\x2eb$'");
  assert.deepEqual(statusAlternatives([200, 202]), ["200", "202"]);
});

test("wildcards compile to linear regexes: literal pieces in order, middle ones in atomic groups, stars collapsed", () => {
  assert.equal(wildcardRegex("/exact"), "'^\\x2fexact$'");
  assert.equal(wildcardRegex("/api/*"), "'^\\x2fapi\\x2f.*$'");
  assert.equal(wildcardRegex("*.png"), "'^.*\\x2epng$'");
  assert.equal(wildcardRegex("/a*b**c?*d"), "'^\\x2fa(?>.*?b)(?>.*?c.).*d$'");
  assert.equal(wildcardRegex("*a*", { any: "[^&]", start: "(^|&)", end: "(&|$)" }), "'(^|&)(?>[^&]*?a)[^&]*(&|$)'");
  // The same regexes in JavaScript (PCRE's atomic group emulated by a lookahead and backreference) agree with AWS's meaning.
  const matchesPattern = (pattern: string, subject: string) => {
    const source = wildcardRegex(pattern)
      .slice(1, -1)
      .replace(/\\x([0-9a-f]{2})/g, (_, hex: string) => `\\u00${hex}`);
    let group = 0;
    const emulated = source.replace(/\(\?>([^)]*)\)/g, (_, inner: string) => `(?=(${inner}))\\${++group}`);
    return new RegExp(emulated).test(subject);
  };
  const cases: [string, string, boolean][] = [
    ["/a*b*c", "/axxbyyc", true],
    ["/a*b*c", "/acb", false],
    ["/a*b*c", "/abbc", true],
    ["/a*ab*b", "/aab", false],
    ["/a*ab*b", "/aaabb", true],
    ["*a?c*", "/xxabcyy", true],
    ["*a?c*", "/xxacyy", false],
    ["/x*y", "/xy", true],
  ];
  for (const [pattern, subject, expected] of cases) assert.equal(matchesPattern(pattern, subject), expected, `${pattern} vs ${subject}`);
  // No star ever becomes two adjacent unbounded runs (what backtracks exponentially).
  const worst = wildcardRegex("*a*a*a*a*ab");
  assert.equal(/\.\*\.\*|\.\*[^(?]*\.\*/.test(worst.replace(/\(\?>\.\*\?/g, "")), false, worst);
});

test("a method is written after `--`: it can never be read as an ACL flag", () => {
  const compiled = compile(model([{ id: "m", conditions: [{ field: "http-request-method", values: ["GET", "M-SEARCH"] }], action: forward(["api", 1]) }]));
  assert.ok(lines(compiled.text).includes("acl r1c0 method -- GET M-SEARCH"));
});

test("fixed-response bodies are named by content: ids with dashes or `default` never collide", () => {
  const fixed = (messageBody: string): ActionModel => ({ type: "fixed-response", statusCode: 200, messageBody });
  const rule = (id: string, path: string, body: string): RuleModel => ({ id, conditions: [{ field: "path-pattern", values: [path] }], action: fixed(body) });
  const compiled = compileHaproxyConfig(
    validateLoadBalancerModel({
      id: "lb-1",
      idleTimeoutSeconds: 60,
      targetGroups: [],
      listeners: [
        { id: "a", port: 80, protocol: "HTTP", rules: [rule("b-c", "/public", "PUBLIC"), rule("default", "/x", "RULE")], defaultAction: fixed("DEFAULT A") },
        { id: "a-b", port: 81, protocol: "HTTP", rules: [rule("c", "/admin", "SECRET")], defaultAction: fixed("DEFAULT AB") },
      ],
    }),
    { stateDir: "/s" },
  );
  assert.deepEqual([...compiled.files.values()].sort(), ["DEFAULT A", "DEFAULT AB", "PUBLIC", "RULE", "SECRET"]);
  for (const [file, body] of compiled.files) assert.ok(compiled.text.includes(`file /s/${file} `), `${body} is served from its own file`);
});

test("the target stickiness cookie value is an HMAC under the node's key, not the address", () => {
  const key = "00112233445566778899aabbccddeeff";
  const sticky = compileHaproxyConfig(model([], forward(["web", 1]), [group("web", { stickinessSeconds: 60 })]), { stateDir: "/s", cookieKey: key });
  const server = lines(sticky.text).find((line) => line.startsWith("server "))!;
  const value = cookieValue("tg-web/t-0a000104-1f90", key);
  assert.ok(server.includes(` cookie ${value}`), server);
  assert.equal(server.split(" cookie ")[1]!.includes("0a000104"), false);
  assert.notEqual(cookieValue("tg-web/t-0a000104-1f90", "ff".repeat(16)), value, "another node's key gives another value");
  assert.throws(() => compileHaproxyConfig(model([], forward(["web", 1]), [group("web", { stickinessSeconds: 60 })]), { stateDir: "/s" }), /cookie key/);
});

test("global sets maxconn to fit the open-file hard limit HAProxy inherits (it refuses to start above it)", () => {
  assert.ok(lines(compile(model([])).text).includes("maxconn 20000"));
  assert.ok(lines(compileHaproxyConfig(model([]), { stateDir: "/s", maxConnections: maxConnectionsFor(20_000) }).text).includes("maxconn 9375"));
  assert.equal(maxConnectionsFor(1_048_576), 20_000);
  // 2 per connection + one per server check and listener at the node's budgets + HAProxy's own stay within the limit.
  assert.ok(maxConnectionsFor(20_000) * 2 + 1000 + 50 + 100 <= 20_000);
  assert.throws(() => maxConnectionsFor(1024), /too few/);
});
