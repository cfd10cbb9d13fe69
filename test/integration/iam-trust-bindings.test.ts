// A role's trust policy trusts the user or role it names, not whoever later holds that name (IAM
// User Guide, "Example policies": AWS binds the principal to its unique id when the policy is
// saved), on one real `berth server` through the SDK v3: a user deleted shows as its unique id in
// GetRole and a user who renames herself to the deleted one's name is refused AssumeRole; a user
// renamed and moved keeps the trust (GetRole shows the new ARN) and a new user under the old name
// does not get it; a caller-written unique id must name a live user or role.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  GetRoleCommand,
  IAMClient,
  PutUserPolicyCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateUserCommand,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import { rejectsWithAwsError } from "../support/aws-error.js";
import { waitFor } from "../support/wait-for.js";

type Credentials = { accessKeyId: string; secretAccessKey: string };

let server: TestServer;
let iam: IAMClient;
let account: string;
before(async () => {
  server = await startTestServer();
  account = server.accountId;
  iam = new IAMClient(sdkConfig(server));
});
after(async () => {
  iam.destroy();
  await server.stop();
  await server.cleanup();
});

const as = (credentials: Credentials) => ({ ...sdkConfig(server), credentials });
const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const trusting = (...principals: string[]) =>
  policy({ Effect: "Allow", Principal: { AWS: principals.length === 1 ? principals[0] : principals }, Action: "sts:AssumeRole" });
const userArn = (name: string, path = "/") => `arn:aws:iam::${account}:user${path}${name}`;

async function userWithKey(name: string): Promise<{ userId: string; keys: Credentials }> {
  const user = (await iam.send(new CreateUserCommand({ UserName: name }))).User!;
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { userId: user.UserId!, keys: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } };
}

async function trustPolicyOf(roleName: string): Promise<unknown> {
  const role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!;
  return JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument!));
}

/** Waits until the key authenticates as `arn` (the gateway may hold a key's identity for a moment). */
async function untilCallerIs(keys: Credentials, arn: string): Promise<void> {
  const sts = new STSClient(as(keys));
  await waitFor(async () => (await sts.send(new GetCallerIdentityCommand({}))).Arn === arn, { what: `the key to act as ${arn}`, timeoutMs: 10_000 });
  sts.destroy();
}

test("a deleted user's name taken by another user (renamed or new) does not inherit the role's trust; GetRole shows the unique id", async () => {
  const alice = await userWithKey("alice");
  const role = (await iam.send(new CreateRoleCommand({ RoleName: "alice-admin", AssumeRolePolicyDocument: trusting(userArn("alice")) }))).Role!;
  const assumed = await new STSClient(as(alice.keys)).send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: "before" }));
  assert.ok(assumed.Credentials?.AccessKeyId, "alice herself is trusted");

  await iam.send(new DeleteAccessKeyCommand({ UserName: "alice", AccessKeyId: alice.keys.accessKeyId }));
  await iam.send(new DeleteUserCommand({ UserName: "alice" }));
  assert.deepEqual(await trustPolicyOf("alice-admin"), JSON.parse(trusting(alice.userId)));
  assert.match(alice.userId, /^AIDA[A-Z0-9]{17}$/);

  // Mallory may only rename herself (AWS authorizes iam:UpdateUser on the old and the new name); she takes the name alice.
  const mallory = await userWithKey("mallory");
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "mallory",
      PolicyName: "self",
      PolicyDocument: policy({ Effect: "Allow", Action: "iam:UpdateUser", Resource: [userArn("mallory"), userArn("alice")] }),
    }),
  );
  const asMallory = new IAMClient(as(mallory.keys));
  await waitFor(
    async () => {
      try {
        await asMallory.send(new UpdateUserCommand({ UserName: "mallory", NewUserName: "alice" }));
        return true;
      } catch (error) {
        if ((error as Error).name !== "AccessDenied") throw error;
        return false;
      }
    },
    { what: "mallory's policy to take effect", timeoutMs: 10_000 },
  );
  asMallory.destroy();
  await untilCallerIs(mallory.keys, userArn("alice"));
  await rejectsWithAwsError(
    new STSClient(as(mallory.keys)).send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: "stolen" })),
    "AccessDenied",
    `User: ${userArn("alice")} is not authorized to perform: sts:AssumeRole on resource: ${role.Arn}`,
  );
  // The renamed user's old ARN was in no trust policy; the deleted user's id stays.
  assert.deepEqual(await trustPolicyOf("alice-admin"), JSON.parse(trusting(alice.userId)));

  // Saving the policy again as GetRole shows it is refused: the id names no user any more.
  await rejectsWithAwsError(
    iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "alice-admin", PolicyDocument: trusting(alice.userId) })),
    "MalformedPolicyDocumentException",
    `Invalid principal in policy: "AWS":"${alice.userId}"`,
  );
  // Naming the ARN again trusts the user who holds it now (the new alice, Mallory), as in AWS.
  await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "alice-admin", PolicyDocument: trusting(userArn("alice")) }));
  await new STSClient(as(mallory.keys)).send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: "granted" }));
});

