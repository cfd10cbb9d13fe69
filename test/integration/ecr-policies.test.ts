// ECR repository and registry policies on one real `berth server`: stored and validated through
// @aws-sdk/client-ecr and the AWS CLI, and enforced for the ECR API and /v2/ as AWS decides within
// one account: an explicit Deny in the repository policy or the identity policies denies, otherwise
// an Allow in either allows (a user with no identity policy for the repository pulls because the
// repository policy names it). Hostile policies (other accounts, malformed principals, oversized)
// are tried too. Users, keys and policies are made with the IAM SDK; pulls with skopeo.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteRegistryPolicyCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DescribeImagesCommand,
  DescribeRegistryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  GetRegistryPolicyCommand,
  GetRepositoryPolicyCommand,
  PutRegistryPolicyCommand,
  SetRepositoryPolicyCommand,
} from "@aws-sdk/client-ecr";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { buildImage, gzipLayer, loginPassword, pushImage, registryHost } from "./registry-fixtures.js";

type Credentials = { accessKeyId: string; secretAccessKey: string };

let server: TestServer;
let ecr: ECRClient;
let iam: IAMClient;
let account: string;
const image = buildImage([gzipLayer({ "etc/policy.txt": "policy\n" })]);
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

before(async () => {
  server = await startTestServer();
  account = server.accountId;
  ecr = new ECRClient(sdkConfig(server));
  iam = new IAMClient(sdkConfig(server));
  for (const name of ["shared", "private", "locked", "policies"]) await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  const root = await loginPassword(server);
  for (const name of ["shared", "private", "locked"]) assert.equal((await pushImage(server, root, name, "v1", image)).status, 201);
});

after(async () => {
  ecr.destroy();
  iam.destroy();
  await server.stop();
  await server.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const userArn = (name: string) => `arn:aws:iam::${account}:user/${name}`;
const repositoryArn = (name: string) => `arn:aws:ecr:${server.region}:${account}:repository/${name}`;
const PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"];
const loginOnly = policy({ Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" });

async function userWithKey(name: string, document: string): Promise<Credentials> {
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "registry", PolicyDocument: document }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
}

const clientAs = (credentials: Credentials) => new ECRClient({ ...sdkConfig(server), credentials });

async function rejects(promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.equal((error as Error).name, name, (error as Error).message);
    if (message) assert.match((error as Error).message, message);
    return;
  }
  assert.fail(`expected ${name}`);
}

const run = (command: string, args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

/** skopeo pulls `reference` logged in with a GetAuthorizationToken password of `credentials`. */
async function pullAs(credentials: Credentials, reference: string) {
  const client = clientAs(credentials);
  const data = (await client.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!;
  client.destroy();
  const password = Buffer.from(data.authorizationToken!, "base64").toString("utf8").slice(4);
  const authFile = join(tempDir("berth-auth-"), "auth.json");
  const login = await run("skopeo", ["login", "--authfile", authFile, "--tls-verify=false", "-u", "AWS", "--password-stdin", registryHost(server)], password);
  assert.equal(login.code, 0, login.stderr);
  return run("skopeo", [
    "copy",
    "--authfile",
    authFile,
    "--src-tls-verify=false",
    `docker://${registryHost(server)}/${reference}`,
    `oci:${tempDir("berth-pull-")}:x`,
  ]);
}

test("set-repository-policy, get-repository-policy and delete-repository-policy with the AWS CLI; RepositoryPolicyNotFoundException once deleted", async () => {
  await iam.send(new CreateUserCommand({ UserName: "puller" }));
  const text = policy({ Sid: "pull", Effect: "Allow", Principal: { AWS: userArn("puller") }, Action: PULL });
  const set = await awsCli(server, ["ecr", "set-repository-policy", "--repository-name", "policies", "--policy-text", text]);
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual(JSON.parse(set.stdout), { registryId: account, repositoryName: "policies", policyText: text });
  const got = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: "policies" }));
  assert.equal(got.policyText, text);
  const deleted = await awsCli(server, ["ecr", "delete-repository-policy", "--repository-name", "policies"]);
  assert.equal(deleted.code, 0, deleted.stderr);
  await rejects(
    ecr.send(new GetRepositoryPolicyCommand({ repositoryName: "policies" })),
    "RepositoryPolicyNotFoundException",
    /Repository policy does not exist/,
  );
  await rejects(ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: "policies" })), "RepositoryPolicyNotFoundException");
  await rejects(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: "absent" })), "RepositoryNotFoundException");

  // A repository deleted and made again under the same name starts without the old policy.
  await ecr.send(new CreateRepositoryCommand({ repositoryName: "reborn" }));
  await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: "reborn", policyText: text }));
  await ecr.send(new DeleteRepositoryCommand({ repositoryName: "reborn" }));
  await ecr.send(new CreateRepositoryCommand({ repositoryName: "reborn" }));
  await rejects(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: "reborn" })), "RepositoryPolicyNotFoundException");
});

