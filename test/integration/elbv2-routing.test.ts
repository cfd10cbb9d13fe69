// ELBv2 listeners, rules, tags and SSL policies on one real `berth server` through the SDK v3
// client: default actions (forward, weighted forward with stickiness, redirect, fixed-response),
// DuplicateListener, a port taken on modify, target groups of the wrong protocol or of another
// load balancer, HTTPS listeners on an ACM certificate; rules with AWS's conditions, priorities
// (PriorityInUse, SetRulePriorities) and the undeletable default rule; hostile path patterns,
// host headers, header names and redirect parts; tags (TooManyTags at 50); the load balancer's
// delete taking its listeners and rules.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ACMClient, ImportCertificateCommand } from "@aws-sdk/client-acm";
import type { Action, RuleCondition } from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeAccountLimitsCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeSSLPoliciesCommand,
  DescribeTagsCommand,
  ModifyListenerCommand,
  ModifyRuleCommand,
  RemoveTagsCommand,
  SetRulePrioritiesCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import type { Elbv2Fixture } from "../support/elbv2-fixtures.js";
import { elbv2Fixture, rejectsWithElbError } from "../support/elbv2-fixtures.js";

let server: TestServer;
let f: Elbv2Fixture;
let lbArn: string;
let tgArn: string;
let dir: string;
before(async () => {
  server = await startTestServer();
  f = await elbv2Fixture(server);
  dir = mkdtempSync(join(tmpdir(), "berth-elbv2-"));
  lbArn = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "routing", Subnets: [f.subnets[0]!.id, f.subnets[1]!.id] }))).LoadBalancers![0]!
    .LoadBalancerArn!;
  tgArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: "routing-tg", Protocol: "HTTP", Port: 80, VpcId: f.vpcId, TargetType: "ip" })))
    .TargetGroups![0]!.TargetGroupArn!;
});
after(async () => {
  await server.stop();
  await server.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const forward = (arn: string): Action[] => [{ Type: "forward", TargetGroupArn: arn }];
const listen = (Port: number, DefaultActions: Action[], extra: Partial<ConstructorParameters<typeof CreateListenerCommand>[0]> = {}) =>
  f.elb.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "HTTP", Port, DefaultActions, ...extra })).then((out) => out.Listeners![0]!);
const tg = (Name: string, extra: Partial<ConstructorParameters<typeof CreateTargetGroupCommand>[0]> = {}) =>
  f.elb
    .send(new CreateTargetGroupCommand({ Name, Protocol: "HTTP", Port: 80, VpcId: f.vpcId, TargetType: "ip", ...extra }))
    .then((out) => out.TargetGroups![0]!.TargetGroupArn!);

test("listeners: forward answers AWS's form, the same create again is the same listener, a taken port is DuplicateListener", async () => {
  const listener = await listen(80, forward(tgArn));
  assert.match(listener.ListenerArn!, /^arn:aws:elasticloadbalancing:us-east-1:123456789012:listener\/app\/routing\/[0-9a-f]{16}\/[0-9a-f]{16}$/);
  assert.deepEqual(listener.DefaultActions, [
    {
      Type: "forward",
      Order: 1,
      TargetGroupArn: tgArn,
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: tgArn, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: false } },
    },
  ]);
  assert.equal((await listen(80, forward(tgArn))).ListenerArn, listener.ListenerArn);
  await rejectsWithElbError(
    listen(80, [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "404" } }]),
    "DuplicateListener",
    `A listener already exists on this port for this load balancer '${lbArn}'`,
  );
  const described = (await f.elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }))).Listeners!;
  assert.deepEqual(
    described.map((one) => one.Port),
    [80],
  );
  const rules = (await f.elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }))).Rules!;
  assert.deepEqual(
    rules.map((rule) => [rule.Priority, rule.IsDefault, rule.Conditions]),
    [["default", true, []]],
  );
  await rejectsWithElbError(f.elb.send(new DeleteRuleCommand({ RuleArn: rules[0]!.RuleArn })), "OperationNotPermitted");
  await rejectsWithElbError(f.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tgArn })), "ResourceInUse");
});

