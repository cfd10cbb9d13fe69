// The edges an attacker holding a least-privilege key pushes on (from the security review of policy
// enforcement): the ARN checked must be the one the call acts on — a user with a path, a name in
// another case, a policy ARN in another case, an ECS cluster or log group named by an ARN of another
// service or region —, UpdateUser is decided on the new name too, iam:PolicyARN and aws:TagKeys are
// there for conditions, a session of a role deleted and made again is not the new role's,
// aws:ResourceTag conditions read the resource's tags, a security group named by GroupName is
// checked as its id, aws:SecureTransport is false over plain HTTP, and AssumeRole refuses what it
// does not serve rather than widening the session.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CreateClusterCommand, DeleteClusterCommand, DescribeClustersCommand, ECSClient, ListClustersCommand, TagResourceCommand } from "@aws-sdk/client-ecs";
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateUserCommand,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeVpcsCommand, EC2Client } from "@aws-sdk/client-ec2";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import { rejectsWithAwsError } from "../support/aws-error.js";
import type { Credentials } from "../support/iam-users.js";
import { policyJson, userWithKey as createUserWithKey } from "../support/iam-users.js";

let server: TestServer;
let iam: IAMClient;
let ecs: ECSClient;
let account: string;
before(async () => {
  server = await startTestServer();
  account = server.accountId;
  iam = new IAMClient(sdkConfig(server));
  ecs = new ECSClient(sdkConfig(server));
});
after(async () => {
  iam.destroy();
  ecs.destroy();
  await server.stop();
  await server.cleanup();
});

const as = (credentials: Credentials) => ({ ...sdkConfig(server), credentials });
const policy = policyJson;
const userWithKey = (name: string, document: string, path?: string) => createUserWithKey(iam, name, document, path);

test("IAM resources are the stored entities' ARNs: a path and another case do not slip past a Deny; UpdateUser is decided on the new name too", async () => {
  await iam.send(new CreateUserCommand({ UserName: "boss", Path: "/admins/" }));
  await iam.send(new CreateUserCommand({ UserName: "Guarded" }));
  await iam.send(new CreatePolicyCommand({ PolicyName: "Locked", PolicyDocument: policy({ Effect: "Allow", Action: "ecs:ListClusters", Resource: "*" }) }));
  const keys = await userWithKey(
    "helpdesk",
    policy(
      { Effect: "Allow", Action: ["iam:CreateAccessKey", "iam:PutUserPolicy", "iam:CreatePolicyVersion", "iam:UpdateUser"], Resource: "*" },
      {
        Effect: "Deny",
        Action: "iam:*",
        Resource: [`arn:aws:iam::${account}:user/admins/*`, `arn:aws:iam::${account}:user/Guarded`, `arn:aws:iam::${account}:policy/Locked`],
      },
      { Effect: "Deny", Action: "iam:UpdateUser", Resource: `arn:aws:iam::${account}:user/admins/*` },
    ),
  );
  const client = new IAMClient(as(keys));
  await rejectsWithAwsError(
    client.send(new CreateAccessKeyCommand({ UserName: "boss" })),
    "AccessDenied",
    new RegExp(`on resource: arn:aws:iam::${account}:user/admins/boss with an explicit deny`),
  );
  await rejectsWithAwsError(
    client.send(new PutUserPolicyCommand({ UserName: "GUARDED", PolicyName: "x", PolicyDocument: policy({ Effect: "Allow", Action: "*", Resource: "*" }) })),
    "AccessDenied",
    /user\/Guarded/,
  );
  await rejectsWithAwsError(
    client.send(new CreatePolicyCommand({ PolicyName: "x", PolicyDocument: policy({ Effect: "Allow", Action: "*", Resource: "*" }) })),
    "AccessDenied",
  );
  const { CreatePolicyVersionCommand } = await import("@aws-sdk/client-iam");
  await rejectsWithAwsError(
    client.send(
      new CreatePolicyVersionCommand({
        PolicyArn: `arn:aws:iam::${account}:policy/LOCKED`,
        PolicyDocument: policy({ Effect: "Allow", Action: "*", Resource: "*" }),
        SetAsDefault: true,
      }),
    ),
    "AccessDenied",
    /policy\/Locked/,
  );
  // Moving itself under /admins/ is refused: the new path is a resource of UpdateUser too.
  await rejectsWithAwsError(client.send(new UpdateUserCommand({ UserName: "helpdesk", NewPath: "/admins/" })), "AccessDenied", /user\/admins\/helpdesk/);
  client.destroy();
});

