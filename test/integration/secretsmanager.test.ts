// Secrets Manager end to end on one real `berth server`: every operation through the SDK v3
// client, the important ones through Debian's AWS CLI and boto3, the failure paths with AWS's
// error names, abuse (oversized values, hostile names, foreign ARNs, bad version ids, racing label
// moves), and the store holding no plaintext value.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
} from "@aws-sdk/client-secrets-manager";
import { openStore } from "../../src/store/index.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer, testServerStore } from "../support/server.js";
import { rejectsWithAwsError } from "../support/aws-error.js";
import { runBoto3 } from "../support/boto3.js";

let server: TestServer;
let sm: SecretsManagerClient;
before(async () => {
  server = await startTestServer();
  sm = new SecretsManagerClient(sdkConfig(server));
});
after(async () => {
  sm.destroy();
  await server.stop();
  await server.cleanup();
});

const rejects = rejectsWithAwsError;
const boto3 = (script: string) => runBoto3(server, "secretsmanager", "sm", script);

const token = (n: number) => `${String(n).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`;

test("create, read by name, full ARN and partial ARN; versions move AWSCURRENT to AWSPREVIOUS", async () => {
  const created = await sm.send(
    new CreateSecretCommand({ Name: "prod/db", SecretString: '{"password":"s3cr3t"}', Description: "the db", ClientRequestToken: token(1) }),
  );
  assert.match(created.ARN!, /^arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/db-[A-Za-z0-9]{6}$/);
  assert.equal(created.VersionId, token(1));
  for (const id of ["prod/db", created.ARN!, created.ARN!.slice(0, -7)]) {
    const value = await sm.send(new GetSecretValueCommand({ SecretId: id }));
    assert.equal(value.SecretString, '{"password":"s3cr3t"}');
    assert.deepEqual(value.VersionStages, ["AWSCURRENT"]);
    assert.ok(value.CreatedDate instanceof Date);
  }
  const put = await sm.send(new PutSecretValueCommand({ SecretId: "prod/db", SecretString: "two", ClientRequestToken: token(2) }));
  assert.deepEqual(put.VersionStages, ["AWSCURRENT"]);
  // The same token and value again is a retry: nothing changes. Another value is refused.
  await sm.send(new PutSecretValueCommand({ SecretId: "prod/db", SecretString: "two", ClientRequestToken: token(2) }));
  await rejects(sm.send(new PutSecretValueCommand({ SecretId: "prod/db", SecretString: "other", ClientRequestToken: token(2) })), "ResourceExistsException");
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "prod/db", VersionStage: "AWSPREVIOUS" }))).SecretString, '{"password":"s3cr3t"}');
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "prod/db", VersionId: token(1) }))).SecretString, '{"password":"s3cr3t"}');
  await sm.send(new PutSecretValueCommand({ SecretId: "prod/db", SecretString: "pending", ClientRequestToken: token(3), VersionStages: ["AWSPENDING"] }));
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "prod/db" }))).SecretString, "two");
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "prod/db", VersionStage: "AWSPENDING" }))).SecretString, "pending");
  const described = await sm.send(new DescribeSecretCommand({ SecretId: created.ARN! }));
  assert.deepEqual(described.VersionIdsToStages, { [token(1)]: ["AWSPREVIOUS"], [token(2)]: ["AWSCURRENT"], [token(3)]: ["AWSPENDING"] });
  assert.equal(described.Description, "the db");
  assert.ok(described.LastAccessedDate instanceof Date && described.CreatedDate instanceof Date && described.LastChangedDate instanceof Date);
  await rejects(
    sm.send(new GetSecretValueCommand({ SecretId: "prod/db", VersionStage: "NOPE" })),
    "ResourceNotFoundException",
    "Secrets Manager can't find the specified secret value for staging label: NOPE",
  );
  await rejects(
    sm.send(new GetSecretValueCommand({ SecretId: "prod/db", VersionId: token(9) })),
    "ResourceNotFoundException",
    `Secrets Manager can't find the specified secret value for VersionId: ${token(9)}`,
  );
});