test("listeners: weighted forward, redirect and fixed-response; hostile and mismatched actions refused", async () => {
  const other = await tg("routing-tg2");
  const weighted = await listen(8080, [
    {
      Type: "forward",
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: tgArn, Weight: 3 },
          { TargetGroupArn: other, Weight: 1 },
        ],
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 600 },
      },
    },
  ]);
  assert.deepEqual(weighted.DefaultActions![0]!.ForwardConfig?.TargetGroupStickinessConfig, { Enabled: true, DurationSeconds: 600 });
  const redirect = await listen(8081, [{ Type: "redirect", RedirectConfig: { Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301" } }]);
  assert.deepEqual(redirect.DefaultActions![0]!.RedirectConfig, {
    Protocol: "HTTPS",
    Port: "443",
    Host: "#{host}",
    Path: "/#{path}",
    Query: "#{query}",
    StatusCode: "HTTP_301",
  });
  const fixed = await listen(8082, [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503", ContentType: "text/plain", MessageBody: "down" } }]);
  assert.equal(fixed.DefaultActions![0]!.FixedResponseConfig?.MessageBody, "down");
  const refused: Action[][] = [
    [{ Type: "redirect", RedirectConfig: { StatusCode: "HTTP_301" } }],
    [{ Type: "redirect", RedirectConfig: { Host: "evil host", StatusCode: "HTTP_302" } }],
    [{ Type: "redirect", RedirectConfig: { Host: 'a"b', StatusCode: "HTTP_302" } }],
    [{ Type: "redirect", RedirectConfig: { Path: "no-slash", StatusCode: "HTTP_302" } }],
    [{ Type: "redirect", RedirectConfig: { Query: "a\nb", StatusCode: "HTTP_302" } }],
    [{ Type: "redirect", RedirectConfig: { Port: "99999", StatusCode: "HTTP_302" } }],
    [{ Type: "redirect", RedirectConfig: { Host: "x.example", StatusCode: "HTTP_307" as "HTTP_301" } }],
    [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "302" } }],
    [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200", ContentType: "text/evil" } }],
    [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200", MessageBody: "x".repeat(1025) } }],
    [{ Type: "authenticate-oidc" }],
    [{ Type: "forward" }],
    [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: tgArn, Weight: 1000 }] } }],
    [...forward(tgArn), { Type: "fixed-response", FixedResponseConfig: { StatusCode: "200" } }],
  ];
  for (const actions of refused) await rejectsWithElbError(listen(9000, actions), "ValidationError");
  await rejectsWithElbError(listen(9000, forward(tgArn.replace(/[0-9a-f]{16}$/, "0000000000000000"))), "TargetGroupNotFound");
  const tcp = await tg("routing-tcp", { Protocol: "TCP" });
  await rejectsWithElbError(listen(9000, forward(tcp)), "ValidationError", /TCP protocol/);
  const elsewhere = await tg("routing-elsewhere", { VpcId: f.otherVpcId });
  await rejectsWithElbError(listen(9000, forward(elsewhere)), "ValidationError");
  const secondLb = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "routing-b", Subnets: [f.subnets[2]!.id, f.subnets[3]!.id] }))).LoadBalancers![0]!
    .LoadBalancerArn!;
  await rejectsWithElbError(
    f.elb.send(new CreateListenerCommand({ LoadBalancerArn: secondLb, Protocol: "HTTP", Port: 80, DefaultActions: forward(tgArn) })),
    "TargetGroupAssociationLimit",
  );
  await rejectsWithElbError(listen(0, forward(tgArn)), "ValidationError");
  await rejectsWithElbError(listen(9000, forward(tgArn), { Protocol: "TCP" }), "ValidationError");
  await rejectsWithElbError(listen(9000, forward(tgArn), { SslPolicy: "ELBSecurityPolicy-2016-08" }), "ValidationError");
});

