// SSM Parameter Store end to end on one real `berth server`: every operation through the SDK v3
// client, the important ones through Debian's AWS CLI and boto3, failure paths with AWS's error
// names, abuse (oversized values, hostile names, foreign ARNs, bad selectors, racing writers), and
// the store holding no SecureString plaintext.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { openStore } from "../../src/store/index.js";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer, testServerStore } from "../support/server.js";
import { rejectsWithAwsError } from "../support/aws-error.js";
import { runBoto3 } from "../support/boto3.js";

let server: TestServer;
let ssm: SSMClient;
before(async () => {
  server = await startTestServer();
  ssm = new SSMClient(sdkConfig(server));
});
after(async () => {
  ssm.destroy();
  await server.stop();
  await server.cleanup();
});

const rejects = rejectsWithAwsError;
const boto3 = (script: string) => runBoto3(server, "ssm", "ssm", script);

test("PutParameter versions, Overwrite, and GetParameter by name, ARN, :version and :label", async () => {
  const created = await ssm.send(new PutParameterCommand({ Name: "/app/db/host", Type: "String", Value: "db1", Description: "host" }));
  assert.deepEqual([created.Version, created.Tier], [1, "Standard"]);
  await rejects(
    ssm.send(new PutParameterCommand({ Name: "/app/db/host", Type: "String", Value: "db2" })),
    "ParameterAlreadyExists",
    "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
  );
  assert.equal((await ssm.send(new PutParameterCommand({ Name: "/app/db/host", Value: "db2", Overwrite: true }))).Version, 2);
  const got = (await ssm.send(new GetParameterCommand({ Name: "/app/db/host" }))).Parameter!;
  assert.equal(got.Value, "db2");
  assert.equal(got.Version, 2);
  assert.equal(got.Type, "String");
  assert.equal(got.ARN, "arn:aws:ssm:us-east-1:123456789012:parameter/app/db/host");
  assert.equal((await ssm.send(new GetParameterCommand({ Name: got.ARN! }))).Parameter!.Value, "db2");
  const first = (await ssm.send(new GetParameterCommand({ Name: "/app/db/host:1" }))).Parameter!;
  assert.equal(first.Value, "db1");
  assert.equal(first.Selector, ":1");
  await ssm.send(new LabelParameterVersionCommand({ Name: "/app/db/host", ParameterVersion: 1, Labels: ["stable", "1bad", "awsy"] })).then((result) => {
    assert.deepEqual(result.InvalidLabels, ["1bad", "awsy"]);
    assert.equal(result.ParameterVersion, 1);
  });
  assert.equal((await ssm.send(new GetParameterCommand({ Name: "/app/db/host:stable" }))).Parameter!.Value, "db1");
  await ssm.send(new LabelParameterVersionCommand({ Name: "/app/db/host", Labels: ["stable"] }));
  assert.equal((await ssm.send(new GetParameterCommand({ Name: "/app/db/host:stable" }))).Parameter!.Value, "db2");
  await rejects(ssm.send(new GetParameterCommand({ Name: "/app/db/host:7" })), "ParameterVersionNotFound");
  await rejects(ssm.send(new GetParameterCommand({ Name: "/app/db/nothing" })), "ParameterNotFound");
  const history = await ssm.send(new GetParameterHistoryCommand({ Name: "/app/db/host" }));
  assert.deepEqual(
    history.Parameters!.map((version) => [version.Version, version.Value, version.Labels]),
    [
      [1, "db1", []],
      [2, "db2", ["stable"]],
    ],
  );
  assert.equal(history.Parameters![0]!.LastModifiedUser, "arn:aws:iam::123456789012:root");
  const paged = await ssm.send(new GetParameterHistoryCommand({ Name: "/app/db/host", MaxResults: 1 }));
  assert.equal(paged.Parameters!.length, 1);
  assert.equal((await ssm.send(new GetParameterHistoryCommand({ Name: "/app/db/host", NextToken: paged.NextToken }))).Parameters![0]!.Version, 2);
});

