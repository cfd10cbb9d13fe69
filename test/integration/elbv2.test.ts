// ELBv2 load balancers, target groups and targets on one real `berth server` through the SDK v3
// client: AWS's shapes (ARNs, DNS names, states, defaults), idempotent creates, paging, attributes,
// target registration inside the VPC and the health the control plane knows, and AWS's errors for
// duplicates, unknown and malformed ARNs, bad subnets and groups, and hostile names and values.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  RemoveTagsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DeleteSecurityGroupCommand, DeleteSubnetCommand } from "@aws-sdk/client-ec2";
import type { TestServer } from "../support/server.js";
import { startTestServer } from "../support/server.js";
import type { Elbv2Fixture } from "../support/elbv2-fixtures.js";
import { elbv2Fixture, rejectsWithElbError as rejectsWithAwsError } from "../support/elbv2-fixtures.js";

let server: TestServer;
let f: Elbv2Fixture;
before(async () => {
  server = await startTestServer();
  f = await elbv2Fixture(server);
});
after(async () => {
  await server.stop();
  await server.cleanup();
});

const twoSubnets = () => [f.subnets[0]!.id, f.subnets[1]!.id];
const createLb = (name: string, extra: Partial<ConstructorParameters<typeof CreateLoadBalancerCommand>[0]> = {}) =>
  f.elb.send(new CreateLoadBalancerCommand({ Name: name, Subnets: twoSubnets(), ...extra })).then((out) => out.LoadBalancers![0]!);
const createTg = (name: string, extra: Partial<ConstructorParameters<typeof CreateTargetGroupCommand>[0]> = {}) =>
  f.elb
    .send(new CreateTargetGroupCommand({ Name: name, Protocol: "HTTP", Port: 8080, VpcId: f.vpcId, TargetType: "ip", ...extra }))
    .then((out) => out.TargetGroups![0]!);

test("CreateLoadBalancer answers AWS's shape, provisioning then active; the same create again answers the same one", async () => {
  const lb = await createLb("web-a", { Tags: [{ Key: "team", Value: "a" }] });
  assert.match(lb.LoadBalancerArn!, /^arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer\/app\/web-a\/[0-9a-f]{16}$/);
  const id = lb.LoadBalancerArn!.split("/").pop();
  assert.equal(lb.DNSName, `web-a-${id}.us-east-1.elb.amazonaws.com`);
  assert.deepEqual(
    [lb.Scheme, lb.Type, lb.IpAddressType, lb.VpcId, lb.State?.Code, lb.CanonicalHostedZoneId],
    ["internet-facing", "application", "ipv4", f.vpcId, "provisioning", "Z35SXDOTRQ7X7K"],
  );
  assert.deepEqual(
    lb.AvailabilityZones!.map((zone) => [zone.ZoneName, zone.SubnetId]),
    f.subnets.slice(0, 2).map((subnet) => [subnet.zone, subnet.id]),
  );
  assert.equal(lb.SecurityGroups?.length, 1, "the VPC's default group");
  const again = await createLb("web-a");
  assert.equal(again.LoadBalancerArn, lb.LoadBalancerArn);
  await rejectsWithAwsError(
    createLb("WEB-A", { Scheme: "internal" }),
    "DuplicateLoadBalancerName",
    "A load balancer with the same name 'WEB-A' exists, but with different settings",
  );
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const described = (await f.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }))).LoadBalancers!;
  assert.equal(described[0]?.State?.Code, "active");
  const internal = await createLb("web-internal", { Scheme: "internal" });
  assert.match(internal.DNSName!, /^internal-web-internal-[0-9a-f]{16}\.us-east-1\.elb\.amazonaws\.com$/);
  const nlb = await createLb("net-a", { Type: "network", Subnets: [f.subnets[0]!.id] });
  assert.match(nlb.LoadBalancerArn!, /:loadbalancer\/net\/net-a\/[0-9a-f]{16}$/);
  assert.match(nlb.DNSName!, /^net-a-[0-9a-f]{16}\.elb\.us-east-1\.amazonaws\.com$/);
  assert.equal(nlb.SecurityGroups, undefined);
});