test("ModifyListener: a port in use is refused, default actions change with the default rule; HTTPS needs an ACM certificate", async () => {
  const listener = await listen(8090, forward(tgArn));
  await rejectsWithElbError(
    f.elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Port: 80 })),
    "ValidationError",
    "Listener port '80' is already in use",
  );
  const modified = (
    await f.elb.send(
      new ModifyListenerCommand({
        ListenerArn: listener.ListenerArn,
        Port: 8091,
        DefaultActions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "204" } }],
      }),
    )
  ).Listeners![0]!;
  assert.deepEqual([modified.Port, modified.DefaultActions![0]!.Type], [8091, "fixed-response"]);
  const defaultRule = (await f.elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }))).Rules![0]!;
  assert.equal(defaultRule.Actions![0]!.Type, "fixed-response");
  const missingCert = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000";
  await rejectsWithElbError(listen(443, forward(tgArn), { Protocol: "HTTPS" }), "ValidationError");
  await rejectsWithElbError(
    listen(443, forward(tgArn), { Protocol: "HTTPS", Certificates: [{ CertificateArn: missingCert }] }),
    "CertificateNotFound",
    `Certificate '${missingCert}' not found`,
  );
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=web.example.com", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")],
    {
      stdio: "ignore",
    },
  );
  const acm = new ACMClient(sdkConfig(server));
  const certificateArn = (
    await acm.send(new ImportCertificateCommand({ Certificate: readFileSync(join(dir, "c.pem")), PrivateKey: readFileSync(join(dir, "k.pem")) }))
  ).CertificateArn!;
  await rejectsWithElbError(
    listen(443, forward(tgArn), { Protocol: "HTTPS", Certificates: [{ CertificateArn: certificateArn }], SslPolicy: "Made-Up" }),
    "SSLPolicyNotFound",
  );
  const https = await listen(443, forward(tgArn), { Protocol: "HTTPS", Certificates: [{ CertificateArn: certificateArn }] });
  assert.deepEqual([https.Protocol, https.SslPolicy, https.Certificates], ["HTTPS", "ELBSecurityPolicy-2016-08", [{ CertificateArn: certificateArn }]]);
});

test("rules: conditions, PriorityInUse, ordering with the default last, SetRulePriorities, ModifyRule, hostile conditions refused", async () => {
  const listenerArn = (await listen(8100, forward(tgArn))).ListenerArn!;
  const rule = (Priority: number, Conditions: RuleCondition[]) =>
    f.elb.send(new CreateRuleCommand({ ListenerArn: listenerArn, Priority, Conditions, Actions: forward(tgArn) })).then((out) => out.Rules![0]!);
  const api = await rule(10, [{ Field: "path-pattern", Values: ["/api/*"] }]);
  assert.deepEqual(api.Conditions, [{ Field: "path-pattern", Values: ["/api/*"], PathPatternConfig: { Values: ["/api/*"] } }]);
  assert.match(api.RuleArn!, /:listener-rule\/app\/routing\/[0-9a-f]{16}\/[0-9a-f]{16}\/[0-9a-f]{16}$/);
  const host = await rule(5, [
    { Field: "host-header", HostHeaderConfig: { Values: ["*.example.com"] } },
    { Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X-Env", Values: ["blue"] } },
    { Field: "http-request-method", HttpRequestMethodConfig: { Values: ["GET"] } },
    { Field: "query-string", QueryStringConfig: { Values: [{ Key: "v", Value: "2" }] } },
    { Field: "source-ip", SourceIpConfig: { Values: ["10.0.0.0/8"] } },
  ]);
  await rejectsWithElbError(rule(10, [{ Field: "path-pattern", Values: ["/other"] }]), "PriorityInUse", "Priority '10' is currently in use");
  const order = async () => (await f.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules!.map((one) => one.Priority);
  assert.deepEqual(await order(), ["5", "10", "default"]);
  const swapped = await f.elb.send(
    new SetRulePrioritiesCommand({
      RulePriorities: [
        { RuleArn: api.RuleArn, Priority: 5 },
        { RuleArn: host.RuleArn, Priority: 10 },
      ],
    }),
  );
  assert.equal(swapped.Rules!.length, 2);
  assert.deepEqual((await f.elb.send(new DescribeRulesCommand({ RuleArns: [api.RuleArn!] }))).Rules![0]!.Priority, "5");
  const third = await rule(20, [{ Field: "path-pattern", Values: ["/third"] }]);
  await rejectsWithElbError(f.elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: third.RuleArn, Priority: 5 }] })), "PriorityInUse");
  const modified = (await f.elb.send(new ModifyRuleCommand({ RuleArn: third.RuleArn, Conditions: [{ Field: "path-pattern", Values: ["/3/*"] }] }))).Rules![0]!;
  assert.deepEqual(modified.Conditions![0]!.Values, ["/3/*"]);
  const hostile: RuleCondition[][] = [
    [{ Field: "path-pattern", Values: ["/with space"] }],
    [{ Field: "path-pattern", Values: ['/quote"d'] }],
    [{ Field: "path-pattern", Values: ["/a\nb"] }],
    [{ Field: "path-pattern", Values: [`/${"a".repeat(128)}`] }],
    [{ Field: "host-header", Values: ["evil host"] }],
    [{ Field: "host-header", Values: ["a;b.example.com"] }],
    [{ Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "Bad:Name", Values: ["x"] } }],
    [{ Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X", Values: ["a\\b"] } }],
    [{ Field: "http-request-method", HttpRequestMethodConfig: { Values: ["get"] } }],
    [{ Field: "query-string", QueryStringConfig: { Values: [{ Key: "a b", Value: "c" }] } }],
    [{ Field: "source-ip", SourceIpConfig: { Values: ["10.0.0.0/33"] } }],
    [{ Field: "source-ip", SourceIpConfig: { Values: ["::/0"] } }],
    [{ Field: "made-up", Values: ["x"] }],
    [{ Field: "path-pattern", Values: ["/1", "/2", "/3", "/4", "/5", "/6"] }],
    [
      { Field: "path-pattern", Values: ["/1"] },
      { Field: "path-pattern", Values: ["/2"] },
    ],
    [],
  ];
  for (const conditions of hostile) await rejectsWithElbError(rule(30, conditions), "ValidationError");
  await rejectsWithElbError(rule(0, [{ Field: "path-pattern", Values: ["/x"] }]), "ValidationError");
  await rejectsWithElbError(rule(50001, [{ Field: "path-pattern", Values: ["/x"] }]), "ValidationError");
  await f.elb.send(new DeleteRuleCommand({ RuleArn: third.RuleArn }));
  await rejectsWithElbError(f.elb.send(new DeleteRuleCommand({ RuleArn: third.RuleArn })), "RuleNotFound", "One or more rules not found");
});

