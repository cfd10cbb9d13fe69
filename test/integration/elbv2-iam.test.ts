// ELBv2 under IAM policies on a real `berth server`: each operation is decided on the ARN it acts
// on (a create on the ARN it will make, its id a "*"), so a user allowed load balancers named
// team-* creates and deletes those and nothing else; Describe* is decided on "*"; aws:ResourceTag
// conditions read the resource's tags. Berth's rule: a create placing traffic in a VPC also needs
// ec2:CreateNetworkInterface on its subnets, security groups (load balancer) or VPC (target group),
// and a create with tags needs elasticloadbalancing:AddTags on the new ARN.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { IAMClient } from "@aws-sdk/client-iam";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
  RemoveTagsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import { policyJson, userWithKey } from "../support/iam-users.js";
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

test("a user allowed loadbalancer/app/team-* creates and deletes those only", async () => {
  const teamArns = `arn:aws:elasticloadbalancing:${server.region}:${server.accountId}:loadbalancer/app/team-*`;
  const credentials = await userWithKey(
    new IAMClient(sdkConfig(server)),
    "lb-user",
    policyJson(
      { Effect: "Allow", Action: "elasticloadbalancing:Describe*", Resource: "*" },
      { Effect: "Allow", Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer"], Resource: teamArns },
      { Effect: "Allow", Action: "ec2:CreateNetworkInterface", Resource: "*" },
    ),
  );
  const user = new ElasticLoadBalancingV2Client({ ...sdkConfig(server), credentials });
  const subnets = [f.subnets[0]!.id, f.subnets[1]!.id];
  const mine = (await user.send(new CreateLoadBalancerCommand({ Name: "team-a", Subnets: subnets }))).LoadBalancers![0]!.LoadBalancerArn!;
  await assert.rejects(
    user.send(new CreateLoadBalancerCommand({ Name: "other", Subnets: subnets })),
    /not authorized to perform: elasticloadbalancing:CreateLoadBalancer/,
  );
  const rootOwned = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "root-lb", Subnets: subnets }))).LoadBalancers![0]!.LoadBalancerArn!;
  await assert.rejects(
    user.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: rootOwned })),
    /not authorized to perform: elasticloadbalancing:DeleteLoadBalancer/,
  );
  assert.equal((await user.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.length, 2);
  await user.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: mine }));
  assert.deepEqual(
    (await f.elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.map((lb) => lb.LoadBalancerName),
    ["root-lb"],
  );
});

test("aws:ResourceTag reads a load balancer's tags: a Deny on env=prod protects it until the tag is gone", async () => {
  const credentials = await userWithKey(
    new IAMClient(sdkConfig(server)),
    "lb-deleter",
    policyJson(
      { Effect: "Allow", Action: "elasticloadbalancing:*", Resource: "*" },
      { Effect: "Deny", Action: "elasticloadbalancing:DeleteLoadBalancer", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/env": "prod" } } },
    ),
  );
  const user = new ElasticLoadBalancingV2Client({ ...sdkConfig(server), credentials });
  const subnets = [f.subnets[2]!.id, f.subnets[3]!.id];
  const prod = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "prod-lb", Subnets: subnets, Tags: [{ Key: "env", Value: "prod" }] })))
    .LoadBalancers![0]!.LoadBalancerArn!;
  await assert.rejects(
    user.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: prod })),
    /not authorized to perform: elasticloadbalancing:DeleteLoadBalancer/,
  );
  await f.elb.send(new RemoveTagsCommand({ ResourceArns: [prod], TagKeys: ["env"] }));
  await new Promise((resolve) => setTimeout(resolve, 2100));
  await user.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: prod }));
});