test("iam:PolicyARN: a user may attach policies to itself but not AdministratorAccess", async () => {
  const admin = "arn:aws:iam::aws:policy/AdministratorAccess";
  const keys = await userWithKey(
    "climber",
    policy(
      { Effect: "Allow", Action: "iam:AttachUserPolicy", Resource: `arn:aws:iam::${account}:user/climber` },
      { Effect: "Deny", Action: "iam:AttachUserPolicy", Resource: "*", Condition: { ArnEquals: { "iam:PolicyARN": admin } } },
    ),
  );
  await rejectsWithAwsError(
    new IAMClient(as(keys)).send(new AttachUserPolicyCommand({ UserName: "climber", PolicyArn: admin })),
    "AccessDenied",
    /explicit deny/,
  );
  await new IAMClient(as(keys)).send(new AttachUserPolicyCommand({ UserName: "climber", PolicyArn: "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess" }));
});

test("an ECS cluster or a log group named by another service's or region's ARN is checked as the one acted on", async () => {
  await ecs.send(new CreateClusterCommand({ clusterName: "prod2" }));
  const logs = new CloudWatchLogsClient(sdkConfig(server));
  await logs.send(new CreateLogGroupCommand({ logGroupName: "audit" }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: "audit", logStreamName: "s" }));
  const keys = await userWithKey(
    "sneaky",
    policy(
      { Effect: "Allow", Action: ["ecs:*", "logs:*"], Resource: "*" },
      { Effect: "Deny", Action: "ecs:*", Resource: `arn:aws:ecs:*:*:cluster/prod2` },
      { Effect: "Deny", Action: "logs:*", Resource: [`arn:aws:logs:*:*:log-group:audit`, `arn:aws:logs:*:*:log-group:audit:*`] },
    ),
  );
  const client = new ECSClient(as(keys));
  await rejectsWithAwsError(
    client.send(new DeleteClusterCommand({ cluster: `arn:aws:notecs:${server.region}:${account}:cluster/prod2` })),
    "AccessDeniedException",
  );
  await rejectsWithAwsError(client.send(new DeleteClusterCommand({ cluster: `arn:aws:ecs:eu-north-9:999999999999:cluster/prod2` })), "AccessDeniedException");
  assert.equal((await ecs.send(new DescribeClustersCommand({ clusters: ["prod2"] }))).clusters?.[0]?.status, "ACTIVE");
  await rejectsWithAwsError(
    new CloudWatchLogsClient(as(keys)).send(
      new GetLogEventsCommand({ logGroupIdentifier: `arn:aws:logs:eu-north-9:${account}:log-group:audit`, logStreamName: "s" }),
    ),
    "AccessDeniedException",
  );
  client.destroy();
  logs.destroy();
});