test("SecureString is returned in clear only WithDecryption; GetParameters reports InvalidParameters", async () => {
  await ssm.send(new PutParameterCommand({ Name: "/prod/api-key", Type: "SecureString", Value: "abc-secret" }));
  const hidden = (await ssm.send(new GetParameterCommand({ Name: "/prod/api-key" }))).Parameter!;
  assert.notEqual(hidden.Value, "abc-secret");
  assert.ok(!hidden.Value!.includes("abc-secret"));
  assert.equal((await ssm.send(new GetParameterCommand({ Name: "/prod/api-key", WithDecryption: true }))).Parameter!.Value, "abc-secret");
  await ssm.send(new PutParameterCommand({ Name: "plain", Type: "StringList", Value: "a,b,c" }));
  const many = await ssm.send(new GetParametersCommand({ Names: ["/prod/api-key", "plain", "/missing", "plain:9"], WithDecryption: true }));
  assert.deepEqual(
    many.Parameters!.map((parameter) => [parameter.Name, parameter.Value]),
    [
      ["/prod/api-key", "abc-secret"],
      ["plain", "a,b,c"],
    ],
  );
  assert.deepEqual(many.InvalidParameters, ["/missing", "plain:9"]);
  const described = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Name", Values: ["/prod/api-key"] }] }));
  assert.equal(described.Parameters![0]!.KeyId, "alias/aws/ssm");
  assert.equal(described.Parameters![0]!.Type, "SecureString");
});

test("GetParametersByPath (one level, recursive, filters, pages) and DescribeParameters", async () => {
  for (const name of ["/tree/a", "/tree/b", "/tree/sub/c", "/tree/sub/deep/d", "/treeish"]) {
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Type: name.endsWith("c") ? "SecureString" : "String",
        Value: `v-${name}`,
        Tags: [{ Key: "team", Value: name.length > 8 ? "x" : "y" }],
      }),
    );
  }
  const names = async (input: { Recursive?: boolean; ParameterFilters?: { Key: string; Values: string[]; Option?: string }[] }) => {
    const seen: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ssm.send(new GetParametersByPathCommand({ Path: "/tree", MaxResults: 2, NextToken, WithDecryption: true, ...input }));
      seen.push(...page.Parameters!.map((parameter) => parameter.Name!));
      NextToken = page.NextToken;
    } while (NextToken);
    return seen;
  };
  assert.deepEqual(await names({}), ["/tree/a", "/tree/b"]);
  assert.deepEqual(await names({ Recursive: true }), ["/tree/a", "/tree/b", "/tree/sub/c", "/tree/sub/deep/d"]);
  assert.deepEqual(await names({ Recursive: true, ParameterFilters: [{ Key: "Type", Values: ["SecureString"] }] }), ["/tree/sub/c"]);
  const secure = await ssm.send(new GetParametersByPathCommand({ Path: "/tree/sub", WithDecryption: true }));
  assert.equal(secure.Parameters![0]!.Value, "v-/tree/sub/c");
  await rejects(ssm.send(new GetParametersByPathCommand({ Path: "tree" })), "ValidationException", /must begin with a forward slash/);
  const described = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Path", Option: "Recursive", Values: ["/tree/sub"] }] }));
  assert.deepEqual(
    described.Parameters!.map((parameter) => parameter.Name),
    ["/tree/sub/c", "/tree/sub/deep/d"],
  );
  const tagged = await ssm.send(
    new DescribeParametersCommand({
      ParameterFilters: [
        { Key: "tag:team", Values: ["y"] },
        { Key: "Name", Option: "BeginsWith", Values: ["/tree"] },
      ],
    }),
  );
  assert.deepEqual(
    tagged.Parameters!.map((parameter) => parameter.Name),
    ["/tree/a", "/tree/b", "/treeish"],
  );
  const legacy = await ssm.send(new DescribeParametersCommand({ Filters: [{ Key: "Name", Values: ["/tree/s"] }] }));
  assert.equal(legacy.Parameters!.length, 2);
  await rejects(ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Bogus", Values: ["x"] }] })), "InvalidFilterKey");
  await rejects(ssm.send(new DescribeParametersCommand({ NextToken: "junk" })), "InvalidNextToken");
});