test("hostile repository policies are refused: too long, not JSON, no Principal, malformed principals, unknown elements", async () => {
  const allow = (principal: unknown) => policy({ Effect: "Allow", Principal: principal, Action: "ecr:BatchGetImage" });
  const padded = JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "x".repeat(10_300), Effect: "Allow", Principal: "*", Action: "ecr:*" }] });
  for (const policyText of [
    padded,
    "{",
    "[]",
    policy({ Effect: "Allow", Action: "ecr:BatchGetImage" }),
    allow({ AWS: "not-an-arn" }),
    allow({ AWS: "arn:aws:iam::12345:root" }),
    allow({ Service: "*" }),
    allow({ Nonsense: "x" }),
    allow({}),
    allow({ AWS: [] }),
    allow({ AWS: { nested: "x" } }),
    policy({ Effect: "Maybe", Principal: "*", Action: "ecr:BatchGetImage" }),
    policy({ Effect: "Allow", Principal: "*", Action: "ecr:BatchGetImage", Surprise: 1 }),
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: "*", Action: "ecr:BatchGetImage", Condition: { StringLikeNope: { "aws:username": "x" } } }],
    }),
    // ECR refuses a Resource element in a repository policy (the policy applies to its repository).
    policy({ Effect: "Allow", Principal: "*", Action: "ecr:BatchGetImage", Resource: "*" }),
  ]) {
    await rejects(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: "policies", policyText })), "InvalidParameterException", /PolicyText|policyText/);
  }
  // In ECR's words: an oversized policy, one that is not a valid resource policy, one naming a user of this account that does not exist.
  await rejects(
    ecr.send(new SetRepositoryPolicyCommand({ repositoryName: "policies", policyText: padded })),
    "InvalidParameterException",
    /less than or equal to 10240/,
  );
  await rejects(
    ecr.send(new SetRepositoryPolicyCommand({ repositoryName: "policies", policyText: "{" })),
    "InvalidParameterException",
    /^Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'$/,
  );
  await rejects(
    ecr.send(new SetRepositoryPolicyCommand({ repositoryName: "policies", policyText: allow({ AWS: userArn("ghost") }) })),
    "InvalidParameterException",
    /^Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'$/,
  );
  // Another account's principals cannot be looked up: accepted, as ECR accepts them (they grant this account nothing).
  await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: "policies", policyText: allow({ AWS: "arn:aws:iam::999999999999:user/elsewhere" }) }));
  await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: "policies" }));
  await rejects(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: "policies" })), "RepositoryPolicyNotFoundException");
});