test("CreateLoadBalancer refuses bad subnets, zones, groups and hostile names with AWS's errors", async () => {
  await rejectsWithAwsError(
    createLb("one-zone", { Subnets: [f.subnets[0]!.id] }),
    "ValidationError",
    "At least two subnets in two different Availability Zones must be specified",
  );
  await rejectsWithAwsError(
    createLb("nosubnet", { Subnets: ["subnet-0123456789abcdef0", f.subnets[0]!.id] }),
    "SubnetNotFound",
    "The subnet ID 'subnet-0123456789abcdef0' is not valid",
  );
  await rejectsWithAwsError(createLb("two-vpcs", { Subnets: [f.subnets[1]!.id, f.otherSubnetId] }), "InvalidConfigurationRequest");
  await rejectsWithAwsError(createLb("foreign-sg", { SecurityGroups: [f.otherGroupId] }), "InvalidSecurityGroup");
  await rejectsWithAwsError(createLb("gw", { Type: "gateway" }), "ValidationError");
  for (const name of ["-lead", "trail-", "internal-x", "a".repeat(33), "under_score", "sp ace", "dot.ted", "semi;colon", "new\nline", "ünï"]) {
    await rejectsWithAwsError(createLb(name), "ValidationError", /Load balancer name/);
  }
  await rejectsWithAwsError(createLb("bad-tags", { Tags: [{ Key: "aws:owner", Value: "x" }] }), "ValidationError");
  await rejectsWithAwsError(
    createLb("dup-tags", {
      Tags: [
        { Key: "k", Value: "1" },
        { Key: "k", Value: "2" },
      ],
    }),
    "DuplicateTagKeys",
  );
  const none = (await f.elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.map((lb) => lb.LoadBalancerName);
  assert.ok(!none.includes("one-zone") && !none.includes("bad-tags"), "nothing refused was created");
});

test("DescribeLoadBalancers by names and ARNs, in pages; unknown and malformed ARNs refused", async () => {
  for (const name of ["page-1", "page-2", "page-3"]) await createLb(name);
  const all = (await f.elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
  const seen: string[] = [];
  let marker: string | undefined;
  do {
    const out = await f.elb.send(new DescribeLoadBalancersCommand({ PageSize: 2, Marker: marker }));
    assert.ok(out.LoadBalancers!.length <= 2);
    seen.push(...out.LoadBalancers!.map((lb) => lb.LoadBalancerArn!));
    marker = out.NextMarker;
  } while (marker !== undefined);
  assert.deepEqual(
    seen,
    all.map((lb) => lb.LoadBalancerArn),
  );
  const byName = (await f.elb.send(new DescribeLoadBalancersCommand({ Names: ["page-2", "PAGE-3"] }))).LoadBalancers!;
  assert.deepEqual(
    byName.map((lb) => lb.LoadBalancerName),
    ["page-2", "page-3"],
  );
  await rejectsWithAwsError(
    f.elb.send(new DescribeLoadBalancersCommand({ Names: ["page-2", "nope"] })),
    "LoadBalancerNotFound",
    "Load balancers '[nope]' not found",
  );
  const missing = all[0]!.LoadBalancerArn!.replace(/[0-9a-f]{16}$/, "0000000000000000");
  await rejectsWithAwsError(
    f.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [missing] })),
    "LoadBalancerNotFound",
    "One or more load balancers not found",
  );
  await rejectsWithAwsError(
    f.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: ["arn:aws:nope"] })),
    "ValidationError",
    "'arn:aws:nope' is not a valid load balancer ARN",
  );
  await rejectsWithAwsError(f.elb.send(new DescribeLoadBalancersCommand({ PageSize: 401 })), "ValidationError");
  await rejectsWithAwsError(f.elb.send(new DescribeLoadBalancersCommand({ Marker: "garbage!" })), "ValidationError");
});