test("ELBv2 rights alone do not reach another VPC: ec2:CreateNetworkInterface on its subnet, group and VPC is needed", async () => {
  const ec2Arn = (kind: string, id: string) => `arn:aws:ec2:${server.region}:${server.accountId}:${kind}/${id}`;
  const elbOnly = await userWithKey(
    new IAMClient(sdkConfig(server)),
    "elb-only",
    policyJson({ Effect: "Allow", Action: "elasticloadbalancing:*", Resource: "*" }),
  );
  const user = new ElasticLoadBalancingV2Client({ ...sdkConfig(server), credentials: elbOnly });
  const lb = { Name: "vpc-reach", Type: "network" as const, Subnets: [f.otherSubnetId], SecurityGroups: [f.otherGroupId] };
  await assert.rejects(
    user.send(new CreateLoadBalancerCommand(lb)),
    new RegExp(`ec2:CreateNetworkInterface on resource: ${ec2Arn("subnet", f.otherSubnetId)}`),
  );
  await assert.rejects(
    user.send(new CreateLoadBalancerCommand({ Name: "vpc-reach", Type: "network", SubnetMappings: [{ SubnetId: f.otherSubnetId }] })),
    /ec2:CreateNetworkInterface/,
  );
  const group = { Name: "vpc-reach", TargetType: "ip" as const, Protocol: "TCP" as const, Port: 80, VpcId: f.otherVpcId };
  await assert.rejects(user.send(new CreateTargetGroupCommand(group)), new RegExp(`ec2:CreateNetworkInterface on resource: ${ec2Arn("vpc", f.otherVpcId)}`));
  const withEc2 = await userWithKey(
    new IAMClient(sdkConfig(server)),
    "elb-and-eni",
    policyJson(
      { Effect: "Allow", Action: "elasticloadbalancing:*", Resource: "*" },
      {
        Effect: "Allow",
        Action: "ec2:CreateNetworkInterface",
        Resource: [ec2Arn("subnet", f.otherSubnetId), ec2Arn("security-group", f.otherGroupId), ec2Arn("vpc", f.otherVpcId)],
      },
    ),
  );
  const allowed = new ElasticLoadBalancingV2Client({ ...sdkConfig(server), credentials: withEc2 });
  const arn = (await allowed.send(new CreateLoadBalancerCommand(lb))).LoadBalancers![0]!.LoadBalancerArn!;
  await allowed.send(new CreateTargetGroupCommand(group));
  await allowed.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
});

test("tags on create are decided as elasticloadbalancing:AddTags on the new ARN", async () => {
  const noTags = await userWithKey(
    new IAMClient(sdkConfig(server)),
    "elb-no-tags",
    policyJson(
      { Effect: "Allow", Action: ["elasticloadbalancing:*", "ec2:CreateNetworkInterface"], Resource: "*" },
      { Effect: "Deny", Action: "elasticloadbalancing:AddTags", Resource: "*" },
    ),
  );
  const user = new ElasticLoadBalancingV2Client({ ...sdkConfig(server), credentials: noTags });
  const Tags = [{ Key: "team", Value: "payments" }];
  const subnets = [f.subnets[0]!.id, f.subnets[1]!.id];
  const denied = /not authorized to perform: elasticloadbalancing:AddTags/;
  await assert.rejects(user.send(new CreateLoadBalancerCommand({ Name: "tagged", Subnets: subnets, Tags })), denied);
  const group = { Name: "tagged", TargetType: "ip" as const, Protocol: "HTTP" as const, Port: 80, VpcId: f.vpcId };
  await assert.rejects(user.send(new CreateTargetGroupCommand({ ...group, Tags })), denied);
  const lbArn = (await user.send(new CreateLoadBalancerCommand({ Name: "tagged", Subnets: subnets }))).LoadBalancers![0]!.LoadBalancerArn!;
  const tgArn = (await user.send(new CreateTargetGroupCommand(group))).TargetGroups![0]!.TargetGroupArn!;
  const listener = { LoadBalancerArn: lbArn, Protocol: "HTTP" as const, Port: 80, DefaultActions: [{ Type: "forward" as const, TargetGroupArn: tgArn }] };
  await assert.rejects(user.send(new CreateListenerCommand({ ...listener, Tags })), denied);
  const listenerArn = (await user.send(new CreateListenerCommand(listener))).Listeners![0]!.ListenerArn!;
  const rule = { ListenerArn: listenerArn, Priority: 1, Conditions: [{ Field: "path-pattern", Values: ["/a"] }], Actions: listener.DefaultActions };
  await assert.rejects(user.send(new CreateRuleCommand({ ...rule, Tags })), denied);
  await user.send(new CreateRuleCommand(rule));
  await user.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn }));
});