test("binary secrets, UpdateSecret, tags, and a retried CreateSecret", async () => {
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  const created = await sm.send(
    new CreateSecretCommand({ Name: "bin", SecretBinary: bytes, ClientRequestToken: token(10), Tags: [{ Key: "team", Value: "a" }] }),
  );
  assert.deepEqual((await sm.send(new GetSecretValueCommand({ SecretId: "bin" }))).SecretBinary, bytes);
  const again = await sm.send(new CreateSecretCommand({ Name: "bin", SecretBinary: bytes, ClientRequestToken: token(10) }));
  assert.equal(again.ARN, created.ARN);
  await rejects(
    sm.send(new CreateSecretCommand({ Name: "bin", SecretString: "x" })),
    "ResourceExistsException",
    "The operation failed because the secret bin already exists.",
  );
  const updated = await sm.send(new UpdateSecretCommand({ SecretId: "bin", SecretString: "now text", Description: "changed", ClientRequestToken: token(11) }));
  assert.equal(updated.VersionId, token(11));
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "bin" }))).SecretString, "now text");
  await sm.send(
    new TagResourceCommand({
      SecretId: "bin",
      Tags: [
        { Key: "env", Value: "prod" },
        { Key: "team", Value: "b" },
      ],
    }),
  );
  await sm.send(new UntagResourceCommand({ SecretId: created.ARN!, TagKeys: ["env"] }));
  const described = await sm.send(new DescribeSecretCommand({ SecretId: "bin" }));
  assert.deepEqual(described.Tags, [{ Key: "team", Value: "b" }]);
  assert.equal(described.Description, "changed");
  const emptied = await sm.send(new CreateSecretCommand({ Name: "novalue" }));
  assert.equal(emptied.VersionId, undefined);
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: "novalue" })), "ResourceNotFoundException", /staging label: AWSCURRENT/);
});

test("delete with a recovery window, restore, force delete, and the purge of due secrets", async () => {
  const { ARN } = await sm.send(new CreateSecretCommand({ Name: "doomed", SecretString: "v" }));
  const windowMessage = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).";
  await rejects(sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 31 })), "InvalidParameterException", windowMessage);
  await rejects(
    sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 0, ForceDeleteWithoutRecovery: true })),
    "InvalidParameterException",
    windowMessage,
  );
  await rejects(sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 6 })), "InvalidParameterException");
  await rejects(
    sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })),
    "InvalidParameterException",
  );
  const before = Date.now();
  const deleted = await sm.send(new DeleteSecretCommand({ SecretId: "doomed" }));
  const days = (deleted.DeletionDate!.getTime() - before) / 86_400_000;
  assert.ok(days > 29.9 && days < 30.1, `${days} days`);
  const message = "You can't perform this operation on the secret because it was marked for deletion.";
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: "doomed" })), "InvalidRequestException", message);
  await rejects(sm.send(new PutSecretValueCommand({ SecretId: "doomed", SecretString: "w" })), "InvalidRequestException", message);
  await rejects(
    sm.send(new CreateSecretCommand({ Name: "doomed", SecretString: "again" })),
    "InvalidRequestException",
    "You can't create this secret because a secret with this name is already scheduled for deletion.",
  );
  assert.ok((await sm.send(new DescribeSecretCommand({ SecretId: "doomed" }))).DeletedDate instanceof Date);
  assert.ok(!(await sm.send(new ListSecretsCommand({}))).SecretList!.some((entry) => entry.Name === "doomed"));
  assert.ok((await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true }))).SecretList!.some((entry) => entry.Name === "doomed"));
  await sm.send(new RestoreSecretCommand({ SecretId: ARN! }));
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "doomed" }))).SecretString, "v");
  await sm.send(new DeleteSecretCommand({ SecretId: "doomed", ForceDeleteWithoutRecovery: true }));
  await rejects(sm.send(new DescribeSecretCommand({ SecretId: ARN! })), "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
  // A secret whose deletion date has come is purged by the loop: here its date is moved into the past.
  const recreated = await sm.send(new CreateSecretCommand({ Name: "doomed", SecretString: "v2" }));
  assert.notEqual(recreated.ARN, ARN);
  await sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7 }));
  const store = await openStore(testServerStore(server.dataDir).location);
  try {
    assert.equal((await store.secrets.locked(recreated.ARN!, (locked) => locked.change({ purgeAt: Date.now() - 1 })))?.value, undefined);
    assert.deepEqual(await store.secrets.purgeDue(Date.now(), 10), [recreated.ARN]);
  } finally {
    await store.close();
  }
  await rejects(sm.send(new DescribeSecretCommand({ SecretId: "doomed" })), "ResourceNotFoundException");
});