test("a user with no identity policy for the repository pulls it (skopeo and BatchGetImage) because the repository policy allows it; other repositories stay closed", async () => {
  const keys = await userWithKey("guest", loginOnly);
  await ecr.send(
    new SetRepositoryPolicyCommand({
      repositoryName: "shared",
      policyText: policy({ Sid: "guest", Effect: "Allow", Principal: { AWS: userArn("guest") }, Action: PULL }),
    }),
  );
  const pulled = await pullAs(keys, "shared:v1");
  assert.equal(pulled.code, 0, pulled.stderr);
  const client = clientAs(keys);
  try {
    const got = await client.send(new BatchGetImageCommand({ repositoryName: "shared", imageIds: [{ imageTag: "v1" }] }));
    assert.equal(got.images![0]!.imageId!.imageDigest, image.manifest.digest);
    await rejects(
      client.send(new DescribeImagesCommand({ repositoryName: "private" })),
      "AccessDeniedException",
      new RegExp(`not authorized to perform: ecr:DescribeImages on resource: ${repositoryArn("private")} because no identity-based policy allows`),
    );
    // The policy grants pulls only: not a push, and not the policy itself.
    await rejects(
      client.send(new SetRepositoryPolicyCommand({ repositoryName: "shared", policyText: policy({ Effect: "Allow", Principal: "*", Action: "ecr:*" }) })),
      "AccessDeniedException",
    );
  } finally {
    client.destroy();
  }
  const refused = await pullAs(keys, "private:v1");
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /denied|not authorized/i);

  // A download URL acts for the user when it is used: once the policy stops granting the layer, it stops working.
  const guest = clientAs(keys);
  const layerDigest = image.layers[0]!.digest;
  const { downloadUrl } = await guest.send(new GetDownloadUrlForLayerCommand({ repositoryName: "shared", layerDigest }));
  guest.destroy();
  assert.equal((await fetch(downloadUrl!)).status, 200);
  await ecr.send(
    new SetRepositoryPolicyCommand({
      repositoryName: "shared",
      policyText: policy({ Sid: "guest", Effect: "Allow", Principal: { AWS: userArn("guest") }, Action: ["ecr:BatchGetImage"] }),
    }),
  );
  const revoked = await fetch(downloadUrl!);
  assert.equal(revoked.status, 403);
  assert.match(await revoked.text(), /not authorized to perform: ecr:GetDownloadUrlForLayer/);
});

test("an explicit Deny in the repository policy wins over the identity policy's Allow, for the ECR API and for /v2/", async () => {
  const keys = await userWithKey("admin", policy({ Effect: "Allow", Action: "ecr:*", Resource: "*" }));
  assert.equal((await pullAs(keys, "locked:v1")).code, 0, "allowed by the identity policy before the repository denies");
  await ecr.send(
    new SetRepositoryPolicyCommand({
      repositoryName: "locked",
      policyText: policy({ Sid: "nopull", Effect: "Deny", Principal: { AWS: userArn("admin") }, Action: ["ecr:BatchGetImage", "ecr:DescribeImages"] }),
    }),
  );
  const client = clientAs(keys);
  try {
    await rejects(
      client.send(new DescribeImagesCommand({ repositoryName: "locked" })),
      "AccessDeniedException",
      new RegExp(
        `User: ${userArn("admin")} is not authorized to perform: ecr:DescribeImages on resource: ${repositoryArn("locked")} with an explicit deny in a resource-based policy`,
      ),
    );
    // Other repositories, and other actions on this one, are still the identity policy's to allow.
    assert.equal((await client.send(new DescribeImagesCommand({ repositoryName: "shared" }))).imageDetails!.length, 1);
  } finally {
    client.destroy();
  }
  const refused = await pullAs(keys, "locked:v1");
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /explicit deny in a resource-based policy|denied/i);
});