test("load balancer attributes: AWS's defaults, checked changes, deletion protection refusing DeleteLoadBalancer", async () => {
  const lb = await createLb("attrs");
  const arn = lb.LoadBalancerArn!;
  const attributes = async () =>
    Object.fromEntries((await f.elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn }))).Attributes!.map((a) => [a.Key, a.Value]));
  const defaults = await attributes();
  assert.deepEqual(
    [defaults["idle_timeout.timeout_seconds"], defaults["deletion_protection.enabled"], defaults["routing.http2.enabled"], defaults["access_logs.s3.enabled"]],
    ["60", "false", "true", "false"],
  );
  await f.elb.send(
    new ModifyLoadBalancerAttributesCommand({
      LoadBalancerArn: arn,
      Attributes: [
        { Key: "idle_timeout.timeout_seconds", Value: "120" },
        { Key: "deletion_protection.enabled", Value: "true" },
      ],
    }),
  );
  assert.equal((await attributes())["idle_timeout.timeout_seconds"], "120");
  const modify = (Key: string, Value: string) => f.elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: arn, Attributes: [{ Key, Value }] }));
  await rejectsWithAwsError(modify("idle_timeout.timeout_seconds", "0"), "ValidationError");
  await rejectsWithAwsError(modify("idle_timeout.timeout_seconds", "4001"), "ValidationError");
  await rejectsWithAwsError(modify("made.up", "1"), "ValidationError", "Load balancer attribute key 'made.up' is not recognized");
  await rejectsWithAwsError(modify("routing.http2.enabled", "yes"), "ValidationError");
  await rejectsWithAwsError(modify("access_logs.s3.enabled", "true"), "ValidationError");
  await rejectsWithAwsError(modify("access_logs.s3.bucket", "bad bucket\n"), "ValidationError");
  await rejectsWithAwsError(
    f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })),
    "OperationNotPermitted",
    `Load balancer '${arn}' cannot be deleted because deletion protection is enabled`,
  );
  await modify("deletion_protection.enabled", "false");
  await f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
  await rejectsWithAwsError(f.elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn })), "LoadBalancerNotFound");
  await rejectsWithAwsError(f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })), "LoadBalancerNotFound");
});