test("ListSecrets filters and pages; BatchGetSecretValue by list and by filter", async () => {
  for (let i = 0; i < 5; i += 1) {
    await sm.send(
      new CreateSecretCommand({
        Name: `list/item-${i}`,
        SecretString: `value-${i}`,
        Description: i % 2 ? "Odd One" : "even",
        Tags: [{ Key: `k${i}`, Value: "shared" }],
      }),
    );
  }
  const names = async (filters: { Key: "name" | "description" | "tag-key" | "tag-value" | "all"; Values: string[] }[]) =>
    (await sm.send(new ListSecretsCommand({ Filters: filters }))).SecretList!.map((entry) => entry.Name).sort();
  assert.deepEqual(await names([{ Key: "name", Values: ["list/"] }]), ["list/item-0", "list/item-1", "list/item-2", "list/item-3", "list/item-4"]);
  assert.deepEqual(await names([{ Key: "name", Values: ["LIST/"] }]), []);
  assert.deepEqual(await names([{ Key: "description", Values: ["odd"] }]), ["list/item-1", "list/item-3"]);
  assert.deepEqual(await names([{ Key: "tag-key", Values: ["k2", "k4"] }]), ["list/item-2", "list/item-4"]);
  assert.deepEqual(
    await names([
      { Key: "name", Values: ["list/"] },
      { Key: "tag-key", Values: ["!k0"] },
    ]),
    ["list/item-1", "list/item-2", "list/item-3", "list/item-4"],
  );
  assert.deepEqual((await names([{ Key: "all", Values: ["odd"] }])).length, 2);
  const seen: string[] = [];
  let next: string | undefined;
  do {
    const page = await sm.send(new ListSecretsCommand({ Filters: [{ Key: "tag-value", Values: ["shared"] }], MaxResults: 2, NextToken: next }));
    assert.ok(page.SecretList!.length <= 2);
    seen.push(...page.SecretList!.map((entry) => entry.Name!));
    assert.ok(page.SecretList!.every((entry) => entry.SecretVersionsToStages !== undefined));
    next = page.NextToken;
  } while (next);
  assert.equal(seen.length, 5);
  await rejects(sm.send(new ListSecretsCommand({ NextToken: "garbage" })), "InvalidNextTokenException");
  await rejects(sm.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["bad\u0001"] }] })), "ValidationException");
  const batch = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: ["list/item-0", "list/item-1", "missing"] }));
  assert.deepEqual(
    batch.SecretValues!.map((value) => value.SecretString),
    ["value-0", "value-1"],
  );
  assert.deepEqual(batch.Errors, [
    { SecretId: "missing", ErrorCode: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret." },
  ]);
  const byFilter = await sm.send(new BatchGetSecretValueCommand({ Filters: [{ Key: "description", Values: ["odd"] }], MaxResults: 20 }));
  assert.deepEqual(byFilter.SecretValues!.map((value) => value.SecretString).sort(), ["value-1", "value-3"]);
  await rejects(sm.send(new BatchGetSecretValueCommand({})), "InvalidParameterException");
});

test("GetRandomPassword honours its options", async () => {
  const { RandomPassword } = await sm.send(new GetRandomPasswordCommand({ PasswordLength: 64, ExcludePunctuation: true, ExcludeCharacters: "aeiou" }));
  assert.equal(RandomPassword!.length, 64);
  assert.match(RandomPassword!, /^[A-Zb-df-hj-np-tv-z0-9]+$/);
  await rejects(sm.send(new GetRandomPasswordCommand({ PasswordLength: 5000 })), "ValidationException");
});

