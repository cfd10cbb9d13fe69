// The small image builder behind `berth image build`: one layer made from Debian's busybox-static
// (the binary and its applet links) and/or host directories, an OCI config and manifest, written as
// an OCI layout and/or pushed to a registry. Reproducible: entries sorted, owners root, mtimes 0,
// so the same input gives the same digests.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, copyFileSync, chmodSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { gzipSync } from "node:zlib";
import { create as createTar } from "tar";
import { runCommand } from "../core/command-runner.js";
import { normalizeImageReference } from "./image-reference.js";
import type { RegistryTrust } from "./registry-trust.js";
import { RegistryClient } from "./registry-client.js";
import type { RegistryCredentials } from "./registry-client.js";

export interface BuildInput {
  /** Include /bin/busybox and its applet links. */
  readonly busybox: boolean;
  /** Host directories copied into the image: source dir → destination path in the image. */
  readonly directories: readonly { readonly source: string; readonly destination: string }[];
  readonly architecture: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  readonly exposedPorts?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly stopSignal?: string;
}

export interface BuiltBlob {
  readonly mediaType: string;
  readonly digest: string;
  readonly bytes: Buffer;
}

export interface BuiltImage {
  readonly manifest: BuiltBlob;
  readonly config: BuiltBlob;
  readonly layers: readonly BuiltBlob[];
}

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const EPOCH = new Date(0);

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const blob = (mediaType: string, bytes: Buffer): BuiltBlob => ({ mediaType, digest: sha256(bytes), bytes });

async function stageBusybox(stage: string): Promise<void> {
  mkdirSync(join(stage, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(stage, "bin", "busybox"));
  chmodSync(join(stage, "bin", "busybox"), 0o755);
  const applets = (await runCommand("/bin/busybox", ["--list-full"])).split("\n").filter(Boolean);
  for (const applet of applets) {
    const target = join(stage, applet);
    if (applet === "bin/busybox" || existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync("/bin/busybox", target);
  }
  for (const dir of ["etc", "tmp", "root", "var/www", "proc", "sys", "dev"]) mkdirSync(join(stage, dir), { recursive: true });
  chmodSync(join(stage, "tmp"), 0o1777);
  if (!existsSync(join(stage, "etc", "passwd")))
    writeFileSync(join(stage, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  if (!existsSync(join(stage, "etc", "group"))) writeFileSync(join(stage, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
}

/** Every path under `root`, parents before children, sorted. */
function walk(root: string, prefix = ""): string[] {
  const entries: string[] = [];
  for (const name of readdirSync(join(root, prefix)).sort()) {
    const path = prefix ? `${prefix}/${name}` : name;
    entries.push(path);
    if (lstatSync(join(root, path)).isDirectory()) entries.push(...walk(root, path));
  }
  return entries;
}

async function tarOf(stage: string): Promise<Buffer> {
  const entries = walk(stage);
  // An empty layer is a tar of just its end marker: two zero blocks.
  if (entries.length === 0) return Buffer.alloc(1024);
  const chunks: Buffer[] = [];
  const stream = createTar({ cwd: stage, portable: true, mtime: EPOCH, noDirRecurse: true, follow: false }, entries);
  for await (const chunk of stream as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function buildImage(input: BuildInput): Promise<BuiltImage> {
  const stage = mkdtempSync(join(tmpdir(), "berth-build-"));
  try {
    if (input.busybox) await stageBusybox(stage);
    for (const { source, destination } of input.directories) {
      const target = join(stage, posix.normalize(destination).replace(/^\/+/, ""));
      mkdirSync(target, { recursive: true });
      cpSync(source, target, { recursive: true, verbatimSymlinks: true });
    }
    const tar = await tarOf(stage);
    const layer = blob(OCI_LAYER_GZIP, gzipSync(tar, { level: 6 }));
    const config = blob(
      OCI_CONFIG,
      Buffer.from(
        JSON.stringify({
          created: EPOCH.toISOString(),
          architecture: input.architecture,
          os: "linux",
          config: {
            Env: input.env?.length ? [...input.env] : ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            ...(input.entrypoint ? { Entrypoint: [...input.entrypoint] } : {}),
            ...(input.cmd ? { Cmd: [...input.cmd] } : {}),
            ...(input.workingDir ? { WorkingDir: input.workingDir } : {}),
            ...(input.user ? { User: input.user } : {}),
            ...(input.exposedPorts?.length
              ? { ExposedPorts: Object.fromEntries(input.exposedPorts.map((port) => [port.includes("/") ? port : `${port}/tcp`, {}])) }
              : {}),
            ...(input.labels ? { Labels: { ...input.labels } } : {}),
            ...(input.stopSignal ? { StopSignal: input.stopSignal } : {}),
          },
          rootfs: { type: "layers", diff_ids: [sha256(tar)] },
          history: [{ created: EPOCH.toISOString(), created_by: "berth image build" }],
        }),
      ),
    );
    const manifest = blob(
      OCI_MANIFEST,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: config.mediaType, digest: config.digest, size: config.bytes.length },
          layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.bytes.length }],
        }),
      ),
    );
    return { manifest, config, layers: [layer] };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Writes the image as an OCI image layout (image-spec "image-layout"), tagged. */
export function writeOciLayout(dir: string, image: BuiltImage, tag: string): void {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  for (const item of [image.manifest, image.config, ...image.layers])
    writeFileSync(join(dir, "blobs", "sha256", item.digest.slice("sha256:".length)), item.bytes);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: image.manifest.mediaType,
          digest: image.manifest.digest,
          size: image.manifest.bytes.length,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
}

/** Pushes blobs (skipping those the registry has) then the manifest; returns the manifest digest. */
export async function pushImage(
  image: { manifest: BuiltBlob; blobs: readonly BuiltBlob[] },
  reference: string,
  options: { insecureRegistries?: readonly string[]; credentials?: RegistryCredentials; trust?: RegistryTrust },
): Promise<string> {
  const ref = normalizeImageReference(reference);
  const client = new RegistryClient(ref.registry, {
    insecureRegistries: options.insecureRegistries ?? [],
    ...(options.trust ? { trust: options.trust } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    scope: `repository:${ref.repository}:pull,push`,
  });
  for (const item of image.blobs) {
    const head = await client.request(`/v2/${ref.repository}/blobs/${item.digest}`, { method: "HEAD" }, [404]);
    if (head.status === 200) continue;
    const started = await client.request(`/v2/${ref.repository}/blobs/uploads/`, { method: "POST" });
    const location = new URL(started.headers.get("location") ?? "", started.url);
    location.searchParams.set("digest", item.digest);
    await client.request(location.toString(), {
      method: "PUT",
      body: item.bytes,
      headers: { "content-type": "application/octet-stream", "content-length": String(item.bytes.length) },
    });
  }
  await client.request(`/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag}`, {
    method: "PUT",
    body: image.manifest.bytes,
    headers: { "content-type": image.manifest.mediaType },
  });
  return image.manifest.digest;
}
