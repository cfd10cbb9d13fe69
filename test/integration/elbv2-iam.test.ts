// ELBv2 under IAM policies on a real `berth server`: each operation is decided on the ARN it acts
// on (a create on the ARN it will make, its id a "*"), so a user allowed load balancers named
// team-* creates and deletes those and nothing else; Describe* is decided on "*"; aws:ResourceTag
// conditions read the resource's tags.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { IAMClient } from "@aws-sdk/client-iam";
import {
  CreateLoadBalancerCommand,
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
