// Every IAM operation Berth serves, through Debian's AWS CLI and through boto3, on one real
// `berth server`: each call's answer as the client parses it (policy documents decoded back into
// objects, lists, pages), and a few refusals as the client reports them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { TestServer } from "../support/server.js";
import { awsCli, startTestServer } from "../support/server.js";
import { runBoto3 } from "../support/boto3.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
  await server.cleanup();
});

const trust = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
const allow = (action: string) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: "*" }] });
const account = "123456789012";

/** Runs `aws iam …` and answers its parsed JSON (undefined for an empty answer); fails the test on a non-zero exit. */
async function cli(...args: string[]): Promise<Record<string, unknown> | undefined> {
  const result = await awsCli(server, ["iam", ...args]);
  assert.equal(result.code, 0, `aws iam ${args.join(" ")}: ${result.stderr}`);
  return result.json as Record<string, unknown> | undefined;
}

test("the AWS CLI drives every user, policy, version, tag and key operation", async () => {
  await cli("create-user", "--user-name", "cli-user", "--tags", "Key=team,Value=a");
  assert.equal(((await cli("get-user", "--user-name", "CLI-USER"))!.User as { UserName: string }).UserName, "cli-user");
  assert.deepEqual(
    ((await cli("list-users"))!.Users as { UserName: string }[]).map((user) => user.UserName),
    ["cli-user"],
  );
  await cli("update-user", "--user-name", "cli-user", "--new-user-name", "cli-user2", "--new-path", "/team/");
  assert.equal(((await cli("get-user", "--user-name", "cli-user2"))!.User as { Arn: string }).Arn, `arn:aws:iam::${account}:user/team/cli-user2`);
  const missing = await awsCli(server, ["iam", "get-user", "--user-name", "cli-user"]);
  assert.match(missing.stderr, /NoSuchEntity.*The user with name cli-user cannot be found\./);
  await cli("put-user-policy", "--user-name", "cli-user2", "--policy-name", "Logs", "--policy-document", allow("logs:*"));
  assert.deepEqual((await cli("get-user-policy", "--user-name", "cli-user2", "--policy-name", "Logs"))!.PolicyDocument, JSON.parse(allow("logs:*")));
  assert.deepEqual((await cli("list-user-policies", "--user-name", "cli-user2"))!.PolicyNames, ["Logs"]);
  await cli("delete-user-policy", "--user-name", "cli-user2", "--policy-name", "Logs");
  await cli("tag-user", "--user-name", "cli-user2", "--tags", "Key=env,Value=prod");
  assert.deepEqual((await cli("list-user-tags", "--user-name", "cli-user2"))!.Tags, [
    { Key: "env", Value: "prod" },
    { Key: "team", Value: "a" },
  ]);
  await cli("untag-user", "--user-name", "cli-user2", "--tag-keys", "env");

  const policy = (await cli("create-policy", "--policy-name", "CliPolicy", "--policy-document", allow("ecs:List*"), "--description", "d"))!.Policy as {
    Arn: string;
  };
  assert.equal(policy.Arn, `arn:aws:iam::${account}:policy/CliPolicy`);
  assert.equal(((await cli("get-policy", "--policy-arn", policy.Arn))!.Policy as { DefaultVersionId: string }).DefaultVersionId, "v1");
  await cli("create-policy-version", "--policy-arn", policy.Arn, "--policy-document", allow("ecs:Describe*"), "--set-as-default");
  const version = (await cli("get-policy-version", "--policy-arn", policy.Arn, "--version-id", "v2"))!.PolicyVersion as {
    Document: unknown;
    IsDefaultVersion: boolean;
  };
  assert.deepEqual([version.Document, version.IsDefaultVersion], [JSON.parse(allow("ecs:Describe*")), true]);
  assert.equal(((await cli("list-policy-versions", "--policy-arn", policy.Arn))!.Versions as unknown[]).length, 2);
  await cli("set-default-policy-version", "--policy-arn", policy.Arn, "--version-id", "v1");
  await cli("delete-policy-version", "--policy-arn", policy.Arn, "--version-id", "v2");
  await cli("tag-policy", "--policy-arn", policy.Arn, "--tags", "Key=k,Value=v");
  assert.deepEqual((await cli("list-policy-tags", "--policy-arn", policy.Arn))!.Tags, [{ Key: "k", Value: "v" }]);
  await cli("untag-policy", "--policy-arn", policy.Arn, "--tag-keys", "k");
  await cli("attach-user-policy", "--user-name", "cli-user2", "--policy-arn", policy.Arn);
  await cli("attach-user-policy", "--user-name", "cli-user2", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess");
  assert.deepEqual(
    ((await cli("list-attached-user-policies", "--user-name", "cli-user2"))!.AttachedPolicies as { PolicyName: string }[]).map((one) => one.PolicyName),
    ["CliPolicy", "AdministratorAccess"],
  );
  const local = (await cli("list-policies", "--scope", "Local", "--only-attached"))!.Policies as { PolicyName: string; AttachmentCount: number }[];
  assert.deepEqual(
    local.map((one) => [one.PolicyName, one.AttachmentCount]),
    [["CliPolicy", 1]],
  );
  const conflict = await awsCli(server, ["iam", "delete-policy", "--policy-arn", policy.Arn]);
  assert.match(conflict.stderr, /DeleteConflict.*Cannot delete a policy attached to entities\./);
  await cli("detach-user-policy", "--user-name", "cli-user2", "--policy-arn", policy.Arn);
  await cli("detach-user-policy", "--user-name", "cli-user2", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess");
  await cli("delete-policy", "--policy-arn", policy.Arn);

  const key = (await cli("create-access-key", "--user-name", "cli-user2"))!.AccessKey as { AccessKeyId: string };
  await cli("update-access-key", "--user-name", "cli-user2", "--access-key-id", key.AccessKeyId, "--status", "Inactive");
  const keys = (await cli("list-access-keys", "--user-name", "cli-user2"))!.AccessKeyMetadata as { AccessKeyId: string; Status: string }[];
  assert.deepEqual(
    keys.map((one) => [one.AccessKeyId, one.Status]),
    [[key.AccessKeyId, "Inactive"]],
  );
  await cli("delete-access-key", "--user-name", "cli-user2", "--access-key-id", key.AccessKeyId);
  await cli("delete-user", "--user-name", "cli-user2");
  assert.deepEqual((await cli("list-users"))!.Users, []);
});

test("the AWS CLI drives every role operation", async () => {
  await cli("create-role", "--role-name", "cli-role", "--assume-role-policy-document", trust, "--max-session-duration", "7200");
  await cli("update-role", "--role-name", "cli-role", "--description", "updated");
  await cli("update-assume-role-policy", "--role-name", "cli-role", "--policy-document", trust.replace("ecs-tasks", "ec2"));
  const role = (await cli("get-role", "--role-name", "cli-role"))!.Role as {
    Description: string;
    MaxSessionDuration: number;
    AssumeRolePolicyDocument: { Statement: { Principal: unknown }[] };
  };
  assert.deepEqual(
    [role.Description, role.MaxSessionDuration, role.AssumeRolePolicyDocument.Statement[0]!.Principal],
    ["updated", 7200, { Service: "ec2.amazonaws.com" }],
  );
  await cli("put-role-policy", "--role-name", "cli-role", "--policy-name", "P", "--policy-document", allow("s3:*"));
  assert.deepEqual((await cli("get-role-policy", "--role-name", "cli-role", "--policy-name", "P"))!.PolicyDocument, JSON.parse(allow("s3:*")));
  assert.deepEqual((await cli("list-role-policies", "--role-name", "cli-role"))!.PolicyNames, ["P"]);
  await cli("delete-role-policy", "--role-name", "cli-role", "--policy-name", "P");
  await cli("attach-role-policy", "--role-name", "cli-role", "--policy-arn", "arn:aws:iam::aws:policy/CloudWatchLogsFullAccess");
  assert.equal(((await cli("list-attached-role-policies", "--role-name", "cli-role"))!.AttachedPolicies as unknown[]).length, 1);
  await cli("detach-role-policy", "--role-name", "cli-role", "--policy-arn", "arn:aws:iam::aws:policy/CloudWatchLogsFullAccess");
  await cli("tag-role", "--role-name", "cli-role", "--tags", "Key=a,Value=b");
  assert.deepEqual((await cli("list-role-tags", "--role-name", "cli-role"))!.Tags, [{ Key: "a", Value: "b" }]);
  await cli("untag-role", "--role-name", "cli-role", "--tag-keys", "a");
  assert.equal(((await cli("list-roles"))!.Roles as unknown[]).length, 1);
  await cli("delete-role", "--role-name", "cli-role");
  // The CLI's own pager follows IsTruncated/Marker: 7 roles, pages of 2.
  for (let index = 0; index < 7; index++) await cli("create-role", "--role-name", `paged-${index}`, "--assume-role-policy-document", trust);
  assert.equal(((await cli("list-roles", "--page-size", "2"))!.Roles as unknown[]).length, 7);
});

test("boto3 drives every operation, with its paginators and its exception classes", async () => {
  const result = await runBoto3(
    server,
    "iam",
    "iam",
    `
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
allow = lambda a: json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": a, "Resource": "*"}]})
out = {}
iam.create_role(RoleName="b-role", AssumeRolePolicyDocument=trust, Path="/b/")
iam.update_role(RoleName="b-role", MaxSessionDuration=3600, Description="x")
iam.update_assume_role_policy(RoleName="b-role", PolicyDocument=trust)
iam.put_role_policy(RoleName="b-role", PolicyName="p", PolicyDocument=allow("s3:*"))
out["role_policy"] = iam.get_role_policy(RoleName="b-role", PolicyName="p")["PolicyDocument"]["Statement"][0]["Action"]
out["role_policies"] = iam.list_role_policies(RoleName="b-role")["PolicyNames"]
iam.delete_role_policy(RoleName="b-role", PolicyName="p")
arn = iam.create_policy(PolicyName="b-policy", PolicyDocument=allow("ecs:*"), Tags=[{"Key": "k", "Value": "v"}])["Policy"]["Arn"]
iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("ecs:RunTask"), SetAsDefault=True)
out["version"] = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"]["Statement"][0]["Action"]
out["versions"] = [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]]
iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
out["policy"] = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "k2", "Value": "v2"}])
iam.untag_policy(PolicyArn=arn, TagKeys=["k"])
out["policy_tags"] = iam.list_policy_tags(PolicyArn=arn)["Tags"]
iam.attach_role_policy(RoleName="b-role", PolicyArn=arn)
out["attached"] = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="b-role")["AttachedPolicies"]]
iam.detach_role_policy(RoleName="b-role", PolicyArn=arn)
iam.tag_role(RoleName="b-role", Tags=[{"Key": "t", "Value": "1"}])
iam.untag_role(RoleName="b-role", TagKeys=["t"])
out["role_tags"] = iam.list_role_tags(RoleName="b-role")["Tags"]
out["roles"] = [r["RoleName"] for r in iam.get_paginator("list_roles").paginate(PathPrefix="/b/", PaginationConfig={"PageSize": 1}).build_full_result()["Roles"]]
iam.create_user(UserName="b-user")
iam.update_user(UserName="b-user", NewPath="/x/")
iam.put_user_policy(UserName="b-user", PolicyName="u", PolicyDocument=allow("logs:*"))
out["user_policy"] = iam.get_user_policy(UserName="b-user", PolicyName="u")["PolicyDocument"]["Statement"][0]["Action"]
out["user_policies"] = iam.list_user_policies(UserName="b-user")["PolicyNames"]
iam.delete_user_policy(UserName="b-user", PolicyName="u")
iam.attach_user_policy(UserName="b-user", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess")
out["user_attached"] = [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="b-user")["AttachedPolicies"]]
iam.detach_user_policy(UserName="b-user", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess")
iam.tag_user(UserName="b-user", Tags=[{"Key": "a", "Value": "b"}])
iam.untag_user(UserName="b-user", TagKeys=["a"])
out["user_tags"] = iam.list_user_tags(UserName="b-user")["Tags"]
key = iam.create_access_key(UserName="b-user")["AccessKey"]
iam.create_access_key(UserName="b-user")
try:
    iam.create_access_key(UserName="b-user")
except iam.exceptions.LimitExceededException as e:
    out["key_limit"] = e.response["Error"]["Message"]
iam.update_access_key(UserName="b-user", AccessKeyId=key["AccessKeyId"], Status="Inactive")
out["keys"] = sorted(k["Status"] for k in iam.list_access_keys(UserName="b-user")["AccessKeyMetadata"])
for k in iam.list_access_keys(UserName="b-user")["AccessKeyMetadata"]:
    iam.delete_access_key(UserName="b-user", AccessKeyId=k["AccessKeyId"])
out["users"] = [u["Arn"] for u in iam.list_users(PathPrefix="/x/")["Users"]]
out["user"] = iam.get_user(UserName="b-user")["User"]["Path"]
iam.delete_user(UserName="b-user")
iam.delete_policy(PolicyArn=arn)
iam.delete_role(RoleName="b-role")
out["aws"] = sorted(p["PolicyName"] for p in iam.get_paginator("list_policies").paginate(Scope="AWS", PaginationConfig={"PageSize": 2}).build_full_result()["Policies"])
try:
    iam.get_role(RoleName="b-role")
except iam.exceptions.NoSuchEntityException as e:
    out["gone"] = e.response["Error"]["Message"]
try:
    iam.put_role_policy(RoleName="nobody", PolicyName="p", PolicyDocument="{")
except iam.exceptions.MalformedPolicyDocumentException as e:
    out["malformed"] = e.response["Error"]["Code"]
print(json.dumps(out))
`,
  );
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout) as Record<string, unknown>;
  assert.deepEqual(out, {
    role_policy: "s3:*",
    role_policies: ["p"],
    version: "ecs:RunTask",
    versions: ["v1", "v2"],
    policy: "v1",
    policy_tags: [{ Key: "k2", Value: "v2" }],
    attached: ["b-policy"],
    role_tags: [],
    roles: ["b-role"],
    user_policy: "logs:*",
    user_policies: ["u"],
    user_attached: ["arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"],
    user_tags: [],
    key_limit: "Cannot exceed quota for AccessKeysPerUser: 2",
    keys: ["Active", "Inactive"],
    users: [`arn:aws:iam::${account}:user/x/b-user`],
    user: "/x/",
    aws: ["AdministratorAccess", "AmazonECSTaskExecutionRolePolicy", "AmazonSSMReadOnlyAccess", "CloudWatchLogsFullAccess", "SecretsManagerReadWrite"],
    gone: "The role with name b-role cannot be found.",
    malformed: "MalformedPolicyDocument",
  });
});