test("CreateTargetGroup: ip targets only, AWS's health check defaults per protocol, idempotent, duplicates and bad settings refused", async () => {
  const tg = await createTg("tg-http");
  assert.match(tg.TargetGroupArn!, /^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/tg-http\/[0-9a-f]{16}$/);
  assert.deepEqual(
    [tg.HealthCheckProtocol, tg.HealthCheckPort, tg.HealthCheckEnabled, tg.HealthCheckIntervalSeconds, tg.HealthCheckTimeoutSeconds, tg.HealthyThresholdCount],
    ["HTTP", "traffic-port", true, 30, 5, 5],
  );
  assert.deepEqual(
    [tg.UnhealthyThresholdCount, tg.HealthCheckPath, tg.Matcher, tg.TargetType, tg.ProtocolVersion, tg.LoadBalancerArns],
    [2, "/", { HttpCode: "200" }, "ip", "HTTP1", []],
  );
  const tcp = await createTg("tg-tcp", { Protocol: "TCP", Port: 5432 });
  assert.deepEqual([tcp.HealthCheckProtocol, tcp.HealthCheckTimeoutSeconds, tcp.HealthCheckPath, tcp.Matcher], ["TCP", 10, undefined, undefined]);
  const tcpHttpCheck = await createTg("tg-tcp-http", { Protocol: "TCP", HealthCheckProtocol: "HTTP" });
  assert.deepEqual(tcpHttpCheck.Matcher, { HttpCode: "200-399" });
  assert.equal((await createTg("tg-http")).TargetGroupArn, tg.TargetGroupArn);
  await rejectsWithAwsError(
    createTg("TG-HTTP", { Port: 9090 }),
    "DuplicateTargetGroupName",
    "A target group with the same name 'TG-HTTP' exists, but with different settings",
  );
  await rejectsWithAwsError(createTg("tg-instance", { TargetType: "instance" }), "ValidationError", /Berth runs no EC2 instances/);
  await rejectsWithAwsError(createTg("tg-default-type", { TargetType: undefined }), "ValidationError", /Berth runs no EC2 instances/);
  await rejectsWithAwsError(createTg("tg-lambda", { TargetType: "lambda" }), "ValidationError");
  await rejectsWithAwsError(createTg("tg-novpc", { VpcId: undefined }), "ValidationError");
  await rejectsWithAwsError(createTg("tg-badvpc", { VpcId: "vpc-0123456789abcdef0" }), "ValidationError");
  await rejectsWithAwsError(createTg("tg-port", { Port: 70000 }), "ValidationError");
  await rejectsWithAwsError(createTg("tg-interval", { HealthCheckIntervalSeconds: 4 }), "ValidationError");
  await rejectsWithAwsError(createTg("tg-timeout", { HealthCheckIntervalSeconds: 10, HealthCheckTimeoutSeconds: 10 }), "ValidationError");
  await rejectsWithAwsError(createTg("tg-threshold", { HealthyThresholdCount: 11 }), "ValidationError");
  await rejectsWithAwsError(createTg("tg-tcpcheck", { HealthCheckProtocol: "TCP" }), "ValidationError");
  for (const HttpCode of ["100", "200-199", "500", "abc", "200,", "200-299-300", "2000"])
    await rejectsWithAwsError(createTg("tg-matcher", { Matcher: { HttpCode } }), "ValidationError");
  assert.deepEqual((await createTg("tg-matcher-ok", { Matcher: { HttpCode: "200,202,300-399" } })).Matcher, { HttpCode: "200,202,300-399" });
  for (const HealthCheckPath of ["no-slash", "/with space", '/quote"', "/new\nline", `/${"a".repeat(1024)}`, "/a%[src]", "/a#b", "/it's", "/a\\b"]) {
    await rejectsWithAwsError(createTg("tg-path", { HealthCheckPath }), "ValidationError");
  }
  for (const name of ["-tg", "tg-", "t".repeat(33), "tg_x", "tg/x"]) await rejectsWithAwsError(createTg(name), "ValidationError", /Target group name/);
});