test("abuse: oversized values, hostile names, foreign ARNs, bad version ids, both value kinds", async () => {
  await rejects(sm.send(new CreateSecretCommand({ Name: "huge", SecretString: "x".repeat(65_537) })), "ValidationException");
  await rejects(sm.send(new CreateSecretCommand({ Name: "huge", SecretBinary: new Uint8Array(65_537) })), "ValidationException");
  await sm.send(new CreateSecretCommand({ Name: "max", SecretString: "x".repeat(65_536) }));
  for (const name of ["a\u0000b", "new\nline", "tab\there", "sp ace", "semi;colon", "x".repeat(513), ""]) {
    await rejects(
      sm.send(new CreateSecretCommand({ Name: name, SecretString: "v" })),
      "ValidationException",
      "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
    );
  }
  // Dots and slashes are a name's characters (AWS allows them); a name never becomes a path here.
  await sm.send(new CreateSecretCommand({ Name: "../../etc/passwd", SecretString: "not a file" }));
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "../../etc/passwd" }))).SecretString, "not a file");
  await rejects(
    sm.send(new CreateSecretCommand({ Name: "both", SecretString: "v", SecretBinary: new Uint8Array([1]) })),
    "InvalidParameterException",
    "You can't specify both a binary secret value and a string secret value in the same secret.",
  );
  const { ARN } = await sm.send(new CreateSecretCommand({ Name: "mine", SecretString: "v" }));
  for (const foreign of [ARN!.replace("123456789012", "210987654321"), ARN!.replace("us-east-1", "eu-west-1"), ARN!.replace("secretsmanager", "ssm")]) {
    await rejects(sm.send(new GetSecretValueCommand({ SecretId: foreign })), "ResourceNotFoundException");
  }
  for (const versionId of ["short", "x".repeat(65), `${"a".repeat(31)}\u0007`, `${"a".repeat(32)} `]) {
    await rejects(sm.send(new GetSecretValueCommand({ SecretId: "mine", VersionId: versionId })), "ValidationException");
    await rejects(sm.send(new PutSecretValueCommand({ SecretId: "mine", SecretString: "v", ClientRequestToken: versionId })), "ValidationException");
  }
  await rejects(sm.send(new TagResourceCommand({ SecretId: "mine", Tags: [{ Key: "aws:reserved", Value: "x" }] })), "InvalidParameterException");
  await rejects(
    sm.send(new GetSecretValueCommand({} as never)),
    "ValidationException",
    /Value null at 'SecretId' failed to satisfy constraint: Member must not be null/,
  );
  await rejects(
    sm.send(new TagResourceCommand({ SecretId: "mine", Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `t${i}`, Value: "v" })) })),
    "InvalidParameterException",
  );
});

test("racing PutSecretValue calls leave exactly one AWSCURRENT and one AWSPREVIOUS", async () => {
  await sm.send(new CreateSecretCommand({ Name: "race", SecretString: "v0" }));
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      sm.send(new PutSecretValueCommand({ SecretId: "race", SecretString: `v${i + 1}`, ClientRequestToken: token(100 + i) })),
    ),
  );
  const { VersionIdsToStages } = await sm.send(new DescribeSecretCommand({ SecretId: "race" }));
  const labels = Object.values(VersionIdsToStages!).flat().sort();
  assert.deepEqual(labels, ["AWSCURRENT", "AWSPREVIOUS"]);
  const current = await sm.send(new GetSecretValueCommand({ SecretId: "race" }));
  assert.equal(`v${Number(current.VersionId!.slice(0, 8)) - 99}`, current.SecretString);
});

test("PutSecretValue naming AWSCURRENT and AWSPREVIOUS puts both on the new version and leaves no label on two versions", async () => {
  await sm.send(new CreateSecretCommand({ Name: "both-labels", SecretString: "v0" }));
  await sm.send(new PutSecretValueCommand({ SecretId: "both-labels", SecretString: "v1" }));
  const put = await sm.send(new PutSecretValueCommand({ SecretId: "both-labels", SecretString: "v2", VersionStages: ["AWSCURRENT", "AWSPREVIOUS"] }));
  const { VersionIdsToStages } = await sm.send(new DescribeSecretCommand({ SecretId: "both-labels" }));
  assert.deepEqual(Object.values(VersionIdsToStages!).flat().sort(), ["AWSCURRENT", "AWSPREVIOUS"]);
  assert.deepEqual([...VersionIdsToStages![put.VersionId!]!].sort(), ["AWSCURRENT", "AWSPREVIOUS"]);
});

test("at most 20 staging labels on a secret's versions together (LimitExceededException), so labelled versions stay bounded", async () => {
  await sm.send(new CreateSecretCommand({ Name: "labels", SecretString: "v0" }));
  await sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: "v1" }));
  // AWSCURRENT, AWSPREVIOUS and 18 more: 20 labels.
  for (let i = 0; i < 18; i++) await sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: `v${i}`, VersionStages: [`L${i}`] }));
  await rejects(sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: "over", VersionStages: ["L18"] })), "LimitExceededException");
  // Moving an existing label adds none.
  await sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: "moved", VersionStages: ["L0"] }));
  const { VersionIdsToStages } = await sm.send(new DescribeSecretCommand({ SecretId: "labels" }));
  assert.equal(Object.values(VersionIdsToStages!).flat().length, 20);
});

test("a version's seal is bound to its value kind: a string version's row relabelled binary does not open", async () => {
  const { ARN, VersionId } = await sm.send(new CreateSecretCommand({ Name: "kind-bound", SecretString: "a string" }));
  const store = await openStore(testServerStore(server.dataDir).location);
  try {
    await store.secrets.locked(ARN!, async (locked) => {
      const sealed = await locked.sealedValue(VersionId!);
      await locked.deleteVersions([VersionId!]);
      await locked.addVersion({ versionId: VersionId!, createdAt: 1, stages: ["AWSCURRENT"], kind: "binary", sealedValue: sealed! });
    });
  } finally {
    await store.close();
  }
  await assert.rejects(sm.send(new GetSecretValueCommand({ SecretId: "kind-bound" })), "the sealed value does not open as binary");
});

