// Test images without Docker: OCI image layouts made from files (a gzip tar layer + config +
// manifest, optionally a multi-arch index), written the way `skopeo copy oci:DIR:TAG` reads them;
// plus helpers to log in to the built-in registry and call it with raw HTTP.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { create as createTar } from "tar";
import type { TestServer } from "../support/server.js";
import { awsCli } from "../support/server.js";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

export const sha256 = (bytes: Buffer | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

export interface Blob {
  readonly digest: string;
  readonly bytes: Buffer;
}

export interface BuiltImage {
  readonly manifest: Blob;
  readonly config: Blob;
  readonly layers: readonly Blob[];
  readonly platform: { os: string; architecture: string };
}

const blob = (bytes: Buffer): Blob => ({ digest: sha256(bytes), bytes });

/** A reproducible gzip tar of `files` (path → content). */
export function gzipLayer(files: Record<string, string | Buffer>, level = 6): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "berth-layer-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const tarPath = join(dir, "..", `${dir.split("/").pop()}.tar`);
  createTar({ sync: true, file: tarPath, cwd: dir, portable: true, mtime: new Date(0) }, Object.keys(files).sort());
  const tar = readFileSync(tarPath);
  rmSync(tarPath);
  rmSync(dir, { recursive: true });
  return gzipSync(tar, { level });
}

/** The digest of a layer's uncompressed tar (what a config's diff_ids list); raw test bytes hash as they are. */
function diffId(bytes: Buffer): string {
  try {
    return sha256(gunzipSync(bytes));
  } catch {
    return sha256(bytes);
  }
}

export function buildImage(layers: readonly Buffer[], platform = { os: "linux", architecture: "amd64" }, label = "berth-test"): BuiltImage {
  const layerBlobs = layers.map(blob);
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        config: { Cmd: ["/bin/sh"], Labels: { label } },
        rootfs: { type: "layers", diff_ids: layerBlobs.map((layer) => diffId(layer.bytes)) },
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config.digest, size: config.bytes.length },
        layers: layerBlobs.map((layer) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer.digest, size: layer.bytes.length })),
      }),
    ),
  );
  return { manifest, config, layers: layerBlobs, platform };
}

export function buildIndex(images: readonly BuiltImage[]): Blob {
  return blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: images.map((image) => ({
          mediaType: OCI_MANIFEST,
          digest: image.manifest.digest,
          size: image.manifest.bytes.length,
          platform: image.platform,
        })),
      }),
    ),
  );
}

/** Writes an OCI layout holding `images` under `tag` (an index over them when there are several). */
export function writeOciLayout(dir: string, tag: string, images: readonly BuiltImage[]): { topDigest: string; index?: Blob } {
  const put = (item: Blob) => {
    const path = join(dir, "blobs", "sha256", item.digest.slice("sha256:".length));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, item.bytes);
  };
  for (const image of images) [image.manifest, image.config, ...image.layers].forEach(put);
  const index = images.length > 1 ? buildIndex(images) : undefined;
  if (index) put(index);
  const top = index
    ? { mediaType: OCI_INDEX, digest: index.digest, size: index.bytes.length }
    : { mediaType: OCI_MANIFEST, digest: images[0]!.manifest.digest, size: images[0]!.manifest.bytes.length };
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": tag } }] }),
  );
  return { topDigest: top.digest, ...(index ? { index } : {}) };
}

/** host:port of the server (the registry shares its listener). */
export const registryHost = (server: TestServer) => server.endpoint.replace(/^https?:\/\//, "");

/** The password `aws ecr get-login-password` prints. */
export async function loginPassword(server: TestServer): Promise<string> {
  const result = await awsCli(server, ["ecr", "get-login-password"]);
  if (result.code !== 0) throw new Error(`get-login-password failed: ${result.stderr}`);
  return result.stdout.trim();
}

export const basicAuth = (password: string) => `Basic ${Buffer.from(`AWS:${password}`).toString("base64")}`;

/** fetch against the server's /v2/ API with the ECR password. */
export function registryFetch(server: TestServer, password: string | undefined, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (password !== undefined) headers.set("authorization", basicAuth(password));
  return fetch(`${server.endpoint}${path}`, { ...init, headers, redirect: "manual" });
}

/** Pushes an image with raw HTTP: monolithic blob uploads (POST ?digest=), then the manifest. */
export async function pushImage(server: TestServer, password: string, repository: string, tag: string | undefined, image: BuiltImage): Promise<Response> {
  for (const item of [image.config, ...image.layers]) {
    const response = await registryFetch(server, password, `/v2/${repository}/blobs/uploads/?digest=${item.digest}`, { method: "POST", body: item.bytes });
    if (response.status !== 201) throw new Error(`blob upload failed: ${response.status} ${await response.text()}`);
  }
  return registryFetch(server, password, `/v2/${repository}/manifests/${tag ?? image.manifest.digest}`, {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: image.manifest.bytes,
  });
}
