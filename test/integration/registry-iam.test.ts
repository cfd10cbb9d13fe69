// IAM policies on the built-in registry's /v2/ API, on one real `berth server`: a token from
// GetAuthorizationToken called by an IAM user or role session speaks for it, and each registry
// request needs the ECR action it stands for on the repository (pull: BatchGetImage,
// GetDownloadUrlForLayer; push: InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload,
// BatchCheckLayerAvailability, PutImage). Users, keys and policies are made with the IAM SDK;
// pulls and pushes with skopeo and raw HTTP; the root's tokens are what they always were.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { SecretBox } from "../../src/cli/store-key.js";
import { Authorizer } from "../../src/control/authorizer.js";
import { RoleSessions } from "../../src/control/role-sessions.js";
import { openStore } from "../../src/store/index.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer, testServerStore } from "../support/server.js";
import { waitFor } from "../support/wait-for.js";
import { basicAuth, buildImage, gzipLayer, loginPassword, OCI_MANIFEST, pushImage, registryFetch, registryHost, writeOciLayout } from "./registry-fixtures.js";
import type { BuiltImage } from "./registry-fixtures.js";

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

let server: TestServer;
let iam: IAMClient;
let account: string;
let rootPassword: string;
const image = buildImage([gzipLayer({ "etc/app.txt": "app\n" })]);
const otherImage = buildImage([gzipLayer({ "etc/other.txt": "other secret layer\n" })]);
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

before(async () => {
  server = await startTestServer();
  account = server.accountId;
  iam = new IAMClient(sdkConfig(server));
  const ecr = new ECRClient(sdkConfig(server));
  for (const name of ["app", "other"]) await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  ecr.destroy();
  rootPassword = await loginPassword(server);
  assert.equal((await pushImage(server, rootPassword, "app", "v1", image)).status, 201);
  assert.equal((await pushImage(server, rootPassword, "other", "v1", otherImage)).status, 201);
});

