import { test } from "node:test";
import assert from "node:assert/strict";
import type { Action } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { StoredListener, StoredLoadBalancer, StoredRule, StoredTarget, StoredTargetGroup } from "../store/index.js";
import { compileLoadBalancerModel, forwardedTargetGroupArns, loadBalancerNodeId } from "./load-balancer-model-compile.js";

const ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012";
const LB = `${ARN}:loadbalancer/app/web/50dc6c495c0c9188`;
const listenerArn = (id: string) => `${ARN}:listener/app/web/50dc6c495c0c9188/${id}`;
const ruleArn = (listener: string, id: string) => `${ARN}:listener-rule/app/web/50dc6c495c0c9188/${listener}/${id}`;
const groupArn = (name: string, id: string) => `${ARN}:targetgroup/${name}/${id}`;
const NODE = "elb50dc6c495c0c9188";

const loadBalancer: StoredLoadBalancer = {
  arn: LB,
  name: "web",
  createdAt: 0,
  loadBalancer: { LoadBalancerArn: LB, Type: "application" },
  attributes: { "idle_timeout.timeout_seconds": "75" },
};
const group = (name: string, id: string, protocol = "HTTP", attributes: Record<string, string> = {}): StoredTargetGroup => ({
  arn: groupArn(name, id),
  name,
  createdAt: 0,
  targetGroup: {
    TargetGroupArn: groupArn(name, id),
    Protocol: protocol as "HTTP",
    TargetType: "ip",
    HealthCheckPath: "/health",
    Matcher: { HttpCode: "200-299" },
  },
  attributes,
});
const target = (ip: string, draining = false): StoredTarget => ({
  targetGroupArn: "",
  id: ip,
  port: 80,
  registeredAt: 0,
  ...(draining ? { deregisterAt: 1 } : {}),
});
const forward = (arn: string): Action[] => [{ Type: "forward", TargetGroupArn: arn }];
const listener = (id: string, port: number, protocol: string, actions: Action[], extra: Partial<StoredListener["listener"]> = {}): StoredListener => ({
  arn: listenerArn(id),
  loadBalancerArn: LB,
  port,
  createdAt: 0,
  listener: { ListenerArn: listenerArn(id), Port: port, Protocol: protocol as "HTTP", DefaultActions: actions, ...extra },
});
const rule = (listener: string, id: string, priority: string, path: string, actions: Action[]): StoredRule => ({
  arn: ruleArn(listener, id),
  listenerArn: listenerArn(listener),
  priority,
  createdAt: 0,
  rule: {
    RuleArn: ruleArn(listener, id),
    Priority: priority,
    Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: [path] } }],
    Actions: actions,
  },
});

test("a load balancer compiles to a model its node accepts: ids from the ARNs, rules by priority, the default rule last, attributes applied", () => {
  const web = group("web", "73e2d6bc24d8a067", "HTTP", {
    "deregistration_delay.timeout_seconds": "5",
    "load_balancing.algorithm.type": "least_outstanding_requests",
  });
  const api = group("api", "0123456789abcdef");
  const model = compileLoadBalancerModel({
    nodeId: loadBalancerNodeId("eni-050dc6c495c0c9188"),
    loadBalancer,
    listeners: [listener("1111111111111111", 80, "HTTP", forward(web.arn))],
    rules: [
      rule("1111111111111111", "aaaaaaaaaaaaaaaa", "20", "/b/*", forward(web.arn)),
      rule("1111111111111111", "bbbbbbbbbbbbbbbb", "5", "/api/*", forward(api.arn)),
      rule("1111111111111111", "cccccccccccccccc", "default", "/", forward(web.arn)),
    ],
    targetGroups: [
      { group: web, targets: [target("10.0.1.4"), target("10.0.1.5", true)] },
      { group: api, targets: [target("10.0.1.6")] },
    ],
  });
  assert.equal(model.id, "elb50dc6c495c0c9188");
  assert.throws(() => loadBalancerNodeId("eni-../../etc"), /not a network interface id/);
  assert.equal(model.idleTimeoutSeconds, 75);
  assert.deepEqual(
    model.listeners[0]!.rules.map((compiled) => compiled.id),
    ["r-bbbbbbbbbbbbbbbb", "r-aaaaaaaaaaaaaaaa"],
    "by priority; the default rule is the listener's default action, not a rule",
  );
  const compiledWeb = model.targetGroups.find((candidate) => candidate.id === "tg-73e2d6bc24d8a067")!;
  assert.equal(compiledWeb.deregistrationDelaySeconds, 5);
  assert.equal(compiledWeb.algorithm, "least_outstanding_requests");
  assert.equal(compiledWeb.healthCheck.matcher, "200-299");
  assert.deepEqual(compiledWeb.targets, [
    { ip: "10.0.1.4", port: 80 },
    { ip: "10.0.1.5", port: 80, draining: true },
  ]);
});

test("what the data plane does not serve is left out: TLS and UDP listeners, TLS target groups, an HTTPS listener without its certificate; HTTPS groups are served", () => {
  const web = group("web", "73e2d6bc24d8a067");
  const secure = {
    ...group("secure", "fedcba9876543210", "HTTPS"),
    targetGroup: { ...group("secure", "fedcba9876543210", "HTTPS").targetGroup, HealthCheckProtocol: "HTTPS" as const },
  };
  const tls = group("tls", "0badc0ffee000000", "TLS");
  const cert = `${ARN.replace("elasticloadbalancing", "acm")}:certificate/00000000-0000-0000-0000-000000000000`;
  const listeners = [
    listener("1111111111111111", 80, "HTTP", forward(web.arn)),
    listener("2222222222222222", 8443, "HTTP", forward(secure.arn)),
    listener("3333333333333333", 443, "HTTPS", forward(web.arn), {
      Certificates: [{ CertificateArn: cert }],
      SslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    }),
    listener("4444444444444444", 53, "UDP", forward(web.arn)),
    listener("5555555555555555", 9000, "TCP", forward(tls.arn)),
  ];
  const targetGroups = [
    { group: web, targets: [target("10.0.1.4")] },
    { group: secure, targets: [target("10.0.1.5")] },
    { group: tls, targets: [target("10.0.1.6")] },
  ];
  const without = compileLoadBalancerModel({ nodeId: NODE, loadBalancer, listeners, rules: [], targetGroups });
  assert.deepEqual(
    without.listeners.map((compiled) => compiled.port),
    [80, 8443],
  );
  assert.deepEqual(
    without.targetGroups.map((compiled) => [compiled.id, compiled.protocol, compiled.healthCheck.protocol]),
    [
      ["tg-73e2d6bc24d8a067", "HTTP", "HTTP"],
      ["tg-fedcba9876543210", "HTTPS", "HTTPS"],
    ],
    "only the groups a served listener forwards to",
  );
  const pem = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nREVG\n-----END PRIVATE KEY-----\n";
  const withCertificate = compileLoadBalancerModel({ nodeId: NODE, loadBalancer, listeners, rules: [], targetGroups, certificates: new Map([[cert, pem]]) });
  const https = withCertificate.listeners.find((compiled) => compiled.port === 443)!;
  assert.equal(https.protocol, "HTTPS");
  assert.deepEqual(https.tls, { pemBundle: pem, minVersion: "TLSv1.2" });
  assert.deepEqual(forwardedTargetGroupArns(listeners, []).sort(), [secure.arn, tls.arn, web.arn].sort());
});
