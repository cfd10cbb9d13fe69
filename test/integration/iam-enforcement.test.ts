// Policies enforced on every call made with a key other than the root's, and STS's temporary
// credentials, on one real `berth server`: a user allowed one action on one cluster and denied
// elsewhere, an explicit deny over an allow, iam:PassRole on RegisterTaskDefinition and RunTask,
// a policy change taking effect within seconds; AssumeRole (trust policy, external id, duration),
// the session's credentials verified with their token, GetSessionToken's limits; through the SDK
// v3, Debian's AWS CLI and boto3.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { CreateRoleCommand, CreateUserCommand, IAMClient, ListUsersCommand, PutRolePolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { CreateLogGroupCommand, CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { rejectsWithAwsError } from "../support/aws-error.js";
import type { Credentials } from "../support/iam-users.js";
import { policyJson, userWithKey as createUserWithKey } from "../support/iam-users.js";
import { waitFor } from "../support/wait-for.js";

let server: TestServer;
let iam: IAMClient;
let ecs: ECSClient;
let account: string;
before(async () => {
  server = await startTestServer();
  account = server.accountId;
  iam = new IAMClient(sdkConfig(server));
  ecs = new ECSClient(sdkConfig(server));
  await ecs.send(new CreateClusterCommand({ clusterName: "prod" }));
  await ecs.send(new CreateClusterCommand({ clusterName: "dev" }));
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
const cluster = (name: string) => `arn:aws:ecs:${server.region}:${account}:cluster/${name}`;

test("a user allowed one action on one cluster: allowed there, denied elsewhere, an explicit deny wins", async () => {
  const keys = await userWithKey(
    "operator",
    policy(
      { Effect: "Allow", Action: "ecs:DescribeClusters", Resource: "arn:aws:ecs:*:*:cluster/*" },
      { Effect: "Deny", Action: "ecs:DescribeClusters", Resource: cluster("dev") },
      { Effect: "Allow", Action: "ecs:ListClusters", Resource: "*" },
    ),
  );
  const client = new ECSClient(as(keys));
  const user = `arn:aws:iam::${account}:user/operator`;
  const described = await client.send(new DescribeClustersCommand({ clusters: ["prod"] }));
  assert.equal(described.clusters?.[0]?.clusterName, "prod");
  assert.ok((await client.send(new ListClustersCommand({}))).clusterArns!.includes(cluster("dev")));
  await rejectsWithAwsError(
    client.send(new DescribeClustersCommand({ clusters: ["dev"] })),
    "AccessDeniedException",
    `User: ${user} is not authorized to perform: ecs:DescribeClusters on resource: ${cluster("dev")} with an explicit deny in an identity-based policy`,
  );
  // Both named: every resource must be allowed.
  await rejectsWithAwsError(client.send(new DescribeClustersCommand({ clusters: ["prod", "dev"] })), "AccessDeniedException");
  await rejectsWithAwsError(
    client.send(new DeleteClusterCommand({ cluster: "dev" })),
    "AccessDeniedException",
    `User: ${user} is not authorized to perform: ecs:DeleteCluster on resource: ${cluster("dev")} because no identity-based policy allows the ecs:DeleteCluster action`,
  );
  // Nothing was deleted by the denied call; no permission is needed to ask who one is.
  assert.equal((await ecs.send(new DescribeClustersCommand({ clusters: ["dev"] }))).clusters?.[0]?.status, "ACTIVE");
  const sts = new STSClient(as(keys));
  assert.equal((await sts.send(new GetCallerIdentityCommand({}))).Arn, user);
  // The same through the CLI: the allowed call, then AccessDenied with a non-zero exit.
  const env = { AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey };
  assert.equal((await awsCli(server, ["ecs", "describe-clusters", "--clusters", "prod"], env)).code, 0);
  const denied = await awsCli(server, ["ecs", "delete-cluster", "--cluster", "dev"], env);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /AccessDeniedException.*not authorized to perform: ecs:DeleteCluster/);
  client.destroy();
  sts.destroy();
});

test("iam:PassRole: registering a task definition with a role needs permission to pass it; a policy change works within seconds", async () => {
  const keys = await userWithKey("deployer", policy({ Effect: "Allow", Action: ["ecs:RegisterTaskDefinition", "ecs:RunTask"], Resource: "*" }));
  const client = new ECSClient(as(keys));
  const role = `arn:aws:iam::${account}:role/app`;
  const definition = {
    family: "web",
    taskRoleArn: role,
    requiresCompatibilities: ["FARGATE" as const],
    networkMode: "awsvpc" as const,
    cpu: "256",
    memory: "512",
    containerDefinitions: [{ name: "web", image: "busybox", essential: true }],
  };
  await rejectsWithAwsError(
    client.send(new RegisterTaskDefinitionCommand(definition)),
    "AccessDeniedException",
    `User: arn:aws:iam::${account}:user/deployer is not authorized to perform: iam:PassRole on resource: ${role} because no identity-based policy allows the iam:PassRole action`,
  );
  // Passing it to another service than ECS tasks is not passing it to ECS tasks.
  const passTo = (service: string) =>
    policy(
      { Effect: "Allow", Action: ["ecs:RegisterTaskDefinition", "ecs:RunTask"], Resource: "*" },
      { Effect: "Allow", Action: "iam:PassRole", Resource: role, Condition: { StringEquals: { "iam:PassedToService": service } } },
    );
  await iam.send(new PutUserPolicyCommand({ UserName: "deployer", PolicyName: "main", PolicyDocument: passTo("lambda.amazonaws.com") }));
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await rejectsWithAwsError(client.send(new RegisterTaskDefinitionCommand(definition)), "AccessDeniedException", /iam:PassRole/);
  await iam.send(new PutUserPolicyCommand({ UserName: "deployer", PolicyName: "main", PolicyDocument: passTo("ecs-tasks.amazonaws.com") }));
  const started = Date.now();
  await waitFor(
    async () => {
      try {
        await client.send(new RegisterTaskDefinitionCommand(definition));
        return true;
      } catch (error) {
        if ((error as Error).name !== "AccessDeniedException") throw error;
        return false;
      }
    },
    { what: "the new policy to take effect", timeoutMs: 10_000, intervalMs: 200 },
  );
  assert.ok(Date.now() - started < 5_000, "a policy change takes effect within seconds");
  client.destroy();
});

test("AssumeRole: the trust policy and external id decide; the session acts as the role, with its token, until it expires", async () => {
  const keys = await userWithKey("assumer", policy({ Effect: "Allow", Action: "ecs:ListClusters", Resource: "*" }));
  const trust = policy({
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${account}:user/assumer` },
    Action: "sts:AssumeRole",
    Condition: { StringEquals: { "sts:ExternalId": "ext-1234" } },
  });
  const created = await iam.send(new CreateRoleCommand({ RoleName: "logs-writer", AssumeRolePolicyDocument: trust }));
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: "logs-writer",
      PolicyName: "logs",
      PolicyDocument: policy({ Effect: "Allow", Action: "logs:CreateLogGroup", Resource: `arn:aws:logs:*:${account}:log-group:app-*` }),
    }),
  );
  const sts = new STSClient(as(keys));
  const roleArn = created.Role!.Arn!;
  await rejectsWithAwsError(
    sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "s1", ExternalId: "wrong-id" })),
    "AccessDenied",
    `User: arn:aws:iam::${account}:user/assumer is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
  );
  await rejectsWithAwsError(
    sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "s1", ExternalId: "ext-1234", DurationSeconds: 7200 })),
    "ValidationError",
    /MaxSessionDuration/,
  );
  const root = new STSClient(sdkConfig(server));
  await rejectsWithAwsError(
    root.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "s1" })),
    "AccessDenied",
    "Roles may not be assumed by root accounts.",
  );
  const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "s1", ExternalId: "ext-1234", DurationSeconds: 900 }));
  const session: Credentials = {
    accessKeyId: assumed.Credentials!.AccessKeyId!,
    secretAccessKey: assumed.Credentials!.SecretAccessKey!,
    sessionToken: assumed.Credentials!.SessionToken!,
  };
  assert.match(session.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
  const expiresIn = assumed.Credentials!.Expiration!.getTime() - Date.now();
  assert.ok(expiresIn > 800_000 && expiresIn <= 900_000, `expires in ${expiresIn} ms`);
  const sessionArn = `arn:aws:sts::${account}:assumed-role/logs-writer/s1`;
  assert.equal(assumed.AssumedRoleUser!.Arn, sessionArn);
  assert.equal(assumed.AssumedRoleUser!.AssumedRoleId, `${created.Role!.RoleId}:s1`);
  const asRole = new STSClient(as(session));
  const identity = await asRole.send(new GetCallerIdentityCommand({}));
  assert.equal(identity.Arn, sessionArn);
  assert.equal(identity.UserId, `${created.Role!.RoleId}:s1`);
  const logs = new CloudWatchLogsClient(as(session));
  await logs.send(new CreateLogGroupCommand({ logGroupName: "app-1" }));
  await rejectsWithAwsError(
    logs.send(new CreateLogGroupCommand({ logGroupName: "other" })),
    "AccessDeniedException",
    `User: ${sessionArn} is not authorized to perform: logs:CreateLogGroup on resource: arn:aws:logs:${server.region}:${account}:log-group:other because no identity-based policy allows the logs:CreateLogGroup action`,
  );
  await rejectsWithAwsError(new ECSClient(as(session)).send(new ListClustersCommand({})), "AccessDeniedException", /ecs:ListClusters/);
  // The token is part of the credential: without it, or another one, the key is refused.
  const { sessionToken: _token, ...withoutToken } = session;
  await rejectsWithAwsError(new STSClient(as(withoutToken)).send(new GetCallerIdentityCommand({})), "InvalidClientTokenId");
  await rejectsWithAwsError(
    new STSClient(as({ ...session, sessionToken: `${session.sessionToken!.slice(0, -4)}AAAA` })).send(new GetCallerIdentityCommand({})),
    "InvalidClientTokenId",
  );
  // A long-term key presented with a token is refused as well.
  await rejectsWithAwsError(new STSClient(as({ ...keys, sessionToken: session.sessionToken! })).send(new GetCallerIdentityCommand({})), "InvalidClientTokenId");
  // Role chaining is held to an hour.
  await rejectsWithAwsError(
    asRole.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "s2", DurationSeconds: 3601 })),
    "ValidationError",
    /1 hour session limit/,
  );
  // The CLI picks the session up from the environment.
  const cli = await awsCli(server, ["sts", "get-caller-identity"], {
    AWS_ACCESS_KEY_ID: session.accessKeyId,
    AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
    AWS_SESSION_TOKEN: session.sessionToken!,
  });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal((cli.json as { Arn: string }).Arn, sessionArn);
  for (const client of [sts, root, asRole, logs]) client.destroy();
});