after(async () => {
  iam.destroy();
  await server.stop();
  await server.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const as = (credentials: Credentials) => ({ ...sdkConfig(server), credentials });
const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const repositoryArn = (name: string) => `arn:aws:ecr:${server.region}:${account}:repository/${name}`;
const PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"];
// AWS's "IAM permissions for pushing an image to an Amazon ECR private repository".
const PUSH = ["ecr:CompleteLayerUpload", "ecr:UploadLayerPart", "ecr:InitiateLayerUpload", "ecr:BatchCheckLayerAvailability", "ecr:PutImage"];
const loginStatement = { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" };

async function userWithKey(name: string, document: string): Promise<Credentials> {
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "registry", PolicyDocument: document }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
}

/** GetAuthorizationToken as `credentials`: the password of user AWS and when it expires. */
async function registryLogin(credentials: Credentials): Promise<{ password: string; expiresAt: number }> {
  const ecr = new ECRClient(as(credentials));
  try {
    const data = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!;
    const decoded = Buffer.from(data.authorizationToken!, "base64").toString("utf8");
    assert.ok(decoded.startsWith("AWS:"));
    return { password: decoded.slice(4), expiresAt: data.expiresAt!.getTime() };
  } finally {
    ecr.destroy();
  }
}

const run = (command: string, args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

/** An auth file skopeo logged in to the server with `password`. */
async function skopeoLogin(password: string): Promise<string> {
  const authFile = join(tempDir("berth-auth-"), "auth.json");
  const login = await run("skopeo", ["login", "--authfile", authFile, "--tls-verify=false", "-u", "AWS", "--password-stdin", registryHost(server)], password);
  assert.equal(login.code, 0, login.stderr);
  return authFile;
}

const skopeoPull = (authFile: string, reference: string) =>
  run("skopeo", ["copy", "--authfile", authFile, "--src-tls-verify=false", `docker://${registryHost(server)}/${reference}`, `oci:${tempDir("berth-pull-")}:x`]);

function skopeoPush(authFile: string, built: BuiltImage, reference: string) {
  const source = tempDir("berth-src-");
  writeOciLayout(source, "x", [built]);
  return run("skopeo", ["copy", "--authfile", authFile, "--dest-tls-verify=false", `oci:${source}:x`, `docker://${registryHost(server)}/${reference}`]);
}

async function deniedError(response: Response): Promise<{ code: string; message: string }> {
  assert.equal(response.status, 403);
  const body = (await response.json()) as { errors: { code: string; message: string }[] };
  assert.equal(body.errors[0]!.code, "DENIED");
  return body.errors[0]!;
}

const notAllowed = (principal: string, action: string, repository: string) =>
  `User: ${principal} is not authorized to perform: ${action} on resource: ${repositoryArn(repository)} because no identity-based policy allows the ${action} action`;

test("a user allowed to pull 'app' only: pulls it; pushing to it, pulling 'other', listing and a missing repository are DENIED", async () => {
  const user = `arn:aws:iam::${account}:user/puller`;
  const keys = await userWithKey("puller", policy(loginStatement, { Effect: "Allow", Action: PULL, Resource: repositoryArn("app") }));
  const { password, expiresAt } = await registryLogin(keys);
  assert.match(password, /^v2\./);
  assert.ok(Math.abs(expiresAt - (Date.now() + 12 * 3_600_000)) < 60_000, "a long-term key's token lives ECR's 12 hours");
  const authFile = await skopeoLogin(password);

  const pulled = await skopeoPull(authFile, "app:v1");
  assert.equal(pulled.code, 0, pulled.stderr);
  const pushed = await skopeoPush(authFile, buildImage([gzipLayer({ "new.txt": "new\n" })]), "app:v2");
  assert.notEqual(pushed.code, 0);
  assert.match(pushed.stderr, /denied/i);
  const other = await skopeoPull(authFile, "other:v1");
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /denied/i);

  // What each refusal says, with raw HTTP: IAM's message for the action the request needed.
  const upload = await registryFetch(server, password, "/v2/app/blobs/uploads/", { method: "POST" });
  assert.equal((await deniedError(upload)).message, notAllowed(user, "ecr:InitiateLayerUpload", "app"));
  const manifest = await registryFetch(server, password, `/v2/other/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
  assert.equal((await deniedError(manifest)).message, notAllowed(user, "ecr:BatchGetImage", "other"));
  const layer = await registryFetch(server, password, `/v2/other/blobs/${otherImage.layers[0]!.digest}`);
  assert.equal((await deniedError(layer)).message, notAllowed(user, "ecr:GetDownloadUrlForLayer", "other"));
  const put = await registryFetch(server, password, "/v2/app/manifests/v1", {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: image.manifest.bytes,
  });
  assert.equal((await deniedError(put)).message, notAllowed(user, "ecr:PutImage", "app"));
  const remove = await registryFetch(server, password, `/v2/app/manifests/${image.manifest.digest}`, { method: "DELETE" });
  assert.equal((await deniedError(remove)).message, notAllowed(user, "ecr:BatchDeleteImage", "app"));
  assert.equal((await deniedError(await registryFetch(server, password, "/v2/app/tags/list"))).message, notAllowed(user, "ecr:ListImages", "app"));
  const catalog = await deniedError(await registryFetch(server, password, "/v2/_catalog"));
  assert.match(catalog.message, /ecr:DescribeRepositories on resource: \*/);
  // A repository that does not exist is refused the same way: the refusal tells nothing of which exist.
  assert.equal((await deniedError(await registryFetch(server, password, "/v2/ghost/manifests/v1"))).message, notAllowed(user, "ecr:BatchGetImage", "ghost"));
  // Allowed reads answer as for the root; the base endpoint needs no permission.
  assert.equal((await registryFetch(server, password, "/v2/")).status, 200);
  assert.equal((await registryFetch(server, password, `/v2/app/blobs/${image.layers[0]!.digest}`, { method: "HEAD" })).status, 200);

  // The bearer token /v2/token exchanges the password for speaks for the same user.
  const exchanged = await fetch(`${server.endpoint}/v2/token?scope=repository:app:pull,push`, { headers: { authorization: basicAuth(password) } });
  const bearer = ((await exchanged.json()) as { token: string }).token;
  assert.match(bearer, /^v2\./);
  const viaBearer = (path: string, init: RequestInit = {}) => fetch(`${server.endpoint}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}` } });
  assert.equal((await viaBearer("/v2/app/manifests/v1")).status, 200);
  assert.equal((await deniedError(await viaBearer("/v2/app/blobs/uploads/", { method: "POST" }))).message, notAllowed(user, "ecr:InitiateLayerUpload", "app"));
  assert.equal((await deniedError(await viaBearer("/v2/other/manifests/v1"))).message, notAllowed(user, "ecr:BatchGetImage", "other"));

  // A policy change reaches tokens already issued within seconds.
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "puller",
      PolicyName: "registry",
      PolicyDocument: policy(loginStatement, { Effect: "Allow", Action: PULL, Resource: [repositoryArn("app"), repositoryArn("other")] }),
    }),
  );
  await waitFor(async () => (await registryFetch(server, password, "/v2/other/manifests/v1", { headers: { accept: OCI_MANIFEST } })).status === 200, {
    what: "the new policy to apply",
    timeoutMs: 5_000,
  });
});

test("a user allowed to push 'app' pushes with skopeo; it may not pull, nor mount a layer of a repository it cannot read", async () => {
  const user = `arn:aws:iam::${account}:user/pusher`;
  const keys = await userWithKey("pusher", policy(loginStatement, { Effect: "Allow", Action: PUSH, Resource: repositoryArn("app") }));
  const { password } = await registryLogin(keys);
  const authFile = await skopeoLogin(password);
  const built = buildImage([gzipLayer({ "pushed.txt": "pushed by a user\n" })]);
  const pushed = await skopeoPush(authFile, built, "app:pushed");
  assert.equal(pushed.code, 0, pushed.stderr);
  const stored = await registryFetch(server, rootPassword, "/v2/app/manifests/pushed", { method: "HEAD" });
  assert.equal(stored.headers.get("docker-content-digest"), built.manifest.digest);
  // Raw HTTP too: a chunked upload (POST, PATCH, PUT) and the manifest.
  assert.equal((await pushImage(server, password, "app", "raw", image)).status, 201);
  // Pushing is not pulling.
  assert.equal((await deniedError(await registryFetch(server, password, "/v2/app/manifests/pushed"))).message, notAllowed(user, "ecr:BatchGetImage", "app"));
  // A cross-repository mount from a repository it may not read is not made: an upload session starts instead.
  const layer = otherImage.layers[0]!.digest;
  const mount = await registryFetch(server, password, `/v2/app/blobs/uploads/?mount=${layer}&from=other`, { method: "POST" });
  assert.equal(mount.status, 202);
  assert.equal((await registryFetch(server, rootPassword, `/v2/app/blobs/${layer}`, { method: "HEAD" })).status, 404);
  // Nor may it push anywhere else.
  const elsewhere = await registryFetch(server, password, `/v2/other/blobs/uploads/?digest=${built.config.digest}`, {
    method: "POST",
    body: built.config.bytes,
  });
  assert.equal((await deniedError(elsewhere)).message, notAllowed(user, "ecr:InitiateLayerUpload", "other"));
});

test("aws:SourceIp and explicit denies apply to registry requests", async () => {
  const keys = await userWithKey(
    "remote",
    policy(
      loginStatement,
      { Effect: "Allow", Action: PULL, Resource: "*", Condition: { IpAddress: { "aws:SourceIp": "127.0.0.0/8" } } },
      { Effect: "Deny", Action: "ecr:BatchGetImage", Resource: repositoryArn("other") },
    ),
  );
  const { password } = await registryLogin(keys);
  assert.equal((await registryFetch(server, password, "/v2/app/manifests/v1")).status, 200);
  const denied = await deniedError(await registryFetch(server, password, "/v2/other/manifests/v1"));
  assert.match(denied.message, /ecr:BatchGetImage on resource: .*repository\/other with an explicit deny in an identity-based policy/);
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "remote",
      PolicyName: "registry",
      PolicyDocument: policy(loginStatement, { Effect: "Allow", Action: PULL, Resource: "*", Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }),
    }),
  );
  await waitFor(async () => (await registryFetch(server, password, "/v2/app/manifests/v1")).status === 403, {
    what: "the SourceIp condition",
    timeoutMs: 5_000,
  });
});

test("a token from temporary credentials expires with them; a role session's token acts as the role", async () => {
  const keys = await userWithKey("temporary", policy(loginStatement, { Effect: "Allow", Action: PULL, Resource: repositoryArn("app") }));
  // Through STS: the token expires no later than the session.
  const issued = await new STSClient(as(keys)).send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
  const session = {
    accessKeyId: issued.Credentials!.AccessKeyId!,
    secretAccessKey: issued.Credentials!.SecretAccessKey!,
    sessionToken: issued.Credentials!.SessionToken!,
  };
  const fromSession = await registryLogin(session);
  assert.ok(fromSession.expiresAt <= issued.Credentials!.Expiration!.getTime(), "the token outlives the session");
  assert.equal((await registryFetch(server, fromSession.password, "/v2/app/manifests/v1")).status, 200);
  assert.equal((await registryFetch(server, fromSession.password, "/v2/other/manifests/v1")).status, 403);

  // Sessions that end within seconds: issued by the server's own RoleSessions over its store with
  // a clock set back, as if they had been asked for 15 minutes ago.
  const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" });
  await iam.send(new CreateRoleCommand({ RoleName: "puller-role", AssumeRolePolicyDocument: trust }));
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: "puller-role",
      PolicyName: "pull",
      PolicyDocument: policy(loginStatement, { Effect: "Allow", Action: PULL, Resource: repositoryArn("other") }),
    }),
  );
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "temporary",
      PolicyName: "assume",
      PolicyDocument: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: `arn:aws:iam::${account}:role/puller-role` }),
    }),
  );
  const { location, keyFile } = testServerStore(server.dataDir);
  const store = await openStore(location);
  const lifetimeMs = 8_000;
  const past = () => Date.now() - 900_000 + lifetimeMs;
  const sessions = new RoleSessions({
    sessions: store.roleSessions,
    iam: store.iam,
    authorizer: new Authorizer(store.iam, past),
    sealer: SecretBox.withKey(readFileSync(keyFile)),
    now: past,
  });
  const userArn = `arn:aws:iam::${account}:user/temporary`;
  const caller = { kind: "user" as const, arn: userArn, account, userName: "temporary" };
  const short = await sessions.getSessionToken(caller, 900);
  const role = await sessions.assumeRole(caller, { roleArn: `arn:aws:iam::${account}:role/puller-role`, roleSessionName: "short", durationSeconds: 900 });
  await store.close();
  const credentialsOf = (s: typeof short): Credentials => ({ accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken });
  const userToken = await registryLogin(credentialsOf(short));
  const roleToken = await registryLogin(credentialsOf(role));
  assert.ok(userToken.expiresAt <= short.expiration && roleToken.expiresAt <= role.expiration);
  assert.ok(roleToken.expiresAt - Date.now() < lifetimeMs);
  assert.equal((await registryFetch(server, userToken.password, "/v2/app/manifests/v1")).status, 200);
  // The role's policy, not the user's, decides for the role session's token.
  assert.equal((await registryFetch(server, roleToken.password, "/v2/other/manifests/v1")).status, 200);
  const sessionArn = `arn:aws:sts::${account}:assumed-role/puller-role/short`;
  assert.equal(
    (await deniedError(await registryFetch(server, roleToken.password, "/v2/app/manifests/v1"))).message,
    notAllowed(sessionArn, "ecr:BatchGetImage", "app"),
  );
  // A bearer token exchanged for it lives no longer.
  const exchanged = (await (await fetch(`${server.endpoint}/v2/token`, { headers: { authorization: basicAuth(roleToken.password) } })).json()) as {
    expires_in: number;
  };
  assert.ok(exchanged.expires_in <= lifetimeMs / 1000);

  await new Promise((resolve) => setTimeout(resolve, Math.max(userToken.expiresAt, roleToken.expiresAt) - Date.now() + 200));
  for (const token of [userToken, roleToken]) {
    const expired = await registryFetch(server, token.password, "/v2/app/manifests/v1");
    assert.equal(expired.status, 401);
    const body = (await expired.json()) as { errors: { code: string; message: string }[] };
    assert.deepEqual(body.errors[0], { code: "UNAUTHORIZED", message: "Your authorization token has expired. Reauthenticate and try again.", detail: null });
  }
});

test("the root's token is unchanged: v1, and it pushes and pulls every repository and lists them", async () => {
  assert.match(rootPassword, /^v1\./);
  const authFile = await skopeoLogin(rootPassword);
  assert.equal((await skopeoPull(authFile, "other:v1")).code, 0);
  const pushed = await skopeoPush(authFile, buildImage([gzipLayer({ "root.txt": "root\n" })]), "other:root");
  assert.equal(pushed.code, 0, pushed.stderr);
  const catalog = (await (await registryFetch(server, rootPassword, "/v2/_catalog")).json()) as { repositories: string[] };
  assert.deepEqual(catalog.repositories, ["app", "other"]);
  assert.equal((await registryFetch(server, rootPassword, "/v2/ghost/manifests/v1")).status, 404);
});