test("DescribeTargetGroups, ModifyTargetGroup and target group attributes", async () => {
  const tg = await createTg("tg-modify");
  const arn = tg.TargetGroupArn!;
  const modified = (
    await f.elb.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: arn, HealthCheckPath: "/health", HealthCheckIntervalSeconds: 10, Matcher: { HttpCode: "200-299" } }),
    )
  ).TargetGroups![0]!;
  assert.deepEqual(
    [modified.HealthCheckPath, modified.HealthCheckIntervalSeconds, modified.HealthCheckTimeoutSeconds, modified.Matcher?.HttpCode],
    ["/health", 10, 5, "200-299"],
  );
  await rejectsWithAwsError(f.elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: arn, HealthCheckTimeoutSeconds: 10 })), "ValidationError");
  const byName = (await f.elb.send(new DescribeTargetGroupsCommand({ Names: ["tg-modify"] }))).TargetGroups!;
  assert.equal(byName[0]?.HealthCheckPath, "/health");
  await rejectsWithAwsError(f.elb.send(new DescribeTargetGroupsCommand({ Names: ["nope"] })), "TargetGroupNotFound", "One or more target groups not found");
  await rejectsWithAwsError(
    f.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn.replace(/[0-9a-f]{16}$/, "0000000000000000")] })),
    "TargetGroupNotFound",
  );
  const attributes = async () =>
    Object.fromEntries((await f.elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))).Attributes!.map((a) => [a.Key, a.Value]));
  const defaults = await attributes();
  assert.deepEqual(
    [
      defaults["deregistration_delay.timeout_seconds"],
      defaults["stickiness.enabled"],
      defaults["stickiness.type"],
      defaults["stickiness.lb_cookie.duration_seconds"],
      defaults["slow_start.duration_seconds"],
      defaults["load_balancing.algorithm.type"],
    ],
    ["300", "false", "lb_cookie", "86400", "0", "round_robin"],
  );
  const modify = (Key: string, Value: string) => f.elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key, Value }] }));
  await modify("load_balancing.algorithm.type", "least_outstanding_requests");
  await modify("deregistration_delay.timeout_seconds", "0");
  assert.equal((await attributes())["load_balancing.algorithm.type"], "least_outstanding_requests");
  await rejectsWithAwsError(modify("slow_start.duration_seconds", "10"), "ValidationError");
  await rejectsWithAwsError(modify("deregistration_delay.timeout_seconds", "3601"), "ValidationError");
  await rejectsWithAwsError(modify("stickiness.type", "source_ip"), "ValidationError");
  await rejectsWithAwsError(modify("stickiness.app_cookie.cookie_name", "bad cookie;"), "ValidationError");
  await rejectsWithAwsError(modify("stickiness.app_cookie.cookie_name", "AWSALBAPP-1"), "ValidationError");
  await rejectsWithAwsError(
    modify("proxy_protocol_v2.enabled", "true"),
    "ValidationError",
    "Target group attribute key 'proxy_protocol_v2.enabled' is not recognized",
  );
});

test("targets: IPv4 addresses inside the VPC, health unused → initial once a listener forwards → draining, then gone; the group in use cannot be deleted", async () => {
  const lb = await createLb("targets-lb");
  const tg = await createTg("tg-targets");
  const arn = tg.TargetGroupArn!;
  const [first, second] = f.subnets;
  const inFirst = first!.cidr.replace(/\.0\/20$/, ".10");
  const inSecond = second!.cidr.replace(/\.0\/20$/, ".20");
  await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: inFirst }, { Id: inSecond, Port: 9000 }] }));
  const health = async () => (await f.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))).TargetHealthDescriptions!;
  const unused = await health();
  assert.deepEqual(
    unused.map((one) => [
      one.Target?.Id,
      one.Target?.Port,
      one.Target?.AvailabilityZone,
      one.HealthCheckPort,
      one.TargetHealth?.State,
      one.TargetHealth?.Reason,
    ]),
    [
      [inFirst, 8080, first!.zone, "8080", "unused", "Target.NotInUse"],
      [inSecond, 9000, second!.zone, "9000", "unused", "Target.NotInUse"],
    ],
  );
  assert.equal(unused[0]?.TargetHealth?.Description, "Target group is not configured to receive traffic from the load balancer");
  const register = (Id: string, extra: { AvailabilityZone?: string; Port?: number } = {}) =>
    f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id, ...extra }] }));
  await rejectsWithAwsError(
    register("10.99.0.1"),
    "ValidationError",
    "The Availability Zone is required for IP address '10.99.0.1' because it is not in the VPC",
  );
  await rejectsWithAwsError(register("10.99.0.1", { AvailabilityZone: "all" }), "ValidationError", /outside/);
  await rejectsWithAwsError(register(inFirst, { AvailabilityZone: "all" }), "ValidationError", /cannot have its Availability Zone overridden/);
  for (const id of ["i-0123456789abcdef0", "172.31.0.300", "172.31.0", "172.031.0.1", "::1", "172.31.0.1 ", "172.31.0.1;rm"])
    await rejectsWithAwsError(register(id), "ValidationError");
  await rejectsWithAwsError(register(inFirst, { Port: 0 }), "ValidationError");
  await rejectsWithAwsError(
    f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn.replace(/[0-9a-f]{16}$/, "0000000000000000"), Targets: [{ Id: inFirst }] })),
    "TargetGroupNotFound",
  );

  const listener = (
    await f.elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Protocol: "HTTP",
        Port: 80,
        DefaultActions: [{ Type: "forward", TargetGroupArn: arn }],
      }),
    )
  ).Listeners![0]!;
  assert.deepEqual((await f.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }))).TargetGroups![0]!.LoadBalancerArns, [lb.LoadBalancerArn]);
  assert.deepEqual(
    (await f.elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups!.map((one) => one.TargetGroupArn),
    [arn],
  );
  await rejectsWithAwsError(
    f.elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn!.replace(/[0-9a-f]{16}$/, "0000000000000000") })),
    "LoadBalancerNotFound",
  );
  const initial = (await health())[0]!.TargetHealth!;
  assert.deepEqual([initial.State, initial.Reason, initial.Description], ["initial", "Elb.RegistrationInProgress", "Target registration is in progress"]);
  await f.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: inSecond, Port: 9000 }] }));
  const draining = (await health()).find((one) => one.Target?.Id === inSecond)!.TargetHealth!;
  assert.deepEqual(
    [draining.State, draining.Reason, draining.Description],
    ["draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"],
  );
  await rejectsWithAwsError(f.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: "172.31.0.99" }] })), "InvalidTarget");
  const asked = (await f.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: "172.31.0.99", Port: 8080 }] })))
    .TargetHealthDescriptions!;
  assert.deepEqual([asked[0]?.TargetHealth?.State, asked[0]?.TargetHealth?.Reason], ["unused", "Target.NotRegistered"]);

  await rejectsWithAwsError(
    f.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })),
    "ResourceInUse",
    `Target group '${arn}' is currently in use by a listener or a rule`,
  );
  await f.elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
  await f.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: inFirst }] }));
  assert.deepEqual(
    (await health()).map((one) => one.Target?.Id),
    [inSecond],
    "a group no listener uses drops deregistered targets at once; the draining one stays for its delay",
  );
  await f.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
  await rejectsWithAwsError(f.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })), "TargetGroupNotFound");
});