test("GetSessionToken: a user's session acts as the user but may not call IAM", async () => {
  const keys = await userWithKey("traveller", policy({ Effect: "Allow", Action: ["ecs:ListClusters", "iam:ListUsers"], Resource: "*" }));
  const issued = await new STSClient(as(keys)).send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
  const session = {
    accessKeyId: issued.Credentials!.AccessKeyId!,
    secretAccessKey: issued.Credentials!.SecretAccessKey!,
    sessionToken: issued.Credentials!.SessionToken!,
  };
  assert.ok((await new ECSClient(as(session)).send(new ListClustersCommand({}))).clusterArns);
  assert.equal((await new STSClient(as(session)).send(new GetCallerIdentityCommand({}))).Arn, `arn:aws:iam::${account}:user/traveller`);
  await rejectsWithAwsError(new IAMClient(as(session)).send(new CreateUserCommand({ UserName: "x" })), "AccessDenied");
  await rejectsWithAwsError(
    new STSClient(as(session)).send(new GetSessionTokenCommand({})),
    "AccessDenied",
    "Cannot call GetSessionToken with session credentials",
  );
  // The user's own key may call IAM where its policy allows.
  assert.ok((await new IAMClient(as(keys)).send(new ListUsersCommand({}))).Users!.some((user) => user.UserName === "traveller"));
});

