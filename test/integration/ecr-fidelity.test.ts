// Places where ECR answers differently from AWS (issue 16), driven through the real AWS SDK v3
// client against a real `berth server` on loopback: tag mutability with exclusion filters (set
// through the API, enforced where tags are pushed), and the KMS key a KMS repository reports.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, PutImageTagMutabilityCommand } from "@aws-sdk/client-ecr";
import type { ImageTagMutability, ImageTagMutabilityExclusionFilter } from "@aws-sdk/client-ecr";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import { buildImage, loginPassword, pushImage } from "./registry-fixtures.js";
import type { BuiltImage } from "./registry-fixtures.js";

let server: TestServer;
let ecr: ECRClient;
let password: string;

before(async () => {
  server = await startTestServer();
  ecr = new ECRClient(sdkConfig(server));
  password = await loginPassword(server);
});
after(async () => {
  ecr.destroy();
  await server.stop();
  await server.cleanup();
});

const image = (label: string): BuiltImage => buildImage([randomBytes(500)], { os: "linux", architecture: "amd64" }, label);
const wildcard = (filter: string): ImageTagMutabilityExclusionFilter => ({ filterType: "WILDCARD", filter });

/** Pushes `first` then `second` under `tag` and answers whether the move was allowed. */
async function tagMoves(repository: string, tag: string): Promise<boolean> {
  const first = await pushImage(server, password, repository, tag, image(`${repository}-${tag}-1`));
  assert.equal(first.status, 201, await first.text());
  const moved = await pushImage(server, password, repository, tag, image(`${repository}-${tag}-2`));
  if (moved.status === 201) return true;
  assert.equal(moved.status, 400);
  const body = (await moved.json()) as { errors: { code: string; message: string }[] };
  assert.equal(body.errors[0]!.code, "TAG_INVALID");
  assert.match(body.errors[0]!.message, new RegExp(`The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten`));
  return false;
}

describe("ECR tag mutability with exclusion filters", () => {
  test("IMMUTABLE_WITH_EXCLUSION: tags matching a filter move, the others do not; DescribeRepositories shows the filters", async () => {
    const created = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: "immutable-except",
        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters: [wildcard("dev-*"), wildcard("*-snapshot"), wildcard("latest")],
      }),
    );
    assert.equal(created.repository!.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
    assert.deepEqual(created.repository!.imageTagMutabilityExclusionFilters, [wildcard("dev-*"), wildcard("*-snapshot"), wildcard("latest")]);
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["immutable-except"] }));
    assert.deepEqual(described.repositories![0]!.imageTagMutabilityExclusionFilters, created.repository!.imageTagMutabilityExclusionFilters);
    assert.equal(await tagMoves("immutable-except", "dev-42"), true);
    assert.equal(await tagMoves("immutable-except", "1.0-snapshot"), true);
    assert.equal(await tagMoves("immutable-except", "latest"), true);
    assert.equal(await tagMoves("immutable-except", "v1.0"), false);
    assert.equal(await tagMoves("immutable-except", "latest2"), false);
  });

  test("MUTABLE_WITH_EXCLUSION set by PutImageTagMutability: tags matching a filter are the immutable ones", async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "mutable-except" }));
    const set = await ecr.send(
      new PutImageTagMutabilityCommand({
        repositoryName: "mutable-except",
        imageTagMutability: "MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters: [wildcard("release-*")],
      }),
    );
    assert.equal(set.imageTagMutability, "MUTABLE_WITH_EXCLUSION");
    assert.deepEqual(set.imageTagMutabilityExclusionFilters, [wildcard("release-*")]);
    assert.equal(await tagMoves("mutable-except", "release-1"), false);
    assert.equal(await tagMoves("mutable-except", "nightly"), true);
    // Back to MUTABLE: the filters go with the mode.
    await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: "mutable-except", imageTagMutability: "MUTABLE" }));
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["mutable-except"] }));
    assert.equal(described.repositories![0]!.imageTagMutability, "MUTABLE");
    assert.equal(described.repositories![0]!.imageTagMutabilityExclusionFilters, undefined);
    assert.equal(await tagMoves("mutable-except", "release-1"), true);
  });

  test("filters are held to ECR's model: one to five WILDCARD patterns of [0-9a-zA-Z._*-]{1,128}, only with an *_WITH_EXCLUSION mode", async () => {
    const refused = async (mutability: string, filters: ImageTagMutabilityExclusionFilter[] | undefined, message: RegExp) => {
      const request = { repositoryName: "bad-filters", imageTagMutability: mutability as ImageTagMutability, imageTagMutabilityExclusionFilters: filters };
      await assert.rejects(ecr.send(new CreateRepositoryCommand(request)), (error: Error) => {
        assert.equal(error.name, "InvalidParameterException");
        assert.match(error.message, message);
        return true;
      });
    };
    await refused("IMMUTABLE_WITH_EXCLUSION", undefined, /exclusion filters are required/);
    await refused("IMMUTABLE", [wildcard("dev-*")], /can only be used with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION/);
    await refused(
      "IMMUTABLE_WITH_EXCLUSION",
      [],
      /at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'Member must have length greater than or equal to 1'/,
    );
    const six = ["a*", "b*", "c*", "d*", "e*", "f*"].map(wildcard);
    await refused("IMMUTABLE_WITH_EXCLUSION", six, /Member must have length less than or equal to 5/);
    await refused("IMMUTABLE_WITH_EXCLUSION", [{ filterType: "REGEX" as never, filter: "a" }], /Member must satisfy enum value set: \[WILDCARD\]/);
    for (const pattern of ["", "x".repeat(129), "dev/*", "a b", "(a+)+$", "\u0000"]) {
      await refused("IMMUTABLE_WITH_EXCLUSION", [wildcard(pattern)], /Member must satisfy regular expression pattern/);
    }
    await refused("SOMETIMES", undefined, /Member must satisfy enum value set: \[MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION\]/);
    await assert.rejects(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["bad-filters"] })), { name: "RepositoryNotFoundException" });
  });

  test("a hostile wildcard is matched in bounded time", async () => {
    const pattern = `${"a*".repeat(63)}b`;
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: "hostile-filter",
        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters: [wildcard(pattern)],
      }),
    );
    const started = Date.now();
    assert.equal(await tagMoves("hostile-filter", "a".repeat(128)), false);
    assert.ok(Date.now() - started < 10_000);
  });
});

describe("ECR encryption configuration", () => {
  test("a KMS repository created without a key reports the AWS managed key for ECR (alias/aws/ecr); a given key is kept", async () => {
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: "kms-default", encryptionConfiguration: { encryptionType: "KMS" } }));
    const expected = { encryptionType: "KMS", kmsKey: "arn:aws:kms:us-east-1:123456789012:alias/aws/ecr" };
    assert.deepEqual(created.repository!.encryptionConfiguration, expected);
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["kms-default"] }));
    assert.deepEqual(described.repositories![0]!.encryptionConfiguration, expected);
    const key = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-abcd-0123-0123456789ab";
    const own = await ecr.send(new CreateRepositoryCommand({ repositoryName: "kms-own", encryptionConfiguration: { encryptionType: "KMS", kmsKey: key } }));
    assert.deepEqual(own.repository!.encryptionConfiguration, { encryptionType: "KMS", kmsKey: key });
    const plain = await ecr.send(new CreateRepositoryCommand({ repositoryName: "aes" }));
    assert.deepEqual(plain.repository!.encryptionConfiguration, { encryptionType: "AES256" });
  });
});