test("a policy naming another account, or only this account, grants nothing to a user without identity permissions", async () => {
  const keys = await userWithKey("outsider", loginOnly);
  const client = clientAs(keys);
  try {
    for (const principal of [{ AWS: "999999999999" }, { AWS: "arn:aws:iam::999999999999:root" }, { AWS: `arn:aws:iam::${account}:root` }, { AWS: account }]) {
      await ecr.send(
        new SetRepositoryPolicyCommand({ repositoryName: "private", policyText: policy({ Effect: "Allow", Principal: principal, Action: "ecr:*" }) }),
      );
      await rejects(client.send(new DescribeImagesCommand({ repositoryName: "private" })), "AccessDeniedException", /because no identity-based policy allows/);
    }
    // A Condition is evaluated: the grant holds only from the address it names.
    await ecr.send(
      new SetRepositoryPolicyCommand({
        repositoryName: "private",
        policyText: policy({
          Effect: "Allow",
          Principal: { AWS: userArn("outsider") },
          Action: "ecr:DescribeImages",
          Condition: { IpAddress: { "aws:SourceIp": "192.0.2.0/24" } },
        }),
      }),
    );
    await rejects(client.send(new DescribeImagesCommand({ repositoryName: "private" })), "AccessDeniedException");
    await ecr.send(
      new SetRepositoryPolicyCommand({
        repositoryName: "private",
        policyText: policy({
          Effect: "Allow",
          Principal: { AWS: userArn("outsider") },
          Action: "ecr:DescribeImages",
          Condition: { IpAddress: { "aws:SourceIp": "127.0.0.0/8" } },
        }),
      }),
    );
    assert.equal((await client.send(new DescribeImagesCommand({ repositoryName: "private" }))).imageDetails!.length, 1);
  } finally {
    client.destroy();
    await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: "private" }));
  }
});

test("a policy that would lock its setter out needs force", async () => {
  const keys = await userWithKey("setter", policy({ Effect: "Allow", Action: "ecr:*", Resource: "*" }));
  const client = clientAs(keys);
  const lockout = policy({ Effect: "Deny", Principal: { AWS: userArn("setter") }, Action: "ecr:SetRepositoryPolicy" });
  try {
    await rejects(client.send(new SetRepositoryPolicyCommand({ repositoryName: "policies", policyText: lockout })), "InvalidParameterException", /force/);
    await client.send(new SetRepositoryPolicyCommand({ repositoryName: "policies", policyText: lockout, force: true }));
    await rejects(
      client.send(new SetRepositoryPolicyCommand({ repositoryName: "policies", policyText: lockout, force: true })),
      "AccessDeniedException",
      /explicit deny/,
    );
  } finally {
    client.destroy();
    await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: "policies" }));
  }
});

test("registry policy: put, get and delete; RegistryPolicyNotFoundException; DescribeRegistry names the registry with no replication", async () => {
  await rejects(ecr.send(new GetRegistryPolicyCommand({})), "RegistryPolicyNotFoundException");
  const text = policy({
    Sid: "replicate",
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${account}:root` },
    Action: ["ecr:CreateRepository", "ecr:ReplicateImage"],
    Resource: repositoryArn("*"),
  });
  const put = await ecr.send(new PutRegistryPolicyCommand({ policyText: text }));
  assert.deepEqual([put.registryId, put.policyText], [account, text]);
  assert.equal((await ecr.send(new GetRegistryPolicyCommand({}))).policyText, text);
  await rejects(ecr.send(new PutRegistryPolicyCommand({ policyText: "x".repeat(10_241) })), "InvalidParameterException");
  await rejects(
    ecr.send(new PutRegistryPolicyCommand({ policyText: policy({ Effect: "Allow", Principal: { AWS: "bogus" }, Action: "ecr:*" }) })),
    "InvalidParameterException",
  );
  const deleted = await ecr.send(new DeleteRegistryPolicyCommand({}));
  assert.equal(deleted.policyText, text);
  await rejects(ecr.send(new DeleteRegistryPolicyCommand({})), "RegistryPolicyNotFoundException");
  const described = await ecr.send(new DescribeRegistryCommand({}));
  assert.equal(described.registryId, account);
  assert.deepEqual(described.replicationConfiguration, { rules: [] });
});