test("boto3 assumes a role and calls with the session", async () => {
  const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" });
  await iam.send(new CreateRoleCommand({ RoleName: "reader", AssumeRolePolicyDocument: trust }));
  await iam.send(
    new PutRolePolicyCommand({ RoleName: "reader", PolicyName: "r", PolicyDocument: policy({ Effect: "Allow", Action: "ecs:ListClusters", Resource: "*" }) }),
  );
  // Trusting the account: the caller's own policy must allow sts:AssumeRole too.
  const keys = await userWithKey("py", policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: `arn:aws:iam::${account}:role/reader` }));
  const script = [
    "import boto3",
    `s = boto3.session.Session(aws_access_key_id=${JSON.stringify(keys.accessKeyId)}, aws_secret_access_key=${JSON.stringify(keys.secretAccessKey)}, region_name=${JSON.stringify(server.region)})`,
    `c = s.client("sts", endpoint_url=${JSON.stringify(server.endpoint)}).assume_role(RoleArn="arn:aws:iam::${account}:role/reader", RoleSessionName="py")["Credentials"]`,
    `r = boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"], region_name=${JSON.stringify(server.region)})`,
    `print(r.client("sts", endpoint_url=${JSON.stringify(server.endpoint)}).get_caller_identity()["Arn"])`,
    `print(len(r.client("ecs", endpoint_url=${JSON.stringify(server.endpoint)}).list_clusters()["clusterArns"]))`,
  ].join("\n");
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      "/usr/bin/python3",
      ["-c", script],
      { env: { PATH: "/usr/bin:/bin", HOME: tmpdir(), AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" } },
      (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
    ),
  );
  assert.equal(result.code, 0, result.stderr);
  const [arn, count] = result.stdout.trim().split("\n");
  assert.equal(arn, `arn:aws:sts::${account}:assumed-role/reader/py`);
  assert.ok(Number(count) >= 2);
});
