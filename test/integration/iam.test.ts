// IAM end to end on one real `berth server`: roles, users, inline and managed policies, versions,
// attachments, tags and access keys through the SDK v3 client, Debian's AWS CLI and boto3; AWS's
// errors for duplicates (in any case), missing entities, malformed policies, delete conflicts,
// quotas and bad names, paths and tags; racing writers; a user's key accepted by the gateway, then
// refused once Inactive or deleted; the region real clients sign IAM requests with.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserCommand,
  DetachRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  SetDefaultPolicyVersionCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAccessKeyCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { rejectsWithAwsError } from "../support/aws-error.js";
import { runBoto3 } from "../support/boto3.js";
import { waitFor } from "../support/wait-for.js";

let server: TestServer;
let iam: IAMClient;
before(async () => {
  server = await startTestServer();
  iam = new IAMClient(sdkConfig(server));
});
after(async () => {
  iam.destroy();
  await server.stop();
  await server.cleanup();
});

/** The SDK names IAM's modelled errors after their shapes (EntityAlreadyExists → EntityAlreadyExistsException); the wire code is `code`. */
async function rejects(promise: Promise<unknown>, code: string, message?: string | RegExp): Promise<void> {
  await rejectsWithAwsError(
    promise.catch((error: Error & { Code?: string }) => {
      if (error.name === `${code}Exception`) error.name = code;
      throw error;
    }),
    code,
    message,
  );
}
const boto3 = (script: string) => runBoto3(server, "iam", "iam", script);
const ecsTrust = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
const allow = (action: string, resource = "*") =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: resource }] });
const account = "123456789012";

test("CreateRole through the CLI with an ecs-tasks trust policy; GetRole answers it URL-encoded; names are unique in any case", async () => {
  const created = await awsCli(server, ["iam", "create-role", "--role-name", "TaskRole", "--assume-role-policy-document", ecsTrust, "--description", "tasks"]);
  assert.equal(created.code, 0, created.stderr);
  const role = (created.json as { Role: { Arn: string; RoleId: string; AssumeRolePolicyDocument: unknown; MaxSessionDuration: number } }).Role;
  assert.equal(role.Arn, `arn:aws:iam::${account}:role/TaskRole`);
  assert.match(role.RoleId, /^AROA[A-Z2-7]{17}$/);
  assert.deepEqual(role.AssumeRolePolicyDocument, JSON.parse(ecsTrust), "the CLI decodes the URL-encoded document");
  assert.equal(role.MaxSessionDuration, 3600);
  const got = (await iam.send(new GetRoleCommand({ RoleName: "taskrole" }))).Role!;
  assert.equal(got.RoleName, "TaskRole", "found in any case, named as created");
  assert.equal(
    got.AssumeRolePolicyDocument,
    encodeURIComponent(ecsTrust).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  );
  assert.equal(decodeURIComponent(got.AssumeRolePolicyDocument!), ecsTrust);
  await rejects(
    iam.send(new CreateRoleCommand({ RoleName: "TASKROLE", AssumeRolePolicyDocument: ecsTrust })),
    "EntityAlreadyExists",
    "Role with name TASKROLE already exists.",
  );
  await rejects(iam.send(new GetRoleCommand({ RoleName: "Nobody" })), "NoSuchEntity", "The role with name Nobody cannot be found.");
  const duplicate = await awsCli(server, ["iam", "create-role", "--role-name", "taskRole", "--assume-role-policy-document", ecsTrust]);
  assert.match(duplicate.stderr, /EntityAlreadyExists/);
});