test("EC2 refuses to delete a subnet or security group a load balancer uses, as AWS does, and allows it once the load balancer is gone", async () => {
  const vpcId = (await f.ec2.send(new CreateVpcCommand({ CidrBlock: "10.30.0.0/16" }))).Vpc!.VpcId!;
  const subnetIds: string[] = [];
  for (const [index, zone] of [f.subnets[0]!.zone, f.subnets[1]!.zone].entries()) {
    subnetIds.push((await f.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.30.${index}.0/24`, AvailabilityZone: zone }))).Subnet!.SubnetId!);
  }
  const groupId = (await f.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: "lb", Description: "lb" }))).GroupId!;
  const lb = await createLb("deps", { Subnets: subnetIds, SecurityGroups: [groupId] });
  await rejectsWithAwsError(
    f.ec2.send(new DeleteSubnetCommand({ SubnetId: subnetIds[0] })),
    "DependencyViolation",
    `The subnet '${subnetIds[0]}' has dependencies and cannot be deleted.`,
  );
  await rejectsWithAwsError(
    f.ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })),
    "DependencyViolation",
    `resource ${groupId} has a dependent object`,
  );
  await f.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  await f.ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
  for (const subnetId of subnetIds) await f.ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }));
});

test("racing creates: ten identical CreateLoadBalancer calls make one load balancer; ten CreateTargetGroup calls with different ports make one group and nine DuplicateTargetGroupName", async () => {
  const lbs = await Promise.all(Array.from({ length: 10 }, () => createLb("race-lb")));
  assert.equal(new Set(lbs.map((lb) => lb.LoadBalancerArn)).size, 1);
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, index) => createTg("race-tg", { Port: 1000 + index })));
  assert.equal(results.filter((result) => result.status === "fulfilled").length, 1);
  for (const result of results) {
    if (result.status === "rejected") assert.equal((result.reason as Error).name, "DuplicateTargetGroupNameException");
  }
});

test("targets: the five addresses AWS keeps per subnet, addresses in no subnet and 0/8, 127/8, 169.254/16, 224/3 are InvalidTarget", async () => {
  const arn = (await createTg("tg-reserved")).TargetGroupArn!;
  const register = (Id: string) => f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id }] }));
  const base = f.subnets[0]!.cidr.replace(/\.0\/20$/, "");
  const a = Number(base.split(".")[2]);
  const prefix = base.split(".").slice(0, 2).join(".");
  const broadcast = `${prefix}.${a + 15}.255`;
  for (const id of [`${base}.0`, `${base}.1`, `${base}.2`, `${base}.3`, broadcast])
    await rejectsWithAwsError(register(id), "InvalidTarget", /reserved in subnet/);
  for (const id of ["0.0.0.1", "127.0.0.1", "169.254.169.254", "169.254.170.2", "224.0.0.1", "255.255.255.255"])
    await rejectsWithAwsError(register(id), "InvalidTarget", /reserved range/);
  const other = (await createTg("tg-reserved-other", { VpcId: f.otherVpcId })).TargetGroupArn!;
  await rejectsWithAwsError(
    f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: other, Targets: [{ Id: "10.20.200.9" }] })),
    "InvalidTarget",
    /not in any subnet/,
  );
  await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: other, Targets: [{ Id: "10.20.1.4" }, { Id: "10.20.1.254" }] }));
  await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: `${base}.4` }] }));
});

test("DeregisterTargets, DescribeTargetHealth and RemoveTags lists are bounded; messages do not echo them whole", async () => {
  const arn = (await createTg("tg-bounds")).TargetGroupArn!;
  const many = Array.from({ length: 1001 }, (_, index) => ({ Id: `10.${index >> 8}.${index & 255}.9` }));
  await rejectsWithAwsError(f.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: many })), "ValidationError", /maximum of 1000 targets/);
  await rejectsWithAwsError(f.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: many })), "ValidationError", /maximum of 1000 targets/);
  await rejectsWithAwsError(
    f.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: many.slice(0, 8) })),
    "InvalidTarget",
    /'10\.0\.4\.9' and 3 more$/,
  );
  const keys = Array.from({ length: 51 }, (_, index) => `k${index}`);
  await rejectsWithAwsError(f.elb.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: keys })), "ValidationError", /maximum of 50 tag keys/);
  await rejectsWithAwsError(f.elb.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: ["k".repeat(129)] })), "ValidationError");
  await f.elb.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: keys.slice(0, 50) }));
});

test("at most 1000 targets over all the target groups of one load balancer: TooManyTargets", async () => {
  const lb = await createLb("budget-lb");
  const [a, b] = [(await createTg("tg-budget-a")).TargetGroupArn!, (await createTg("tg-budget-b")).TargetGroupArn!];
  const forwardBoth = {
    TargetGroups: [
      { TargetGroupArn: a, Weight: 1 },
      { TargetGroupArn: b, Weight: 1 },
    ],
  };
  await f.elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancerArn,
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [{ Type: "forward", ForwardConfig: forwardBoth }],
    }),
  );
  const [prefix, third] = [f.subnets[0]!.cidr.split(".").slice(0, 2).join("."), Number(f.subnets[0]!.cidr.split(".")[2])];
  const addresses = (from: number, count: number) =>
    Array.from({ length: count }, (_, index) => ({ Id: `${prefix}.${third + ((from + index) >> 8)}.${(from + index) & 255}` }));
  await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: a, Targets: addresses(10, 600) }));
  await rejectsWithAwsError(f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: b, Targets: addresses(700, 401) })), "TooManyTargets");
  await f.elb.send(new RegisterTargetsCommand({ TargetGroupArn: b, Targets: addresses(700, 400) }));
});