test("a session of a role deleted and made again under its name is not the new role's", async () => {
  const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" });
  await iam.send(new CreateRoleCommand({ RoleName: "worker", AssumeRolePolicyDocument: trust }));
  const keys = await userWithKey("assumer2", policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }));
  const issued = await new STSClient(as(keys)).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/worker`, RoleSessionName: "old" }));
  const session = {
    accessKeyId: issued.Credentials!.AccessKeyId!,
    secretAccessKey: issued.Credentials!.SecretAccessKey!,
    sessionToken: issued.Credentials!.SessionToken!,
  };
  await rejectsWithAwsError(new ECSClient(as(session)).send(new ListClustersCommand({})), "AccessDeniedException");
  await iam.send(new DeleteRoleCommand({ RoleName: "worker" }));
  await iam.send(new CreateRoleCommand({ RoleName: "worker", AssumeRolePolicyDocument: trust }));
  await iam.send(new PutRolePolicyCommand({ RoleName: "worker", PolicyName: "all", PolicyDocument: policy({ Effect: "Allow", Action: "*", Resource: "*" }) }));
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  await rejectsWithAwsError(new ECSClient(as(session)).send(new ListClustersCommand({})), "AccessDeniedException");
  await iam.send(new DeleteRolePolicyCommand({ RoleName: "worker", PolicyName: "all" }));
});

test("aws:ResourceTag conditions read the resource's tags, for Allow and for Deny", async () => {
  await ecs.send(new CreateClusterCommand({ clusterName: "tagged-blue", tags: [{ key: "team", value: "blue" }] }));
  await ecs.send(new CreateClusterCommand({ clusterName: "tagged-red", tags: [{ key: "team", value: "red" }] }));
  const keys = await userWithKey(
    "tagger",
    policy(
      { Effect: "Allow", Action: "ecs:DescribeClusters", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/team": ["blue", "red"] } } },
      { Effect: "Deny", Action: "ecs:TagResource", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/team": "red" } } },
      { Effect: "Allow", Action: "ecs:TagResource", Resource: "*" },
    ),
  );
  const client = new ECSClient(as(keys));
  assert.equal((await client.send(new DescribeClustersCommand({ clusters: ["tagged-blue", "tagged-red"] }))).clusters?.length, 2);
  await rejectsWithAwsError(client.send(new DescribeClustersCommand({ clusters: ["default"] })), "AccessDeniedException");
  const arn = (name: string) => `arn:aws:ecs:${server.region}:${account}:cluster/${name}`;
  await client.send(new TagResourceCommand({ resourceArn: arn("tagged-blue"), tags: [{ key: "x", value: "1" }] }));
  await rejectsWithAwsError(
    client.send(new TagResourceCommand({ resourceArn: arn("tagged-red"), tags: [{ key: "x", value: "1" }] })),
    "AccessDeniedException",
    /explicit deny/,
  );
  client.destroy();
});

test("a security group named by GroupName is checked as its id; aws:SecureTransport is false over plain HTTP", async () => {
  const ec2 = new EC2Client(sdkConfig(server));
  const vpcId = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }))).Vpcs![0]!.VpcId!;
  const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: "prod-db", Description: "db", VpcId: vpcId }));
  const keys = await userWithKey(
    "netops",
    policy(
      { Effect: "Allow", Action: "ec2:*", Resource: "*" },
      { Effect: "Deny", Action: "ec2:AuthorizeSecurityGroupIngress", Resource: `arn:aws:ec2:*:*:security-group/${group.GroupId}` },
      { Effect: "Deny", Action: "ec2:DescribeVpcs", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ),
  );
  const client = new EC2Client(as(keys));
  const rule = { IpPermissions: [{ IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }] };
  await rejectsWithAwsError(client.send(new AuthorizeSecurityGroupIngressCommand({ GroupName: "prod-db", ...rule })), "UnauthorizedOperation");
  await rejectsWithAwsError(client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group.GroupId, ...rule })), "UnauthorizedOperation");
  await rejectsWithAwsError(client.send(new DescribeVpcsCommand({})), "UnauthorizedOperation");
  client.destroy();
  ec2.destroy();
});

test("AssumeRole refuses managed session policies and session tags instead of handing out the whole role", async () => {
  const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" });
  await iam.send(new CreateRoleCommand({ RoleName: "broker", AssumeRolePolicyDocument: trust }));
  const keys = await userWithKey("brokered", policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }));
  const sts = new STSClient(as(keys));
  const roleArn = `arn:aws:iam::${account}:role/broker`;
  await rejectsWithAwsError(
    sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "s1", PolicyArns: [{ arn: "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess" }] })),
    "ValidationError",
    /PolicyArns/,
  );
  await rejectsWithAwsError(
    sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "s1", Tags: [{ Key: "a", Value: "b" }] })),
    "ValidationError",
    /Tags/,
  );
  sts.destroy();
});