test("the store holds no plaintext value: sealed rows, and no trace in the database files", async () => {
  const plaintext = "plaintext-canary-7f3a9c";
  const { ARN } = await sm.send(new CreateSecretCommand({ Name: "canary", SecretString: plaintext }));
  const location = testServerStore(server.dataDir).location;
  const store = await openStore(location);
  try {
    const [version] = await store.secrets.versions(ARN!);
    const sealed = version && (await store.secrets.sealedValue(ARN!, version.versionId));
    assert.ok(sealed && sealed.startsWith("e1."));
    assert.ok(!sealed.includes(plaintext) && !Buffer.from(sealed, "base64url").includes(plaintext));
  } finally {
    await store.close();
  }
  if ("path" in location) {
    for (const file of readdirSync(server.dataDir).filter((name) => name.startsWith("berth.db"))) {
      assert.ok(!readFileSync(join(server.dataDir, file)).includes(plaintext), `${file} holds the plaintext`);
    }
  }
});

test("AWS CLI: create-secret, get-secret-value, put-secret-value, describe, list, delete", async () => {
  const created = await awsCli(server, ["secretsmanager", "create-secret", "--name", "cli/db", "--secret-string", '{"password":"s3cr3t"}']);
  assert.equal(created.code, 0, created.stderr);
  const arn = (created.json as { ARN: string }).ARN;
  const got = await awsCli(server, ["secretsmanager", "get-secret-value", "--secret-id", arn]);
  assert.equal((got.json as { SecretString: string }).SecretString, '{"password":"s3cr3t"}');
  assert.equal((await awsCli(server, ["secretsmanager", "put-secret-value", "--secret-id", "cli/db", "--secret-string", "v2"])).code, 0);
  const described = await awsCli(server, ["secretsmanager", "describe-secret", "--secret-id", "cli/db"]);
  assert.equal(Object.keys((described.json as { VersionIdsToStages: object }).VersionIdsToStages).length, 2);
  const listed = await awsCli(server, ["secretsmanager", "list-secrets", "--filters", "Key=name,Values=cli/"]);
  assert.deepEqual(
    (listed.json as { SecretList: { Name: string }[] }).SecretList.map((entry) => entry.Name),
    ["cli/db"],
  );
  const missing = await awsCli(server, ["secretsmanager", "get-secret-value", "--secret-id", "cli/none"]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /ResourceNotFoundException.*Secrets Manager can't find the specified secret\./);
  assert.equal((await awsCli(server, ["secretsmanager", "delete-secret", "--secret-id", "cli/db", "--force-delete-without-recovery"])).code, 0);
  const password = await awsCli(server, ["secretsmanager", "get-random-password", "--password-length", "20", "--exclude-punctuation"]);
  assert.match((password.json as { RandomPassword: string }).RandomPassword, /^[A-Za-z0-9]{20}$/);
});

test("boto3 (Debian's, which has no batch_get_secret_value): create, get by stage, list, binary, delete, and errors as ClientError", async () => {
  const result = await boto3(`
created = sm.create_secret(Name="py/secret", SecretString="one")
sm.put_secret_value(SecretId="py/secret", SecretString="two")
previous = sm.get_secret_value(SecretId=created["ARN"], VersionStage="AWSPREVIOUS")["SecretString"]
current = sm.get_secret_value(SecretId="py/secret")["SecretString"]
listed = sm.list_secrets(Filters=[{"Key": "name", "Values": ["py/"]}])["SecretList"]
binary = sm.create_secret(Name="py/bin", SecretBinary=b"\\x00\\xff")
raw = sm.get_secret_value(SecretId="py/bin")["SecretBinary"]
sm.delete_secret(SecretId="py/secret", RecoveryWindowInDays=7)
try:
    sm.get_secret_value(SecretId="py/secret")
    code = None
except botocore.exceptions.ClientError as error:
    code = error.response["Error"]["Code"]
print(json.dumps({"previous": previous, "current": current, "listed": [entry["Name"] for entry in listed], "raw": list(raw), "code": code}))
`);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { previous: "one", current: "two", listed: ["py/secret"], raw: [0, 255], code: "InvalidRequestException" });
});