test("DeleteParameter and DeleteParameters", async () => {
  await ssm.send(new PutParameterCommand({ Name: "/del/one", Type: "String", Value: "1" }));
  await ssm.send(new PutParameterCommand({ Name: "/del/two", Type: "String", Value: "2" }));
  await ssm.send(new DeleteParameterCommand({ Name: "/del/one" }));
  await rejects(ssm.send(new DeleteParameterCommand({ Name: "/del/one" })), "ParameterNotFound");
  const result = await ssm.send(new DeleteParametersCommand({ Names: ["/del/two", "/del/none"] }));
  assert.deepEqual(result.DeletedParameters, ["/del/two"]);
  assert.deepEqual(result.InvalidParameters, ["/del/none"]);
  // A deleted name starts again at version 1.
  assert.equal((await ssm.send(new PutParameterCommand({ Name: "/del/one", Type: "String", Value: "again" }))).Version, 1);
});

test("tiers, AllowedPattern, Tags with Overwrite, the type on creation", async () => {
  await rejects(
    ssm.send(new PutParameterCommand({ Name: "/big/std", Type: "String", Value: "x".repeat(4097) })),
    "ValidationException",
    /Standard tier parameters support a maximum/,
  );
  assert.equal((await ssm.send(new PutParameterCommand({ Name: "/big/std", Type: "String", Value: "x".repeat(4096) }))).Tier, "Standard");
  assert.equal((await ssm.send(new PutParameterCommand({ Name: "/big/adv", Type: "String", Value: "x".repeat(8192), Tier: "Advanced" }))).Tier, "Advanced");
  assert.equal(
    (await ssm.send(new PutParameterCommand({ Name: "/big/auto", Type: "String", Value: "x".repeat(5000), Tier: "Intelligent-Tiering" }))).Tier,
    "Advanced",
  );
  await rejects(ssm.send(new PutParameterCommand({ Name: "/big/huge", Type: "String", Value: "x".repeat(8193), Tier: "Advanced" })), "ValidationException");
  await rejects(ssm.send(new PutParameterCommand({ Name: "/big/adv", Value: "y", Tier: "Standard", Overwrite: true })), "ValidationException");
  await ssm.send(new PutParameterCommand({ Name: "/pattern", Type: "String", Value: "123", AllowedPattern: "^[0-9]+$" }));
  await rejects(ssm.send(new PutParameterCommand({ Name: "/pattern", Value: "abc", Overwrite: true })), "ParameterPatternMismatchException");
  await rejects(
    ssm.send(new PutParameterCommand({ Name: "/pattern2", Type: "String", Value: "a", AllowedPattern: "(a)\\1" })),
    "InvalidAllowedPatternException",
  );
  await rejects(
    ssm.send(new PutParameterCommand({ Name: "/pattern", Value: "4", Overwrite: true, Tags: [{ Key: "k", Value: "v" }] })),
    "ValidationException",
    /tags and overwrite/,
  );
  await rejects(
    ssm.send(new PutParameterCommand({ Name: "/untyped", Value: "v" })),
    "ValidationException",
    "A parameter type is required when you create a parameter.",
  );
  await rejects(ssm.send(new PutParameterCommand({ Name: "/t", Type: "Nope" as "String", Value: "v" })), "ValidationException");
  await rejects(ssm.send(new PutParameterCommand({ Type: "String", Value: "v" } as never)), "ValidationException", /Member must not be null/);
});