test("network listeners forward to groups that carry their protocol: TCP to TCP or TCP_UDP, UDP to UDP; not to HTTP groups", async () => {
  const nlb = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "routing-net", Type: "network", Subnets: [f.subnets[4]!.id] }))).LoadBalancers![0]!
    .LoadBalancerArn!;
  const udp = await tg("net-udp", { Protocol: "UDP", Port: 53 });
  const tcp = await tg("net-tcp", { Protocol: "TCP", Port: 5432 });
  const netListen = (Protocol: string, Port: number, arn: string) =>
    f.elb
      .send(new CreateListenerCommand({ LoadBalancerArn: nlb, Protocol: Protocol as "TCP", Port, DefaultActions: forward(arn) }))
      .then((out) => out.Listeners![0]!);
  await rejectsWithElbError(netListen("TCP", 53, udp), "ValidationError", /cannot forward/);
  await rejectsWithElbError(netListen("HTTP", 80, tcp), "ValidationError");
  const tcp2 = await tg("net-tcp-2", { Protocol: "TCP", Port: 5432 });
  const twoGroups = {
    TargetGroups: [
      { TargetGroupArn: tcp, Weight: 1 },
      { TargetGroupArn: tcp2, Weight: 1 },
    ],
  };
  await rejectsWithElbError(
    f.elb.send(
      new CreateListenerCommand({ LoadBalancerArn: nlb, Protocol: "TCP", Port: 5432, DefaultActions: [{ Type: "forward", ForwardConfig: twoGroups }] }),
    ),
    "ValidationError",
    /only one target group/,
  );
  const listener = await netListen("TCP", 5432, tcp);
  await netListen("UDP", 53, udp);
  await rejectsWithElbError(f.elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Protocol: "UDP" })), "ValidationError", /cannot forward/);
  await rejectsWithElbError(
    f.elb.send(
      new CreateRuleCommand({ ListenerArn: listener.ListenerArn, Priority: 1, Conditions: [{ Field: "path-pattern", Values: ["/"] }], Actions: forward(tcp) }),
    ),
    "ValidationError",
  );
  await f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: nlb }));
});

