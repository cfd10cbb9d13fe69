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
