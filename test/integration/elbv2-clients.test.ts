// The main ELBv2 flow through Debian's AWS CLI and through boto3 on one real `berth server`: a load
// balancer, a target group with a target, a listener and a rule, their descriptions and tags as
// each client parses them, and AWS's wire error codes as the clients report them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { TestServer } from "../support/server.js";
import { awsCli, startTestServer } from "../support/server.js";
import { runBoto3 } from "../support/boto3.js";
import type { Elbv2Fixture } from "../support/elbv2-fixtures.js";
import { elbv2Fixture } from "../support/elbv2-fixtures.js";

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

async function cli(...args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server, ["elbv2", ...args]);
  assert.equal(result.code, 0, `aws elbv2 ${args.join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

type Arns = { LoadBalancerArn?: string; TargetGroupArn?: string; ListenerArn?: string; RuleArn?: string };
const first = (out: Record<string, unknown>, member: string) => (out[member] as (Arns & Record<string, unknown>)[])[0]!;

test("the AWS CLI drives load balancer, target group, targets, listener, rule and tags", async () => {
  const lb = first(
    await cli("create-load-balancer", "--name", "cli-lb", "--subnets", f.subnets[0]!.id, f.subnets[1]!.id, "--tags", "Key=team,Value=a"),
    "LoadBalancers",
  );
  assert.match(String(lb.DNSName), /^cli-lb-[0-9a-f]{16}\.us-east-1\.elb\.amazonaws\.com$/);
  const tg = first(
    await cli(
      "create-target-group",
      "--name",
      "cli-tg",
      "--protocol",
      "HTTP",
      "--port",
      "8080",
      "--vpc-id",
      f.vpcId,
      "--target-type",
      "ip",
      "--health-check-path",
      "/healthz",
    ),
    "TargetGroups",
  );
  const address = f.subnets[0]!.cidr.replace(/\.0\/20$/, ".7");
  await cli("register-targets", "--target-group-arn", tg.TargetGroupArn!, "--targets", `Id=${address}`);
  const listener = first(
    await cli(
      "create-listener",
      "--load-balancer-arn",
      lb.LoadBalancerArn!,
      "--protocol",
      "HTTP",
      "--port",
      "80",
      "--default-actions",
      `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`,
    ),
    "Listeners",
  );
  const rule = first(
    await cli(
      "create-rule",
      "--listener-arn",
      listener.ListenerArn!,
      "--priority",
      "10",
      "--conditions",
      "Field=path-pattern,Values=/api/*",
      "--actions",
      "Type=fixed-response,FixedResponseConfig={StatusCode=404,ContentType=text/plain,MessageBody=nope}",
    ),
    "Rules",
  );
  assert.equal(rule.Priority, "10");
  const health = (await cli("describe-target-health", "--target-group-arn", tg.TargetGroupArn!)).TargetHealthDescriptions as {
    TargetHealth: { State: string };
  }[];
  assert.equal(health[0]?.TargetHealth.State, "initial");
  const rules = (await cli("describe-rules", "--listener-arn", listener.ListenerArn!)).Rules as { Priority: string }[];
  assert.deepEqual(
    rules.map((one) => one.Priority),
    ["10", "default"],
  );
  const attributes = (await cli("describe-load-balancer-attributes", "--load-balancer-arn", lb.LoadBalancerArn!)).Attributes as {
    Key: string;
    Value: string;
  }[];
  assert.ok(attributes.some((one) => one.Key === "idle_timeout.timeout_seconds" && one.Value === "60"));
  await cli("modify-target-group-attributes", "--target-group-arn", tg.TargetGroupArn!, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=30");
  const tags = (await cli("describe-tags", "--resource-arns", lb.LoadBalancerArn!)).TagDescriptions as { Tags: unknown[] }[];
  assert.deepEqual(tags[0]?.Tags, [{ Key: "team", Value: "a" }]);
  const names = (await cli("describe-load-balancers", "--names", "cli-lb")).LoadBalancers as { LoadBalancerName: string }[];
  assert.deepEqual(
    names.map((one) => one.LoadBalancerName),
    ["cli-lb"],
  );

  const duplicate = await awsCli(server, [
    "elbv2",
    "create-listener",
    "--load-balancer-arn",
    lb.LoadBalancerArn!,
    "--protocol",
    "HTTP",
    "--port",
    "80",
    "--default-actions",
    "Type=fixed-response,FixedResponseConfig={StatusCode=200}",
  ]);
  assert.match(
    duplicate.stderr,
    /\(DuplicateListener\) when calling the CreateListener operation: A listener already exists on this port for this load balancer/,
  );
  const priority = await awsCli(server, [
    "elbv2",
    "create-rule",
    "--listener-arn",
    listener.ListenerArn!,
    "--priority",
    "10",
    "--conditions",
    "Field=path-pattern,Values=/x",
    "--actions",
    `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`,
  ]);
  assert.match(priority.stderr, /\(PriorityInUse\) when calling the CreateRule operation: Priority '10' is currently in use/);
  const outside = await awsCli(server, ["elbv2", "register-targets", "--target-group-arn", tg.TargetGroupArn!, "--targets", "Id=192.168.1.1"]);
  assert.match(
    outside.stderr,
    /\(ValidationError\) when calling the RegisterTargets operation: The Availability Zone is required for IP address '192.168.1.1' because it is not in the VPC/,
  );
  // The load balancer's network settings, changed after creation.
  const moved = (await cli("set-subnets", "--load-balancer-arn", lb.LoadBalancerArn!, "--subnets", f.subnets[1]!.id, f.subnets[2]!.id)).AvailabilityZones as {
    SubnetId: string;
  }[];
  assert.deepEqual(
    moved.map((zone) => zone.SubnetId),
    [f.subnets[1]!.id, f.subnets[2]!.id],
  );
  const groupId = JSON.parse(
    (await awsCli(server, ["ec2", "create-security-group", "--group-name", "cli-lb-2", "--description", "lb", "--vpc-id", f.vpcId])).stdout,
  ) as { GroupId: string };
  assert.deepEqual((await cli("set-security-groups", "--load-balancer-arn", lb.LoadBalancerArn!, "--security-groups", groupId.GroupId)).SecurityGroupIds, [
    groupId.GroupId,
  ]);
  assert.equal((await cli("set-ip-address-type", "--load-balancer-arn", lb.LoadBalancerArn!, "--ip-address-type", "ipv4")).IpAddressType, "ipv4");
  const oneZone = await awsCli(server, ["elbv2", "set-subnets", "--load-balancer-arn", lb.LoadBalancerArn!, "--subnets", f.subnets[0]!.id]);
  assert.match(
    oneZone.stderr,
    /\(ValidationError\) when calling the SetSubnets operation: At least two subnets in two different Availability Zones must be specified/,
  );
  const inUse = await awsCli(server, ["elbv2", "delete-target-group", "--target-group-arn", tg.TargetGroupArn!]);
  assert.match(inUse.stderr, /\(ResourceInUse\) when calling the DeleteTargetGroup operation/);
  await cli("delete-load-balancer", "--load-balancer-arn", lb.LoadBalancerArn!);
  await cli("delete-target-group", "--target-group-arn", tg.TargetGroupArn!);
  const gone = await awsCli(server, ["elbv2", "describe-load-balancers", "--load-balancer-arns", lb.LoadBalancerArn!]);
  assert.match(gone.stderr, /\(LoadBalancerNotFound\) when calling the DescribeLoadBalancers operation: One or more load balancers not found/);
});

test("boto3 drives the same flow and reads AWS's error codes", async () => {
  const script = `
def error_of(call):
    try:
        call()
        return None
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
lb = elbv2.create_load_balancer(Name="py-lb", Subnets=${JSON.stringify([f.subnets[2]!.id, f.subnets[3]!.id])}, Scheme="internal")["LoadBalancers"][0]
tg = elbv2.create_target_group(Name="py-tg", Protocol="HTTP", Port=80, VpcId=${JSON.stringify(f.vpcId)}, TargetType="ip", Matcher={"HttpCode": "200-299"})["TargetGroups"][0]
elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": ${JSON.stringify(f.subnets[2]!.cidr.replace(/\.0\/20$/, ".9"))}, "Port": 8080}])
listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8080, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])["Listeners"][0]
rule = elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=7, Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}], Actions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])["Rules"][0]
health = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
waiter_ok = elbv2.describe_load_balancers(Names=["py-lb"])["LoadBalancers"][0]["State"]["Code"] in ("provisioning", "active")
print(json.dumps({
  "dns": lb["DNSName"], "matcher": tg["Matcher"], "health": [h["TargetHealth"]["State"] for h in health],
  "rule": [rule["Priority"], rule["Conditions"][0]["Values"]], "state": waiter_ok,
  "dupTg": error_of(lambda: elbv2.create_target_group(Name="py-tg", Protocol="HTTP", Port=81, VpcId=${JSON.stringify(f.vpcId)}, TargetType="ip")),
  "badRule": error_of(lambda: elbv2.delete_rule(RuleArn=rule["RuleArn"] + "0")),
  "noTg": error_of(lambda: elbv2.describe_target_groups(Names=["nope"])),
  "ssl": error_of(lambda: elbv2.describe_ssl_policies(Names=["nope"])),
  "zones": [z["SubnetId"] for z in elbv2.set_subnets(LoadBalancerArn=lb["LoadBalancerArn"], Subnets=${JSON.stringify([f.subnets[0]!.id, f.subnets[3]!.id])})["AvailabilityZones"]],
  "dualstack": error_of(lambda: elbv2.set_ip_address_type(LoadBalancerArn=lb["LoadBalancerArn"], IpAddressType="dualstack")),
  "badGroup": error_of(lambda: elbv2.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=[${JSON.stringify(f.otherGroupId)}])),
}))
`;
  const result = await runBoto3(server, "elbv2", "elbv2", script);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  assert.match(String(out.dns), /^internal-py-lb-[0-9a-f]{16}\.us-east-1\.elb\.amazonaws\.com$/);
  assert.deepEqual(out.matcher, { HttpCode: "200-299" });
  assert.deepEqual(out.health, ["initial"]);
  assert.deepEqual(out.rule, ["7", ["api.example.com"]]);
  assert.equal(out.state, true);
  assert.deepEqual([out.dupTg, out.badRule, out.noTg, out.ssl], ["DuplicateTargetGroupName", "RuleNotFound", "TargetGroupNotFound", "SSLPolicyNotFound"]);
  assert.deepEqual(out.zones, [f.subnets[0]!.id, f.subnets[3]!.id]);
  assert.deepEqual([out.dualstack, out.badGroup], ["ValidationError", "InvalidSecurityGroup"]);
});

test("the rest of the API through the AWS CLI: modify, priorities, attributes, tags, deregistration, deletes", async () => {
  const lb = first(await cli("create-load-balancer", "--name", "cli-rest", "--subnets", f.subnets[0]!.id, f.subnets[1]!.id), "LoadBalancers");
  const tg = first(
    await cli("create-target-group", "--name", "cli-rest", "--protocol", "HTTP", "--port", "80", "--vpc-id", f.vpcId, "--target-type", "ip"),
    "TargetGroups",
  );
  const arn = tg.TargetGroupArn!;
  const modified = first(await cli("modify-target-group", "--target-group-arn", arn, "--health-check-interval-seconds", "10"), "TargetGroups");
  assert.equal(modified.HealthCheckIntervalSeconds, 10);
  assert.equal(((await cli("describe-target-groups", "--names", "cli-rest")).TargetGroups as unknown[]).length, 1);
  const attributes = (await cli("describe-target-group-attributes", "--target-group-arn", arn)).Attributes as { Key: string; Value: string }[];
  assert.ok(attributes.some((one) => one.Key === "deregistration_delay.timeout_seconds" && one.Value === "300"));
  const address = f.subnets[0]!.cidr.replace(/\.0\/20$/, ".8");
  await cli("register-targets", "--target-group-arn", arn, "--targets", `Id=${address}`);
  await cli("deregister-targets", "--target-group-arn", arn, "--targets", `Id=${address}`);
  assert.deepEqual((await cli("describe-target-health", "--target-group-arn", arn)).TargetHealthDescriptions, []);
  const listener = first(
    await cli(
      "create-listener",
      "--load-balancer-arn",
      lb.LoadBalancerArn!,
      "--protocol",
      "HTTP",
      "--port",
      "80",
      "--default-actions",
      `Type=forward,TargetGroupArn=${arn}`,
    ),
    "Listeners",
  );
  assert.equal(first(await cli("modify-listener", "--listener-arn", listener.ListenerArn!, "--port", "8080"), "Listeners").Port, 8080);
  assert.equal(((await cli("describe-listeners", "--load-balancer-arn", lb.LoadBalancerArn!)).Listeners as { Port: number }[])[0]!.Port, 8080);
  const rule = (priority: string, path: string) =>
    cli(
      "create-rule",
      "--listener-arn",
      listener.ListenerArn!,
      "--priority",
      priority,
      "--conditions",
      `Field=path-pattern,Values=${path}`,
      "--actions",
      `Type=forward,TargetGroupArn=${arn}`,
    ).then((out) => first(out, "Rules").RuleArn!);
  const [a, b] = [await rule("1", "/a"), await rule("2", "/b")];
  const changed = first(await cli("modify-rule", "--rule-arn", a, "--conditions", "Field=path-pattern,Values=/a/*"), "Rules") as {
    Conditions?: { Values: string[] }[];
  };
  assert.deepEqual(changed.Conditions?.[0]?.Values, ["/a/*"]);
  const swapped = (await cli("set-rule-priorities", "--rule-priorities", `RuleArn=${a},Priority=3`, `RuleArn=${b},Priority=1`)).Rules as {
    RuleArn: string;
    Priority: string;
  }[];
  assert.deepEqual(Object.fromEntries(swapped.map((one) => [one.RuleArn, one.Priority])), { [a]: "3", [b]: "1" });
  await cli("delete-rule", "--rule-arn", b);
  await cli("modify-load-balancer-attributes", "--load-balancer-arn", lb.LoadBalancerArn!, "--attributes", "Key=idle_timeout.timeout_seconds,Value=120");
  const lbAttributes = (await cli("describe-load-balancer-attributes", "--load-balancer-arn", lb.LoadBalancerArn!)).Attributes as {
    Key: string;
    Value: string;
  }[];
  assert.ok(lbAttributes.some((one) => one.Key === "idle_timeout.timeout_seconds" && one.Value === "120"));
  await cli("add-tags", "--resource-arns", arn, "--tags", "Key=env,Value=test");
  await cli("remove-tags", "--resource-arns", arn, "--tag-keys", "env");
  assert.deepEqual(((await cli("describe-tags", "--resource-arns", arn)).TagDescriptions as { Tags: unknown[] }[])[0]?.Tags, []);
  const policies = (await cli("describe-ssl-policies")).SslPolicies as { Name: string }[];
  assert.ok(policies.some((policy) => policy.Name === "ELBSecurityPolicy-TLS13-1-2-2021-06"));
  const badAttribute = await awsCli(server, [
    "elbv2",
    "modify-load-balancer-attributes",
    "--load-balancer-arn",
    lb.LoadBalancerArn!,
    "--attributes",
    "Key=nope,Value=1",
  ]);
  assert.match(badAttribute.stderr, /\(ValidationError\) when calling the ModifyLoadBalancerAttributes operation/);
  await cli("delete-listener", "--listener-arn", listener.ListenerArn!);
  await cli("delete-load-balancer", "--load-balancer-arn", lb.LoadBalancerArn!);
  await cli("delete-target-group", "--target-group-arn", arn);
});

test("the rest of the API through boto3", async () => {
  const script = `