test("tags on load balancers, groups, listeners and rules; TooManyTags at 50; SSL policies; account limits", async () => {
  const listenerArn = (await f.elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }))).Listeners![0]!.ListenerArn!;
  await f.elb.send(new AddTagsCommand({ ResourceArns: [lbArn, tgArn, listenerArn], Tags: [{ Key: "env", Value: "prod" }] }));
  const described = (await f.elb.send(new DescribeTagsCommand({ ResourceArns: [lbArn, tgArn, listenerArn] }))).TagDescriptions!;
  assert.deepEqual(
    described.map((one) => [one.ResourceArn, one.Tags]),
    [lbArn, tgArn, listenerArn].map((arn) => [arn, [{ Key: "env", Value: "prod" }]]),
  );
  await f.elb.send(new RemoveTagsCommand({ ResourceArns: [lbArn], TagKeys: ["env"] }));
  assert.deepEqual((await f.elb.send(new DescribeTagsCommand({ ResourceArns: [lbArn] }))).TagDescriptions![0]!.Tags, []);
  const fifty = Array.from({ length: 50 }, (_, index) => ({ Key: `k${index}`, Value: "v" }));
  await f.elb.send(new AddTagsCommand({ ResourceArns: [lbArn], Tags: fifty }));
  await rejectsWithElbError(f.elb.send(new AddTagsCommand({ ResourceArns: [lbArn], Tags: [{ Key: "one-more", Value: "v" }] })), "TooManyTags");
  await rejectsWithElbError(f.elb.send(new AddTagsCommand({ ResourceArns: [lbArn], Tags: [{ Key: "aws:x", Value: "v" }] })), "ValidationError");
  await rejectsWithElbError(
    f.elb.send(new DescribeTagsCommand({ ResourceArns: [lbArn.replace(/[0-9a-f]{16}$/, "0000000000000000")] })),
    "LoadBalancerNotFound",
  );
  await rejectsWithElbError(f.elb.send(new DescribeTagsCommand({ ResourceArns: ["arn:aws:s3:::bucket"] })), "ValidationError");
  const policies = (await f.elb.send(new DescribeSSLPoliciesCommand({ Names: ["ELBSecurityPolicy-TLS13-1-2-2021-06"] }))).SslPolicies!;
  assert.deepEqual(policies[0]!.SslProtocols, ["TLSv1.2", "TLSv1.3"]);
  assert.equal(policies[0]!.Ciphers![0]!.Name, "TLS_AES_128_GCM_SHA256");
  assert.ok((await f.elb.send(new DescribeSSLPoliciesCommand({}))).SslPolicies!.some((policy) => policy.Name === "ELBSecurityPolicy-2016-08"));
  await rejectsWithElbError(f.elb.send(new DescribeSSLPoliciesCommand({ Names: ["ELBSecurityPolicy-Nope"] })), "SSLPolicyNotFound");
  const limits = (await f.elb.send(new DescribeAccountLimitsCommand({}))).Limits!;
  assert.ok(limits.some((limit) => limit.Name === "listeners-per-application-load-balancer" && limit.Max === "50"));
});

test("DeleteLoadBalancer takes its listeners and rules with it; the group is free again", async () => {
  const listeners = (await f.elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }))).Listeners!;
  const ruleArns = (await f.elb.send(new DescribeRulesCommand({ ListenerArn: listeners[0]!.ListenerArn }))).Rules!.map((rule) => rule.RuleArn!);
  await f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn }));
  await rejectsWithElbError(f.elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn })), "LoadBalancerNotFound");
  await rejectsWithElbError(
    f.elb.send(new DescribeListenersCommand({ ListenerArns: [listeners[0]!.ListenerArn!] })),
    "ListenerNotFound",
    "One or more listeners not found",
  );
  await rejectsWithElbError(f.elb.send(new DescribeRulesCommand({ RuleArns: ruleArns })), "RuleNotFound");
  await f.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tgArn }));
});