test("abuse: hostile names, depth, reserved prefixes, foreign ARNs, bad selectors", async () => {
  const nameMessage = /^Parameter name: can't be prefixed with "ssm" \(case-insensitive\)/;
  for (const name of ["/a/../../etc/passwd\u0000", "/new\nline", "/sp ace", "/aws/x", "/SSM/x", "awsome", "/a//b", "/semi;colon"]) {
    await rejects(ssm.send(new PutParameterCommand({ Name: name, Type: "String", Value: "v" })), "ValidationException", nameMessage);
  }
  await rejects(ssm.send(new PutParameterCommand({ Name: "relative/path", Type: "String", Value: "v" })), "ValidationException");
  const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join("/")}`;
  await rejects(ssm.send(new PutParameterCommand({ Name: deep, Type: "String", Value: "v" })), "HierarchyLevelLimitExceededException");
  await ssm.send(new PutParameterCommand({ Name: deep.split("/").slice(0, 16).join("/"), Type: "String", Value: "15 levels" }));
  // ".." is a name part like any other; a name never becomes a path here.
  await ssm.send(new PutParameterCommand({ Name: "/a/../b", Type: "String", Value: "dots" }));
  assert.equal((await ssm.send(new GetParameterCommand({ Name: "/a/../b" }))).Parameter!.Value, "dots");
  await ssm.send(new PutParameterCommand({ Name: "/mine", Type: "String", Value: "v" }));
  for (const foreign of [
    "arn:aws:ssm:us-east-1:210987654321:parameter/mine",
    "arn:aws:ssm:eu-west-1:123456789012:parameter/mine",
    "arn:aws:secretsmanager:us-east-1:123456789012:parameter/mine",
  ]) {
    await rejects(ssm.send(new GetParameterCommand({ Name: foreign })), "ParameterNotFound");
  }
  await rejects(ssm.send(new GetParameterCommand({ Name: "/mine:" })), "ValidationException");
  await rejects(ssm.send(new GetParameterCommand({ Name: "/mine:bad label" })), "ValidationException");
  await rejects(ssm.send(new GetParametersCommand({ Names: Array.from({ length: 11 }, (_, i) => `/p${i}`) })), "ValidationException");
});

test("racing PutParameter Overwrite calls get distinct versions; labels stay on one version", async () => {
  await ssm.send(new PutParameterCommand({ Name: "/race", Type: "String", Value: "v0" }));
  const versions = await Promise.all(
    Array.from({ length: 12 }, (_, i) => ssm.send(new PutParameterCommand({ Name: "/race", Value: `v${i + 1}`, Overwrite: true }))),
  );
  assert.deepEqual(
    versions.map((result) => result.Version).sort((a, b) => a! - b!),
    Array.from({ length: 12 }, (_, i) => i + 2),
  );
  await Promise.all(
    Array.from({ length: 6 }, (_, i) => ssm.send(new LabelParameterVersionCommand({ Name: "/race", ParameterVersion: i + 1, Labels: ["live"] }))),
  );
  const history = await ssm.send(new GetParameterHistoryCommand({ Name: "/race" }));
  assert.equal(history.Parameters!.filter((version) => version.Labels!.includes("live")).length, 1);
  await ssm.send(new LabelParameterVersionCommand({ Name: "/race", ParameterVersion: 1, Labels: Array.from({ length: 10 }, (_, i) => `l${i}`) }));
  await rejects(ssm.send(new LabelParameterVersionCommand({ Name: "/race", ParameterVersion: 1, Labels: ["one-more"] })), "ParameterVersionLabelLimitExceeded");
});

test("the store holds no SecureString plaintext", async () => {
  const plaintext = "securestring-canary-51d0e";
  await ssm.send(new PutParameterCommand({ Name: "/canary", Type: "SecureString", Value: plaintext }));
  const location = testServerStore(server.dataDir).location;
  const store = await openStore(location);
  try {
    const [version] = await store.parameters.versions("/canary");
    assert.ok(version && version.value.startsWith("e1.") && !version.value.includes(plaintext));
  } finally {
    await store.close();
  }
  if ("path" in location) {
    for (const file of readdirSync(server.dataDir).filter((name) => name.startsWith("berth.db"))) {
      assert.ok(!readFileSync(join(server.dataDir, file)).includes(plaintext), `${file} holds the plaintext`);
    }
  }
});

test('a SecureString\'s seal is bound to its exact name and incarnation: not opened under "a" vs "/a" (one ARN), nor after a delete and re-create', async () => {
  await ssm.send(new PutParameterCommand({ Name: "bound", Type: "SecureString", Value: "plain-name" }));
  await ssm.send(new PutParameterCommand({ Name: "/bound", Type: "SecureString", Value: "slash-name" }));
  await ssm.send(new PutParameterCommand({ Name: "/again", Type: "SecureString", Value: "first-life" }));
  const store = await openStore(testServerStore(server.dataDir).location);
  try {
    const sealedOf = async (name: string) => (await store.parameters.versions(name))[0]!.value;
    /** Puts `sealed` in place of `name`'s version 1, as a row copied over it would. */
    const replace = (name: string, sealed: string) =>
      store.parameters.locked(name, false, async (locked) => {
        const [version] = await locked.versions();
        await locked.deleteVersions([1]);
        await locked.addVersion({ ...version!, value: sealed, incarnation: locked.incarnation });
      });
    await replace("/bound", await sealedOf("bound"));
    await assert.rejects(ssm.send(new GetParameterCommand({ Name: "/bound", WithDecryption: true })), "the sealed value does not open");
    const firstLife = await sealedOf("/again");
    await ssm.send(new DeleteParameterCommand({ Name: "/again" }));
    await ssm.send(new PutParameterCommand({ Name: "/again", Type: "SecureString", Value: "second-life" }));
    await replace("/again", firstLife);
    await assert.rejects(ssm.send(new GetParameterCommand({ Name: "/again", WithDecryption: true })), "the sealed value does not open");
  } finally {
    await store.close();
  }
});

test("AWS CLI: put-parameter, get-parameter --with-decryption, get-parameters-by-path, delete-parameter", async () => {
  const put = await awsCli(server, ["ssm", "put-parameter", "--name", "/cli/api-key", "--type", "SecureString", "--value", "abc"]);
  assert.equal(put.code, 0, put.stderr);
  assert.deepEqual(put.json, { Version: 1, Tier: "Standard" });
  const got = await awsCli(server, ["ssm", "get-parameter", "--name", "/cli/api-key", "--with-decryption"]);
  assert.equal((got.json as { Parameter: { Value: string } }).Parameter.Value, "abc");
  const again = await awsCli(server, ["ssm", "put-parameter", "--name", "/cli/api-key", "--type", "SecureString", "--value", "x"]);
  assert.match(again.stderr, /ParameterAlreadyExists/);
  const byPath = await awsCli(server, ["ssm", "get-parameters-by-path", "--path", "/cli", "--with-decryption"]);
  assert.deepEqual(
    (byPath.json as { Parameters: { Value: string }[] }).Parameters.map((parameter) => parameter.Value),
    ["abc"],
  );
  assert.equal((await awsCli(server, ["ssm", "delete-parameter", "--name", "/cli/api-key"])).code, 0);
  const missing = await awsCli(server, ["ssm", "get-parameter", "--name", "/cli/api-key"]);
  assert.match(missing.stderr, /ParameterNotFound/);
});

test("boto3: put, overwrite, get with and without decryption, history, errors as ClientError", async () => {
  const result = await boto3(`
ssm.put_parameter(Name="/py/secret", Type="SecureString", Value="one")
ssm.put_parameter(Name="/py/secret", Type="SecureString", Value="two", Overwrite=True)
clear = ssm.get_parameter(Name="/py/secret", WithDecryption=True)["Parameter"]
hidden = ssm.get_parameter(Name="/py/secret")["Parameter"]["Value"]
history = [p["Value"] for p in ssm.get_parameter_history(Name="/py/secret", WithDecryption=True)["Parameters"]]
try:
    ssm.put_parameter(Name="/py/secret", Type="String", Value="three")
    code = None
except botocore.exceptions.ClientError as error:
    code = error.response["Error"]["Code"]
print(json.dumps({"clear": clear["Value"], "version": clear["Version"], "hidden": hidden != "two", "history": history, "code": code}))
`);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { clear: "two", version: 2, hidden: true, history: ["one", "two"], code: "ParameterAlreadyExists" });
});
