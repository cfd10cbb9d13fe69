// The ECR API of the built-in registry through Debian's AWS CLI (/usr/bin/aws) and the AWS SDK v3
// against a real `berth server` on loopback: repositories, images, tag immutability, lifecycle
// policies actually applied (and the blobs of expired images collected), tags, tokens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ECRClient, DescribeRepositoriesCommand, RepositoryNotFoundException } from "@aws-sdk/client-ecr";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { buildImage, loginPassword, OCI_MANIFEST, pushImage, registryFetch, registryHost } from "./registry-fixtures.js";
import type { BuiltImage } from "./registry-fixtures.js";

let server: TestServer;
let password: string;

before(async () => {
  server = await startTestServer();
  password = await loginPassword(server);
});

after(async () => {
  await server.stop();
  await server.cleanup();
});

const ecr = async (...args: string[]) => awsCli(server, ["ecr", ...args]);

async function ok(...args: string[]): Promise<Record<string, unknown>> {
  const result = await ecr(...args);
  assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

async function fails(code: string, ...args: string[]): Promise<string> {
  const result = await ecr(...args);
  assert.notEqual(result.code, 0, `${args.join(" ")} should fail`);
  assert.match(result.stderr, new RegExp(`\\(${code}\\)`), result.stderr);
  return result.stderr;
}

const blobOnDisk = (digest: string) => existsSync(join(server.dataDir, "registry", "blobs", "sha256", digest.slice(7, 9), digest.slice(7)));
const image = (label: string, size = 1000): BuiltImage => buildImage([randomBytes(size)], { os: "linux", architecture: "amd64" }, label);

async function push(repository: string, tag: string | undefined, built: BuiltImage): Promise<void> {
  const response = await pushImage(server, password, repository, tag, built);
  assert.equal(response.status, 201, await response.text());
}

test("CreateRepository echoes its settings with a repositoryUri on this server; duplicates and bad names are refused", async () => {
  const created = (
    await ok(
      "create-repository",
      "--repository-name",
      "svc/api",
      "--image-tag-mutability",
      "IMMUTABLE",
      "--image-scanning-configuration",
      "scanOnPush=false",
      "--tags",
      "Key=team,Value=core",
    )
  ).repository as Record<string, unknown>;
  assert.equal(created.repositoryName, "svc/api");
  assert.equal(created.repositoryArn, "arn:aws:ecr:us-east-1:123456789012:repository/svc/api");
  assert.equal(created.registryId, "123456789012");
  assert.equal(created.repositoryUri, `${registryHost(server)}/svc/api`);
  assert.equal(created.imageTagMutability, "IMMUTABLE");
  // Berth scans nothing: scanOnPush stays off, and asking for it is refused (ecr-layers.test.ts).
  assert.deepEqual(created.imageScanningConfiguration, { scanOnPush: false });
  assert.deepEqual(created.encryptionConfiguration, { encryptionType: "AES256" });
  const stderr = await fails("RepositoryAlreadyExistsException", "create-repository", "--repository-name", "svc/api");
  assert.match(stderr, /The repository with name 'svc\/api' already exists in the registry with id '123456789012'/);
  await fails("InvalidParameterException", "create-repository", "--repository-name", "Upper/Case");
  const tags = await ok("list-tags-for-resource", "--resource-arn", String(created.repositoryArn));
  assert.deepEqual(tags.tags, [{ Key: "team", Value: "core" }]);
});

test("DescribeRepositories by name, with paging, and RepositoryNotFoundException for a missing one", async () => {
  for (const name of ["page/a", "page/b", "page/c"]) await ok("create-repository", "--repository-name", name);
  const byName = await ok("describe-repositories", "--repository-names", "page/b");
  assert.deepEqual(
    (byName.repositories as { repositoryName: string }[]).map((r) => r.repositoryName),
    ["page/b"],
  );
  const first = await ok("describe-repositories", "--no-paginate", "--max-results", "2");
  assert.equal((first.repositories as unknown[]).length, 2);
  assert.ok(first.nextToken);
  const all = await ok("describe-repositories");
  const names = (all.repositories as { repositoryName: string }[]).map((r) => r.repositoryName);
  for (const name of ["page/a", "page/b", "page/c"]) assert.ok(names.includes(name));
  const stderr = await fails("RepositoryNotFoundException", "describe-repositories", "--repository-names", "page/missing");
  assert.match(stderr, /The repository with name 'page\/missing' does not exist in the registry with id '123456789012'/);
  // The SDK maps the error to its typed exception.
  const client = new ECRClient(sdkConfig(server));
  await assert.rejects(client.send(new DescribeRepositoriesCommand({ repositoryNames: ["page/missing"] })), RepositoryNotFoundException);
});

test("GetAuthorizationToken returns AWS:<password> valid for 12 hours and this server's proxyEndpoint", async () => {
  const data = ((await ok("get-authorization-token")).authorizationData as { authorizationToken: string; expiresAt: string; proxyEndpoint: string }[])[0]!;
  const [user, token] = Buffer.from(data.authorizationToken, "base64").toString("utf8").split(":");
  assert.equal(user, "AWS");
  assert.equal(data.proxyEndpoint, server.endpoint);
  const hours = (Date.parse(data.expiresAt) - Date.now()) / 3_600_000;
  assert.ok(hours > 11.9 && hours <= 12, String(hours));
  assert.equal((await registryFetch(server, token, "/v2/")).status, 200);
});

test("DescribeImages, ListImages and BatchGetImage report what was pushed, with filters", async () => {
  await ok("create-repository", "--repository-name", "images");
  const tagged = image("tagged", 3000);
  const untagged = image("untagged", 500);
  await push("images", "v1", tagged);
  await push("images", "stable", tagged);
  await push("images", undefined, untagged);

  const details = (await ok("describe-images", "--repository-name", "images")).imageDetails as Record<string, unknown>[];
  assert.equal(details.length, 2);
  const taggedDetail = details.find((d) => d.imageDigest === tagged.manifest.digest)!;
  assert.deepEqual(taggedDetail.imageTags, ["stable", "v1"]);
  assert.equal(taggedDetail.imageSizeInBytes, 3000);
  assert.equal(taggedDetail.imageManifestMediaType, OCI_MANIFEST);
  assert.equal(taggedDetail.artifactMediaType, "application/vnd.oci.image.config.v1+json");
  assert.ok(Math.abs(Date.parse(String(taggedDetail.imagePushedAt)) - Date.now()) < 60_000);
  const onlyUntagged = (await ok("describe-images", "--repository-name", "images", "--filter", "tagStatus=UNTAGGED")).imageDetails as Record<string, unknown>[];
  assert.deepEqual(
    onlyUntagged.map((d) => d.imageDigest),
    [untagged.manifest.digest],
  );
  await fails("ImageNotFoundException", "describe-images", "--repository-name", "images", "--image-ids", "imageTag=nope");

  const ids = (await ok("list-images", "--repository-name", "images")).imageIds as { imageDigest: string; imageTag?: string }[];
  assert.equal(ids.length, 3);
  assert.deepEqual(
    ids
      .filter((id) => id.imageDigest === tagged.manifest.digest)
      .map((id) => id.imageTag)
      .sort(),
    ["stable", "v1"],
  );
  const taggedIds = (await ok("list-images", "--repository-name", "images", "--filter", "tagStatus=TAGGED")).imageIds as unknown[];
  assert.equal(taggedIds.length, 2);

  const got = await ok("batch-get-image", "--repository-name", "images", "--image-ids", "imageTag=v1", "imageTag=missing");
  const [first] = got.images as { imageManifest: string; imageManifestMediaType: string; imageId: { imageDigest: string; imageTag: string } }[];
  assert.equal(first!.imageManifest, tagged.manifest.bytes.toString("utf8"));
  assert.equal(first!.imageManifestMediaType, OCI_MANIFEST);
  assert.deepEqual(first!.imageId, { imageDigest: tagged.manifest.digest, imageTag: "v1" });
  assert.deepEqual(got.failures, [{ imageId: { imageTag: "missing" }, failureCode: "ImageNotFound", failureReason: "Requested image not found" }]);
  const refused = await ok(
    "batch-get-image",
    "--repository-name",
    "images",
    "--image-ids",
    "imageTag=v1",
    "--accepted-media-types",
    "application/vnd.docker.distribution.manifest.v2+json",
  );
  assert.equal((refused.images as unknown[]).length, 0);
  assert.equal((refused.failures as { failureCode: string }[])[0]!.failureCode, "ImageNotFound");
});

test("BatchDeleteImage removes a tag, then the image with its last tag, reports ImageNotFound, and releases blobs", async () => {
  await ok("create-repository", "--repository-name", "deletes");
  const built = image("deletes", 2000);
  await push("deletes", "a", built);
  await push("deletes", "b", built);
  const layer = built.layers[0]!.digest;
  assert.ok(blobOnDisk(layer));

  const untag = await ok("batch-delete-image", "--repository-name", "deletes", "--image-ids", "imageTag=a", "imageTag=ghost");
  assert.deepEqual(untag.imageIds, [{ imageDigest: built.manifest.digest, imageTag: "a" }]);
  assert.deepEqual(untag.failures, [{ imageId: { imageTag: "ghost" }, failureCode: "ImageNotFound", failureReason: "Requested image not found" }]);
  assert.equal((await registryFetch(server, password, "/v2/deletes/manifests/b", { method: "HEAD" })).status, 200);
  assert.ok(blobOnDisk(layer), "the image still has a tag");

  await ok("batch-delete-image", "--repository-name", "deletes", "--image-ids", "imageTag=b");
  assert.equal((await registryFetch(server, password, `/v2/deletes/manifests/${built.manifest.digest}`, { method: "HEAD" })).status, 404);
  assert.equal(blobOnDisk(layer), false, "the layer is collected with its last image");
  assert.equal(blobOnDisk(built.config.digest), false);
});

test("a blob shared by two repositories stays until the last one referencing it goes", async () => {
  await ok("create-repository", "--repository-name", "shared/one");
  await ok("create-repository", "--repository-name", "shared/two");
  const built = image("shared", 1500);
  await push("shared/one", "v1", built);
  await push("shared/two", "v1", built);
  const layer = built.layers[0]!.digest;
  await fails("RepositoryNotEmptyException", "delete-repository", "--repository-name", "shared/one");
  const deleted = (await ok("delete-repository", "--repository-name", "shared/one", "--force")).repository as { repositoryName: string };
  assert.equal(deleted.repositoryName, "shared/one");
  assert.ok(blobOnDisk(layer), "still referenced by shared/two");
  assert.equal((await registryFetch(server, password, `/v2/shared/two/blobs/${layer}`, { method: "HEAD" })).status, 200);
  await ok("delete-repository", "--repository-name", "shared/two", "--force");
  assert.equal(blobOnDisk(layer), false);
  await fails("RepositoryNotFoundException", "describe-repositories", "--repository-names", "shared/two");
});

test("an IMMUTABLE repository refuses to move a tag (TAG_INVALID) but accepts the same image again", async () => {
  await ok("create-repository", "--repository-name", "immutable");
  const first = image("first");
  const second = image("second");
  await push("immutable", "v1", first);
  const set = await ok("put-image-tag-mutability", "--repository-name", "immutable", "--image-tag-mutability", "IMMUTABLE");
  assert.equal(set.imageTagMutability, "IMMUTABLE");
  const moved = await pushImage(server, password, "immutable", "v1", second);
  assert.equal(moved.status, 400);
  const body = (await moved.json()) as { errors: { code: string; message: string }[] };
  assert.equal(body.errors[0]!.code, "TAG_INVALID");
  assert.match(
    body.errors[0]!.message,
    /The image tag 'v1' already exists in the 'immutable' repository and cannot be overwritten because the repository is immutable/,
  );
  assert.equal((await pushImage(server, password, "immutable", "v1", first)).status, 201, "re-pushing the same image is fine");
  assert.equal((await pushImage(server, password, "immutable", "v2", second)).status, 201, "a new tag is fine");
  const resolved = await registryFetch(server, password, "/v2/immutable/manifests/v1", { method: "HEAD" });
  assert.equal(resolved.headers.get("docker-content-digest"), first.manifest.digest);
  await ok("put-image-tag-mutability", "--repository-name", "immutable", "--image-tag-mutability", "MUTABLE");
  assert.equal((await pushImage(server, password, "immutable", "v1", second)).status, 201);
});

test("a lifecycle policy expires old images after a push, and their blobs are collected", async () => {
  await ok("create-repository", "--repository-name", "lifecycle");
  const policy = JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: "keep the newest release",
        selection: { tagStatus: "tagged", tagPrefixList: ["release-"], countType: "imageCountMoreThan", countNumber: 1 },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        description: "untagged go after a day",
        selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
        action: { type: "expire" },
      },
    ],
  });
  const put = await ok("put-lifecycle-policy", "--repository-name", "lifecycle", "--lifecycle-policy-text", policy);
  assert.equal(put.lifecyclePolicyText, policy);
  await fails(
    "InvalidParameterException",
    "put-lifecycle-policy",
    "--repository-name",
    "lifecycle",
    "--lifecycle-policy-text",
    JSON.stringify({
      rules: [{ rulePriority: 1, selection: { tagStatus: "tagged", countType: "imageCountMoreThan", countNumber: 1 }, action: { type: "expire" } }],
    }),
  );

  const releases = [image("r1"), image("r2"), image("r3")];
  const other = image("other");
  await push("lifecycle", "dev", other);
  for (const [index, built] of releases.entries()) {
    await push("lifecycle", `release-${index + 1}`, built);
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct push times
  }
  const remaining = ((await ok("describe-images", "--repository-name", "lifecycle")).imageDetails as { imageTags: string[] }[])
    .flatMap((d) => d.imageTags)
    .sort();
  assert.deepEqual(remaining, ["dev", "release-3"]);
  for (const expired of releases.slice(0, 2)) {
    assert.equal(blobOnDisk(expired.layers[0]!.digest), false, "an expired image's layer is collected");
    assert.equal((await registryFetch(server, password, `/v2/lifecycle/manifests/${expired.manifest.digest}`, { method: "HEAD" })).status, 404);
  }
  assert.ok(blobOnDisk(releases[2]!.layers[0]!.digest));

  const got = await ok("get-lifecycle-policy", "--repository-name", "lifecycle");
  assert.equal(got.lifecyclePolicyText, policy);
  assert.ok(got.lastEvaluatedAt, "the policy has been evaluated");
  await ok("delete-lifecycle-policy", "--repository-name", "lifecycle");
  const stderr = await fails("LifecyclePolicyNotFoundException", "get-lifecycle-policy", "--repository-name", "lifecycle");
  assert.match(stderr, /Lifecycle policy does not exist for the repository with name 'lifecycle' in the registry with id '123456789012'/);
  await push("lifecycle", "release-4", image("r4"));
  const after = ((await ok("describe-images", "--repository-name", "lifecycle")).imageDetails as unknown[]).length;
  assert.equal(after, 3, "without a policy nothing expires");
});

test("TagResource, ListTagsForResource and UntagResource on a repository ARN", async () => {
  const arn = String(((await ok("create-repository", "--repository-name", "tagged")).repository as { repositoryArn: string }).repositoryArn);
  await ok("tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=prod", "Key=owner,Value=me");
  assert.deepEqual((await ok("list-tags-for-resource", "--resource-arn", arn)).tags, [
    { Key: "env", Value: "prod" },
    { Key: "owner", Value: "me" },
  ]);
  await ok("untag-resource", "--resource-arn", arn, "--tag-keys", "env");
  assert.deepEqual((await ok("list-tags-for-resource", "--resource-arn", arn)).tags, [{ Key: "owner", Value: "me" }]);
  await fails("RepositoryNotFoundException", "list-tags-for-resource", "--resource-arn", arn.replace("tagged", "untagged"));
  await fails("InvalidTagParameterException", "tag-resource", "--resource-arn", arn, "--tags", "Key=aws:reserved,Value=x");
});