lb = elbv2.create_load_balancer(Name="py-rest", Subnets=${JSON.stringify([f.subnets[0]!.id, f.subnets[1]!.id])})["LoadBalancers"][0]
tg = elbv2.create_target_group(Name="py-rest", Protocol="HTTP", Port=80, VpcId=${JSON.stringify(f.vpcId)}, TargetType="ip")["TargetGroups"][0]
arn = tg["TargetGroupArn"]
out = {}
out["interval"] = elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckIntervalSeconds=15)["TargetGroups"][0]["HealthCheckIntervalSeconds"]
out["stickiness"] = [a["Value"] for a in elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[{"Key": "stickiness.enabled", "Value": "true"}])["Attributes"] if a["Key"] == "stickiness.enabled"]
out["attributes"] = len(elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]) > 0
target = {"Id": ${JSON.stringify(f.subnets[1]!.cidr.replace(/\.0\/20$/, ".9"))}}
elbv2.register_targets(TargetGroupArn=arn, Targets=[target])
elbv2.deregister_targets(TargetGroupArn=arn, Targets=[target])
out["targets"] = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])["Listeners"][0]
out["port"] = elbv2.modify_listener(ListenerArn=listener["ListenerArn"], Port=81)["Listeners"][0]["Port"]
out["listeners"] = [l["Port"] for l in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]]
rule = elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=5, Conditions=[{"Field": "path-pattern", "Values": ["/x"]}], Actions=[{"Type": "forward", "TargetGroupArn": arn}])["Rules"][0]
out["rule"] = elbv2.modify_rule(RuleArn=rule["RuleArn"], Conditions=[{"Field": "path-pattern", "Values": ["/y"]}])["Rules"][0]["Conditions"][0]["Values"]
out["priority"] = elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": rule["RuleArn"], "Priority": 9}])["Rules"][0]["Priority"]
out["rules"] = [r["Priority"] for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]]
try:
    elbv2.delete_target_group(TargetGroupArn=arn)
    out["inUse"] = None
except botocore.exceptions.ClientError as e:
    out["inUse"] = e.response["Error"]["Code"]
elbv2.delete_rule(RuleArn=rule["RuleArn"])
out["idle"] = [a["Value"] for a in elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "90"}])["Attributes"] if a["Key"] == "idle_timeout.timeout_seconds"]
elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "k", "Value": "v"}])
out["tags"] = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
elbv2.remove_tags(ResourceArns=[arn], TagKeys=["k"])
out["policies"] = len(elbv2.describe_ssl_policies()["SslPolicies"]) >= 2
out["limits"] = len(elbv2.describe_account_limits()["Limits"]) > 0
elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
elbv2.delete_target_group(TargetGroupArn=arn)
print(json.dumps(out))
`;
  const result = await runBoto3(server, "elbv2", "elbv2", script);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  assert.deepEqual(out, {
    interval: 15,
    stickiness: ["true"],
    attributes: true,
    targets: [],
    port: 81,
    listeners: [81],
    rule: ["/y"],
    priority: "9",
    rules: ["9", "default"],
    idle: ["90"],
    tags: [{ Key: "k", Value: "v" }],
    policies: true,
    limits: true,
    inUse: "ResourceInUse",
  });
});