test("values the data plane refuses are refused: header names, methods, query keys, wildcards per rule, redirect parts, bodies, zero weights", async () => {
  // A load balancer of its own: the file's last test deletes "routing".
  const ownLb = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "values", Subnets: [f.subnets[0]!.id, f.subnets[1]!.id] }))).LoadBalancers![0]!
    .LoadBalancerArn!;
  const ownTg = await tg("values-tg");
  const listen = (Port: number, DefaultActions: Action[]) =>
    f.elb.send(new CreateListenerCommand({ LoadBalancerArn: ownLb, Protocol: "HTTP", Port, DefaultActions })).then((out) => out.Listeners![0]!);
  const tgArn = ownTg;
  const listener = (await listen(9300, forward(tgArn))).ListenerArn!;
  const rule = (Conditions: RuleCondition[]) =>
    f.elb.send(new CreateRuleCommand({ ListenerArn: listener, Priority: 300, Conditions, Actions: forward(tgArn) }));
  for (const conditions of [
    [{ Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X'Y", Values: ["1"] } }],
    [{ Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X%Y", Values: ["1"] } }],
    [{ Field: "http-request-method", HttpRequestMethodConfig: { Values: ["-GET"] } }],
    [{ Field: "query-string", QueryStringConfig: { Values: [{ Key: "a%5b", Value: "1" }] } }],
    [{ Field: "query-string", QueryStringConfig: { Values: [{ Key: "a!", Value: "1" }] } }],
    [
      { Field: "host-header", HostHeaderConfig: { Values: ["*.a.*"] } },
      { Field: "path-pattern", PathPatternConfig: { Values: ["/*/?/*/?"] } },
    ],
  ] as RuleCondition[][])
    await rejectsWithElbError(rule(conditions), "ValidationError");
  await rule([
    { Field: "host-header", HostHeaderConfig: { Values: ["*.a.*"] } },
    { Field: "path-pattern", PathPatternConfig: { Values: ["/*/?"] } },
  ]);
  const refused: Action[][] = [
    [{ Type: "redirect", RedirectConfig: { Host: "a%[b]", StatusCode: "HTTP_301" } }],
    [{ Type: "redirect", RedirectConfig: { Path: "/a#b", StatusCode: "HTTP_301" } }],
    [{ Type: "redirect", RedirectConfig: { Query: "a='b'", StatusCode: "HTTP_301" } }],
    [{ Type: "redirect", RedirectConfig: { Host: "#{path}.example", StatusCode: "HTTP_301" } }],
    [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200", MessageBody: "é".repeat(513) } }],
    [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200", MessageBody: "a\u0000b" } }],
    [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: tgArn, Weight: 0 }] } }],
  ];
  for (const actions of refused) await rejectsWithElbError(listen(9301, actions), "ValidationError");
  await listen(9301, [{ Type: "redirect", RedirectConfig: { Host: "www.#{host}", Path: "/new/#{path}", Query: "#{query}&x=1", StatusCode: "HTTP_301" } }]);
  await listen(9302, [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200", MessageBody: "é".repeat(510) + "\t\r\n" } }]);
});

test("the data plane's budgets: 500 rules per load balancer (TooManyRules), 200 wildcard values per listener (ValidationError)", async () => {
  const newLb = async (Name: string) =>
    (await f.elb.send(new CreateLoadBalancerCommand({ Name, Subnets: [f.subnets[0]!.id, f.subnets[1]!.id] }))).LoadBalancers![0]!.LoadBalancerArn!;
  const fixed: Action[] = [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "404" } }];
  const listenerOn = async (LoadBalancerArn: string, Port: number) =>
    (await f.elb.send(new CreateListenerCommand({ LoadBalancerArn, Protocol: "HTTP", Port, DefaultActions: fixed }))).Listeners![0]!.ListenerArn!;
  const rule = (ListenerArn: string, Priority: number, Values: string[]) =>
    f.elb.send(new CreateRuleCommand({ ListenerArn, Priority, Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values } }], Actions: fixed }));
  const budget = await newLb("rules-budget");
  const listeners = await Promise.all([1, 2, 3, 4, 5, 6].map((port) => listenerOn(budget, 8000 + port)));
  await Promise.all(
    listeners.slice(0, 5).map(async (arn) => {
      for (let priority = 1; priority <= 100; priority++) await rule(arn, priority, [`/p${priority}`]);
    }),
  );
  await rejectsWithElbError(rule(listeners[5]!, 1, ["/one-more"]), "TooManyRules", /per load balancer/);
  const wild = await listenerOn(await newLb("wild-budget"), 80);
  for (let priority = 1; priority <= 40; priority++)
    await rule(
      wild,
      priority,
      [1, 2, 3, 4, 5].map((n) => `/w${priority}-${n}*`),
    );
  await rejectsWithElbError(rule(wild, 41, ["/x*"]), "ValidationError", /at most 200 condition values with wildcards/);
  const plain = (await rule(wild, 41, ["/no-wildcard"])).Rules![0]!.RuleArn!;
  await rejectsWithElbError(
    f.elb.send(new ModifyRuleCommand({ RuleArn: plain, Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/x*"] } }] })),
    "ValidationError",
    /at most 200 condition values with wildcards/,
  );
  await f.elb.send(new ModifyRuleCommand({ RuleArn: plain, Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/still-plain"] } }] }));
});
