import { test } from "node:test";
import assert from "node:assert/strict";
import { DistributionError } from "./distribution-errors.js";
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, parseManifest } from "./manifests.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const descriptor = (mediaType: string, c: string, size: number) => ({ mediaType, digest: digest(c), size });
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

test("an OCI image manifest references its config and layers; foreign layers are not required", () => {
  const parsed = parseManifest(
    bytes({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor("application/vnd.oci.image.config.v1+json", "a", 10),
      layers: [
        descriptor("application/vnd.oci.image.layer.v1.tar+gzip", "b", 100),
        descriptor("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "c", 50),
      ],
    }),
    `${OCI_MANIFEST}; charset=utf-8`,
  );
  assert.equal(parsed.kind, "image");
  assert.deepEqual(
    parsed.blobs.map((blob) => blob.digest),
    [digest("a"), digest("b")],
  );
  assert.equal(parsed.layerBytes, 150);
  assert.equal(parsed.artifactType, "application/vnd.oci.image.config.v1+json");
});

test("indexes and Docker lists reference manifests; a missing mediaType is taken from Content-Type or the shape", () => {
  const list = parseManifest(
    bytes({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [descriptor(DOCKER_MANIFEST, "d", 5)] }),
    DOCKER_MANIFEST_LIST,
  );
  assert.equal(list.kind, "index");
  assert.deepEqual(
    list.manifests.map((m) => m.digest),
    [digest("d")],
  );
  const bare = parseManifest(bytes({ schemaVersion: 2, manifests: [descriptor(OCI_MANIFEST, "e", 5)] }), "application/octet-stream");
  assert.equal(bare.mediaType, OCI_INDEX);
});

test("refuses what ECR would not store", () => {
  const invalid = (body: unknown, type: string | undefined) =>
    assert.throws(
      () => parseManifest(Buffer.isBuffer(body) ? body : bytes(body), type),
      (error) => error instanceof DistributionError && error.code === "MANIFEST_INVALID",
    );
  invalid(Buffer.from("{"), OCI_MANIFEST);
  invalid({ schemaVersion: 1, name: "x", fsLayers: [] }, "application/vnd.docker.distribution.manifest.v1+prettyjws");
  invalid({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }, OCI_MANIFEST);
  invalid({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: descriptor("x", "a", 1), layers: [] }, DOCKER_MANIFEST);
  invalid({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: "x", digest: "sha256:short", size: 1 } }, OCI_MANIFEST);
  invalid({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor("x", "a", -1) }, OCI_MANIFEST);
});