test("CreateRole refuses bad names, paths, durations, tags and trust policies with IAM's errors", async () => {
  const create = (input: Partial<ConstructorParameters<typeof CreateRoleCommand>[0]>) =>
    iam.send(new CreateRoleCommand({ RoleName: "Ok", AssumeRolePolicyDocument: ecsTrust, ...input }));
  await rejects(
    create({ RoleName: "bad name" }),
    "ValidationError",
    "The specified value for roleName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-",
  );
  await rejects(create({ RoleName: "r\u00e9le" }), "ValidationError", /The specified value for roleName is invalid/);
  await rejects(create({ RoleName: "x".repeat(65) }), "ValidationError", /Member must have length less than or equal to 64/);
  await rejects(create({ Path: "no-slashes" }), "ValidationError", /at 'path'/);
  await rejects(create({ Path: "/a\u0000b/" }), "ValidationError", /at 'path'/);
  await rejects(create({ MaxSessionDuration: 100 }), "ValidationError", /maxSessionDuration/);
  await rejects(create({ MaxSessionDuration: 43201 }), "ValidationError", /maxSessionDuration/);
  await rejects(create({ Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: "v" })) }), "ValidationError", /length less than or equal to 50/);
  await rejects(create({ Tags: [{ Key: "bad<key>", Value: "v" }] }), "ValidationError", /tags\.1\.member\.key/);
  await rejects(
    create({
      Tags: [
        { Key: "Team", Value: "a" },
        { Key: "team", Value: "b" },
      ],
    }),
    "InvalidInput",
  );
  await rejects(create({ AssumeRolePolicyDocument: "{not json" }), "MalformedPolicyDocument", "Syntax errors in policy.");
  await rejects(create({ AssumeRolePolicyDocument: allow("sts:AssumeRole") }), "MalformedPolicyDocument", /statement with no principals/);
  const withResource = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole", Resource: "*" }],
  });
  await rejects(create({ AssumeRolePolicyDocument: withResource }), "MalformedPolicyDocument", "Has prohibited field Resource");
  const ghost = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:user/ghost` }, Action: "sts:AssumeRole" }],
  });
  await rejects(
    create({ AssumeRolePolicyDocument: ghost }),
    "MalformedPolicyDocument",
    `Invalid principal in policy: "AWS":"arn:aws:iam::${account}:user/ghost"`,
  );
  await rejects(
    create({ AssumeRolePolicyDocument: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole", Sid: "x".repeat(2100) }] }) }),
    "LimitExceeded",
  );
  await rejects(create({ PermissionsBoundary: `arn:aws:iam::${account}:policy/x` }), "InvalidInput");
  await rejects(iam.send(new GetRoleCommand({ RoleName: "Ok" })), "NoSuchEntity");
});

test("UpdateRole, UpdateAssumeRolePolicy, ListRoles with PathPrefix and Marker/MaxItems paging", async () => {
  for (const name of ["PageA", "PageB", "PageC"])
    await iam.send(new CreateRoleCommand({ RoleName: name, Path: "/paged/", AssumeRolePolicyDocument: ecsTrust }));
  await iam.send(new UpdateRoleCommand({ RoleName: "pagea", MaxSessionDuration: 7200, Description: "first" }));
  const a = (await iam.send(new GetRoleCommand({ RoleName: "PageA" }))).Role!;
  assert.deepEqual([a.MaxSessionDuration, a.Description, a.Arn], [7200, "first", `arn:aws:iam::${account}:role/paged/PageA`]);
  await rejects(iam.send(new UpdateRoleCommand({ RoleName: "PageA", MaxSessionDuration: 50000 })), "ValidationError");
  const ec2Trust = ecsTrust.replace("ecs-tasks", "ec2");
  await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "PageA", PolicyDocument: ec2Trust }));
  assert.equal(decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: "PageA" }))).Role!.AssumeRolePolicyDocument!), ec2Trust);
  await rejects(iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "PageA", PolicyDocument: "[]" })), "MalformedPolicyDocument");
  const first = await iam.send(new ListRolesCommand({ PathPrefix: "/paged/", MaxItems: 2 }));
  assert.deepEqual(
    first.Roles!.map((role) => role.RoleName),
    ["PageA", "PageB"],
  );
  assert.equal(first.IsTruncated, true);
  const second = await iam.send(new ListRolesCommand({ PathPrefix: "/paged/", MaxItems: 2, Marker: first.Marker }));
  assert.deepEqual([second.Roles!.map((role) => role.RoleName), second.IsTruncated], [["PageC"], false]);
  assert.equal(first.Roles![0]!.Tags, undefined, "ListRoles answers no tags");
  await rejects(iam.send(new ListRolesCommand({ Marker: "not-a-marker" })), "ValidationError");
  await rejects(iam.send(new ListRolesCommand({ MaxItems: 1001 })), "ValidationError");
  const cli = await awsCli(server, ["iam", "list-roles", "--path-prefix", "/paged/"]);
  assert.deepEqual(
    (cli.json as { Roles: { RoleName: string }[] }).Roles.map((role) => role.RoleName),
    ["PageA", "PageB", "PageC"],
  );
});

test("inline role policies: put, get (URL-encoded), list, delete; malformed and oversized ones refused; DeleteRole conflicts", async () => {
  await iam.send(new CreateRoleCommand({ RoleName: "Inline", AssumeRolePolicyDocument: ecsTrust }));
  const put = await awsCli(server, [
    "iam",
    "put-role-policy",
    "--role-name",
    "Inline",
    "--policy-name",
    "ReadLogs",
    "--policy-document",
    allow("logs:GetLogEvents"),
  ]);
  assert.equal(put.code, 0, put.stderr);
  const got = await iam.send(new GetRolePolicyCommand({ RoleName: "inline", PolicyName: "readlogs" }));
  assert.deepEqual([got.RoleName, got.PolicyName, decodeURIComponent(got.PolicyDocument!)], ["Inline", "ReadLogs", allow("logs:GetLogEvents")]);
  assert.deepEqual((await iam.send(new ListRolePoliciesCommand({ RoleName: "Inline" }))).PolicyNames, ["ReadLogs"]);
  await rejects(
    iam.send(
      new PutRolePolicyCommand({
        RoleName: "Inline",
        PolicyName: "NoResource",
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*" }] }),
      }),
    ),
    "MalformedPolicyDocument",
    "Policy statement must contain resources.",
  );
  await rejects(
    iam.send(new PutRolePolicyCommand({ RoleName: "Inline", PolicyName: "Principal", PolicyDocument: ecsTrust })),
    "MalformedPolicyDocument",
    "Policy document should not specify a principal.",
  );
  const big = allow("s3:GetObject", `arn:aws:s3:::${"b".repeat(6000)}`);
  await iam.send(new PutRolePolicyCommand({ RoleName: "Inline", PolicyName: "Big1", PolicyDocument: big }));
  await rejects(
    iam.send(new PutRolePolicyCommand({ RoleName: "Inline", PolicyName: "Big2", PolicyDocument: big })),
    "LimitExceeded",
    "Maximum policy size of 10240 bytes exceeded for role Inline",
  );
  await rejects(iam.send(new PutRolePolicyCommand({ RoleName: "Ghost", PolicyName: "p", PolicyDocument: allow("s3:*") })), "NoSuchEntity");
  await rejects(
    iam.send(new GetRolePolicyCommand({ RoleName: "Inline", PolicyName: "Nope" })),
    "NoSuchEntity",
    "The role policy with name Nope cannot be found.",
  );
  await rejects(iam.send(new DeleteRoleCommand({ RoleName: "Inline" })), "DeleteConflict", "Cannot delete entity, must delete policies first.");
  await iam.send(new DeleteRolePolicyCommand({ RoleName: "Inline", PolicyName: "ReadLogs" }));
  await iam.send(new DeleteRolePolicyCommand({ RoleName: "Inline", PolicyName: "Big1" }));
  await iam.send(new AttachRolePolicyCommand({ RoleName: "Inline", PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
  await rejects(iam.send(new DeleteRoleCommand({ RoleName: "Inline" })), "DeleteConflict", "Cannot delete entity, must detach all policies first.");
  await iam.send(new DetachRolePolicyCommand({ RoleName: "Inline", PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
  await iam.send(new DeleteRoleCommand({ RoleName: "Inline" }));
  await rejects(iam.send(new DeleteRoleCommand({ RoleName: "Inline" })), "NoSuchEntity");
});

test("managed policies: create, versions (5 at most, default kept), attach with the 10-a-role quota, delete conflicts", async () => {
  const created = (
    await iam.send(
      new CreatePolicyCommand({ PolicyName: "Deploy", Path: "/ci/", PolicyDocument: allow("ecs:UpdateService"), Tags: [{ Key: "k", Value: "v" }] }),
    )
  ).Policy!;
  const arn = `arn:aws:iam::${account}:policy/ci/Deploy`;
  assert.deepEqual([created.Arn, created.DefaultVersionId, created.AttachmentCount], [arn, "v1", 0]);
  assert.match(created.PolicyId!, /^ANPA[A-Z2-7]{17}$/);
  await rejects(
    iam.send(new CreatePolicyCommand({ PolicyName: "deploy", PolicyDocument: allow("s3:*") })),
    "EntityAlreadyExists",
    "A policy called deploy already exists. Duplicate names are not allowed.",
  );
  for (let version = 2; version <= 5; version++)
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: allow(`ecs:Op${version}`), SetAsDefault: version === 3 }));
  await rejects(iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: allow("s3:*") })), "LimitExceeded", /up to 5 versions/);
  const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions!;
  assert.deepEqual(
    versions.map((version) => [version.VersionId, version.IsDefaultVersion]),
    [
      ["v1", false],
      ["v2", false],
      ["v3", true],
      ["v4", false],
      ["v5", false],
    ],
  );
  const v3 = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: "v3" }))).PolicyVersion!;
  assert.equal(decodeURIComponent(v3.Document!), allow("ecs:Op3"));
  await rejects(
    iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: "v3" })),
    "DeleteConflict",
    "Cannot delete the default version of a policy.",
  );
  await rejects(iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: "v9" })), "NoSuchEntity");
  await rejects(iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: "9" })), "ValidationError");
  await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: "v5" }));
  await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: allow("s3:*") }));
  assert.ok(
    (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions!.some((version) => version.VersionId === "v6"),
    "numbers are not reused",
  );
  await iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: "v1" }));
  assert.equal((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!.DefaultVersionId, "v1");
  await rejects(iam.send(new DeletePolicyCommand({ PolicyArn: arn })), "DeleteConflict", /more than one version/);
  for (const id of ["v2", "v3", "v4", "v6"]) await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: id }));
  await iam.send(new CreateRoleCommand({ RoleName: "Attached", AssumeRolePolicyDocument: ecsTrust }));
  await iam.send(new AttachRolePolicyCommand({ RoleName: "Attached", PolicyArn: arn }));
  assert.equal((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!.AttachmentCount, 1);
  await rejects(iam.send(new DeletePolicyCommand({ PolicyArn: arn })), "DeleteConflict", "Cannot delete a policy attached to entities.");
  await rejects(
    iam.send(new AttachRolePolicyCommand({ RoleName: "Attached", PolicyArn: `arn:aws:iam::${account}:policy/Nope` })),
    "NoSuchEntity",
    /does not exist or is not attachable/,
  );
  await rejects(iam.send(new AttachRolePolicyCommand({ RoleName: "Attached", PolicyArn: "not-an-arn-at-all-really" })), "InvalidInput");
  await rejects(iam.send(new AttachRolePolicyCommand({ RoleName: "Attached", PolicyArn: `arn:aws:iam::210987654321:policy/ci/Deploy` })), "NoSuchEntity");
  for (let index = 0; index < 9; index++) await iam.send(new CreatePolicyCommand({ PolicyName: `Filler${index}`, PolicyDocument: allow("s3:GetObject") }));
  for (let index = 0; index < 9; index++)
    await iam.send(new AttachRolePolicyCommand({ RoleName: "Attached", PolicyArn: `arn:aws:iam::${account}:policy/Filler${index}` }));
  await rejects(
    iam.send(new AttachRolePolicyCommand({ RoleName: "Attached", PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" })),
    "LimitExceeded",
    "Cannot exceed quota for PoliciesPerRole: 10",
  );
  const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: "Attached", PathPrefix: "/ci/" }));
  assert.deepEqual(attached.AttachedPolicies, [{ PolicyName: "Deploy", PolicyArn: arn }]);
  await iam.send(new DetachRolePolicyCommand({ RoleName: "Attached", PolicyArn: arn }));
  await rejects(iam.send(new DetachRolePolicyCommand({ RoleName: "Attached", PolicyArn: arn })), "NoSuchEntity", `Policy ${arn} was not found.`);
  await iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
  await rejects(iam.send(new GetPolicyCommand({ PolicyArn: arn })), "NoSuchEntity", `Policy ${arn} was not found.`);
});

test("AWS managed policies: listed with Scope=AWS, attachable, never changed", async () => {
  const listed = (await iam.send(new ListPoliciesCommand({ Scope: "AWS", MaxItems: 1000 }))).Policies!.map((policy) => policy.Arn);
  for (const arn of ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"])
    assert.ok(listed.includes(arn), arn);
  const local = (await iam.send(new ListPoliciesCommand({ Scope: "Local", MaxItems: 1000 }))).Policies!;
  assert.ok(local.every((policy) => !policy.Arn!.includes("::aws:")));
  await iam.send(new CreateRoleCommand({ RoleName: "ExecRole", AssumeRolePolicyDocument: ecsTrust }));
  const exec = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
  const cli = await awsCli(server, ["iam", "attach-role-policy", "--role-name", "ExecRole", "--policy-arn", exec]);
  assert.equal(cli.code, 0, cli.stderr);
  const attachedOnly = (await iam.send(new ListPoliciesCommand({ Scope: "AWS", OnlyAttached: true }))).Policies!;
  assert.ok(attachedOnly.some((policy) => policy.Arn === exec && policy.AttachmentCount === 1));
  const version = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: exec, VersionId: "v1" }))).PolicyVersion!;
  assert.deepEqual(JSON.parse(decodeURIComponent(version.Document!)).Statement[0].Action.includes("ecr:BatchGetImage"), true);
  await rejects(iam.send(new DeletePolicyCommand({ PolicyArn: exec })), "AccessDenied");
  await rejects(iam.send(new CreatePolicyVersionCommand({ PolicyArn: exec, PolicyDocument: allow("*") })), "AccessDenied");
  await rejects(iam.send(new GetPolicyCommand({ PolicyArn: "arn:aws:iam::aws:policy/NotAPolicyBerthKnows" })), "NoSuchEntity");
});

test("role tags: TagRole, UntagRole, ListRoleTags; keys in any case replace each other; 50 at most", async () => {
  await iam.send(new CreateRoleCommand({ RoleName: "Tagged", AssumeRolePolicyDocument: ecsTrust, Tags: [{ Key: "Team", Value: "a" }] }));
  await iam.send(
    new TagRoleCommand({
      RoleName: "Tagged",
      Tags: [
        { Key: "team", Value: "b" },
        { Key: "env", Value: "prod" },
      ],
    }),
  );
  assert.deepEqual((await iam.send(new ListRoleTagsCommand({ RoleName: "Tagged" }))).Tags, [
    { Key: "env", Value: "prod" },
    { Key: "team", Value: "b" },
  ]);
  await iam.send(new UntagRoleCommand({ RoleName: "Tagged", TagKeys: ["ENV"] }));
  assert.deepEqual((await iam.send(new ListRoleTagsCommand({ RoleName: "Tagged" }))).Tags, [{ Key: "team", Value: "b" }]);
  await rejects(
    iam.send(new TagRoleCommand({ RoleName: "Tagged", Tags: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "" })) })),
    "LimitExceeded",
  );
  await rejects(iam.send(new TagRoleCommand({ RoleName: "Tagged", Tags: [{ Key: "v", Value: "x".repeat(257) }] })), "ValidationError");
  await rejects(iam.send(new TagRoleCommand({ RoleName: "Ghost", Tags: [{ Key: "a", Value: "b" }] })), "NoSuchEntity");
  assert.deepEqual((await iam.send(new GetRoleCommand({ RoleName: "Tagged" }))).Role!.Tags, [{ Key: "team", Value: "b" }]);
});

test("users and access keys: the key signs requests, GetUser answers the caller, 2 keys at most, Inactive and deleted keys are refused", async () => {
  const created = await awsCli(server, ["iam", "create-user", "--user-name", "deployer", "--path", "/ci/"]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal((created.json as { User: { Arn: string } }).User.Arn, `arn:aws:iam::${account}:user/ci/deployer`);
  await rejects(iam.send(new CreateUserCommand({ UserName: "Deployer" })), "EntityAlreadyExists", "User with name Deployer already exists.");
  await rejects(iam.send(new GetUserCommand({ UserName: "nobody" })), "NoSuchEntity", "The user with name nobody cannot be found.");
  const root = (await iam.send(new GetUserCommand({}))).User!;
  assert.deepEqual([root.UserId, root.Arn], [account, `arn:aws:iam::${account}:root`]);
  const keyCli = await awsCli(server, ["iam", "create-access-key", "--user-name", "deployer"]);
  assert.equal(keyCli.code, 0, keyCli.stderr);
  const key = (keyCli.json as { AccessKey: { AccessKeyId: string; SecretAccessKey: string; Status: string } }).AccessKey;
  assert.match(key.AccessKeyId, /^AKIA[A-Z2-7]{16}$/);
  assert.equal(key.Status, "Active");
  const asUser = { ...sdkConfig(server), credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey } };
  const sts = new STSClient(asUser);
  const userIam = new IAMClient(asUser);
  try {
    assert.equal((await sts.send(new GetCallerIdentityCommand({}))).Arn, `arn:aws:iam::${account}:user/ci/deployer`);
    // Reading itself takes iam:GetUser on its own ARN (the gateway enforces identity policies).
    const self = allow("iam:GetUser");
    await iam.send(new PutUserPolicyCommand({ UserName: "deployer", PolicyName: "Self", PolicyDocument: self }));
    // Identity policies are cached for seconds per replica.
    await waitFor(async () => (await userIam.send(new GetUserCommand({})).catch(() => undefined))?.User?.UserName === "deployer", {
      what: "GetUser answering the calling user",
      timeoutMs: 15_000,
      intervalMs: 500,
    });
    await iam.send(new CreateAccessKeyCommand({ UserName: "deployer" }));
    await rejects(iam.send(new CreateAccessKeyCommand({ UserName: "deployer" })), "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2");
    const listed = (await iam.send(new ListAccessKeysCommand({ UserName: "deployer" }))).AccessKeyMetadata!;
    assert.equal(listed.length, 2);
    assert.ok(listed.every((one) => !("SecretAccessKey" in one)));
    await rejects(iam.send(new DeleteUserCommand({ UserName: "deployer" })), "DeleteConflict", "Cannot delete entity, must delete access keys first.");
    await iam.send(new UpdateAccessKeyCommand({ UserName: "deployer", AccessKeyId: key.AccessKeyId, Status: "Inactive" }));
    const refused = async () => {
      try {
        await sts.send(new GetCallerIdentityCommand({}));
        return false;
      } catch (error) {
        assert.equal((error as Error).name, "InvalidClientTokenId");
        assert.equal((error as Error).message, "The security token included in the request is invalid.");
        return true;
      }
    };
    // Resolved keys are cached for seconds per replica (the gateway's hot path).
    await waitFor(refused, { what: "the Inactive key refused", timeoutMs: 15_000, intervalMs: 500 });
    await iam.send(new UpdateAccessKeyCommand({ UserName: "deployer", AccessKeyId: key.AccessKeyId, Status: "Active" }));
    await waitFor(async () => !(await refused()), { what: "the key active again", timeoutMs: 15_000, intervalMs: 500 });
    await rejects(
      iam.send(new UpdateAccessKeyCommand({ UserName: "deployer", AccessKeyId: key.AccessKeyId, Status: "Expired" as "Active" })),
      "ValidationError",
    );
    await rejects(
      iam.send(new DeleteAccessKeyCommand({ UserName: "deployer", AccessKeyId: server.credentials.accessKeyId })),
      "NoSuchEntity",
      /The Access Key with id/,
    );
    await iam.send(new DeleteAccessKeyCommand({ UserName: "deployer", AccessKeyId: key.AccessKeyId }));
    await waitFor(refused, { what: "the deleted key refused", timeoutMs: 15_000, intervalMs: 500 });
  } finally {
    sts.destroy();
    userIam.destroy();
  }
});

test("racing writers cannot pass a quota or take a name twice", async () => {
  await iam.send(new CreateUserCommand({ UserName: "racer" }));
  const keys = await Promise.allSettled(Array.from({ length: 6 }, () => iam.send(new CreateAccessKeyCommand({ UserName: "racer" }))));
  assert.equal(keys.filter((result) => result.status === "fulfilled").length, 2);
  const roles = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) => iam.send(new CreateRoleCommand({ RoleName: i % 2 ? "RACE" : "race", AssumeRolePolicyDocument: ecsTrust }))),
  );
  assert.equal(roles.filter((result) => result.status === "fulfilled").length, 1);
});

test("boto3: documents decoded into dicts, errors as its exception classes", async () => {
  const result = await boto3(`
doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
iam.create_role(RoleName="BotoRole", AssumeRolePolicyDocument=doc, Tags=[{"Key": "a", "Value": "b"}])
role = iam.get_role(RoleName="BotoRole")["Role"]
iam.put_role_policy(RoleName="BotoRole", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}))
inline = iam.get_role_policy(RoleName="BotoRole", PolicyName="p")["PolicyDocument"]
aws = [p["PolicyName"] for p in iam.list_policies(Scope="AWS")["Policies"]]
try:
    iam.create_role(RoleName="botorole", AssumeRolePolicyDocument=doc)
    dup = "none"
except iam.exceptions.EntityAlreadyExistsException as e:
    dup = e.response["Error"]["Code"]
try:
    iam.delete_role(RoleName="BotoRole")
    conflict = "none"
except iam.exceptions.DeleteConflictException as e:
    conflict = e.response["Error"]["Message"]
user = iam.create_user(UserName="boto-user")["User"]
print(json.dumps({"trust": role["AssumeRolePolicyDocument"], "tags": role["Tags"], "inline": inline, "aws": aws, "dup": dup, "conflict": conflict, "user": user["Arn"]}))
`);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout) as Record<string, unknown>;
  assert.deepEqual(out.trust, JSON.parse(ecsTrust));
  assert.deepEqual(out.tags, [{ Key: "a", Value: "b" }]);
  assert.deepEqual(out.inline, JSON.parse(allow("ecs:*")));
  assert.ok((out.aws as string[]).includes("AdministratorAccess"));
  assert.equal(out.dup, "EntityAlreadyExists");
  assert.equal(out.conflict, "Cannot delete entity, must delete policies first.");
  assert.equal(out.user, `arn:aws:iam::${account}:user/boto-user`);
});

test("the AWS CLI and boto3 sign IAM requests with their configured region, which a server of another region accepts as its own", async () => {
  const west = await startTestServer({ args: ["--region", "eu-west-1"] });
  try {
    const cli = await awsCli(west, ["iam", "create-user", "--user-name", "west-user", "--debug"], { AWS_REGION: "eu-west-1" });
    assert.equal(cli.code, 0, cli.stderr.slice(-2000));
    assert.match(cli.stderr, /Credential=[A-Z0-9]+\/\d{8}\/eu-west-1\/iam\/aws4_request/);
    const boto = await runBoto3({ ...west, region: "eu-west-1" }, "iam", "iam", `print(iam.get_user(UserName="west-user")["User"]["Arn"])`);
    assert.equal(boto.code, 0, boto.stderr);
    assert.equal(boto.stdout.trim(), `arn:aws:iam::${account}:user/west-user`);
    // Signed for another region than the server's, IAM's requests are refused like every other service's.
    const east = await awsCli(west, ["iam", "get-user", "--user-name", "west-user"], { AWS_REGION: "us-east-1" });
    assert.notEqual(east.code, 0);
  } finally {
    await west.stop();
    await west.cleanup();
  }
});