test("a renamed and moved user keeps the role's trust (GetRole shows the new ARN); a new user under the old name does not get it", async () => {
  const bob = await userWithKey("bob");
  const role = (await iam.send(new CreateRoleCommand({ RoleName: "bob-ops", AssumeRolePolicyDocument: trusting(account, userArn("bob")) }))).Role!;
  await iam.send(new UpdateUserCommand({ UserName: "bob", NewUserName: "robert", NewPath: "/team/" }));
  assert.deepEqual(await trustPolicyOf("bob-ops"), JSON.parse(trusting(account, userArn("robert", "/team/"))));
  await untilCallerIs(bob.keys, userArn("robert", "/team/"));
  const assumed = await new STSClient(as(bob.keys)).send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: "renamed" }));
  assert.equal(assumed.AssumedRoleUser?.Arn, `arn:aws:sts::${account}:assumed-role/bob-ops/renamed`);

  // The account principal lets the account's users in only if their own policies allow: a new bob has none.
  const newBob = await userWithKey("bob");
  await rejectsWithAwsError(
    new STSClient(as(newBob.keys)).send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: "impostor" })),
    "AccessDenied",
    `User: ${userArn("bob")} is not authorized to perform: sts:AssumeRole on resource: ${role.Arn}`,
  );
});

test("a caller-written unique id must name a live user or role and is saved as its ARN; malformed ids are refused", async () => {
  const carol = await userWithKey("carol");
  await iam.send(new CreateRoleCommand({ RoleName: "carol-ops", AssumeRolePolicyDocument: trusting(carol.userId) }));
  assert.deepEqual(await trustPolicyOf("carol-ops"), JSON.parse(trusting(userArn("carol"))));
  const role = (await iam.send(new GetRoleCommand({ RoleName: "carol-ops" }))).Role!;
  await new STSClient(as(carol.keys)).send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: "by-id" }));
  // The role's own id, given to another role's trust, is saved as that role's ARN.
  await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "carol-ops", PolicyDocument: trusting(role.RoleId!, carol.userId) }));
  assert.deepEqual(await trustPolicyOf("carol-ops"), JSON.parse(trusting(role.Arn!, userArn("carol"))));
  for (const id of ["AIDAZZZZZZZZZZZZZZZZZ", "AROAZZZZZZZZZZZZZZZZZ", "AIDA123", "AKIAZZZZZZZZZZZZZZZZZ", `${carol.userId}*`, carol.userId.toLowerCase()]) {
    await rejectsWithAwsError(
      iam.send(new CreateRoleCommand({ RoleName: "by-bad-id", AssumeRolePolicyDocument: trusting(id) })),
      "MalformedPolicyDocumentException",
      `Invalid principal in policy: "AWS":"${id}"`,
    );
  }
  await rejectsWithAwsError(iam.send(new GetRoleCommand({ RoleName: "by-bad-id" })), "NoSuchEntityException");
});
