// The host's content-addressed image store, shared by every task on the host:
//   <root>/layers/<alg>/<hex>/         one unpacked layer (an overlay lowerdir), made once
//   <root>/images/<alg>/<hex>.json     a pulled image: manifest digest, config, layer dirs
//   <root>/refs.json                   reference → manifest digest of its last pull
// A pull resolves the reference (tag or digest; an index is narrowed to the task's platform),
// downloads only the layers it lacks, and verifies every digest. Concurrent pulls of the same
// image share one download (single flight per reference and platform, and per layer).
// Everything the registry says is hostile (DESIGN.md rule 9): every digest is checked whole
// (content-digest.ts) before it names a URL or a path, every path is confined under the store's
// root, and manifests, configs, layers and images are bounded in size (layer-limits.ts).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { readdir, readFile, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { confinedJoin } from "../core/confined-path.js";
import { InvalidDigestError, parseContentDigest } from "./content-digest.js";
import { assertImageSize, DEFAULT_LAYER_LIMITS, LayerLimitError } from "./layer-limits.js";
import type { ImageByteBudget, LayerLimits } from "./layer-limits.js";
import { layerDiskBytes, planImageCollection } from "./image-gc.js";
import type { CollectionPlan, StoredImage } from "./image-gc.js";
import { normalizeImageReference } from "./image-reference.js";
import type { ImageReference } from "./image-reference.js";
import { unpackLayer } from "./layer-unpack.js";
import type { RegistryTrustFor } from "./registry-trust.js";
import { RegistryClient, RegistryError } from "./registry-client.js";
import type { RegistryCredentials } from "./registry-client.js";

export type ImagePullPolicy = "default" | "always" | "once" | "prefer-cached";

export interface ImagePlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface ImageConfig {
  readonly env: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  readonly stopSignal?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly exposedPorts?: readonly string[];
}

export interface LocalImage {
  readonly reference: string;
  readonly manifestDigest: string;
  readonly config: ImageConfig;
  readonly platform: ImagePlatform;
  /** Unpacked layers, bottom first. */
  readonly layerDirs: readonly string[];
  /** Compressed size of the layers. */
  readonly sizeBytes: number;
}

/** Layers unpack to a few times their compressed size; over-guessing only costs an early scan. */
const ESTIMATED_EXPANSION = 10;

/** An image pulled or used this recently is never collected (its task may not have recorded it yet). */
const DEFAULT_MIN_IDLE_MS = 10 * 60_000;

/** A pull failure; its message is what follows "CannotPullContainerError: " in a stopped reason. */
export class ImagePullError extends Error {}

/** The registry answered 401/403 somewhere in the error's cause chain. */
function refusedAccess(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof RegistryError && (current.status === 401 || current.status === 403)) return true;
  }
  return false;
}

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface ManifestDocument {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

const isIndex = (mediaType: string, document: ManifestDocument) =>
  mediaType.includes("index") || mediaType.includes("manifest.list") || Array.isArray(document.manifests);

/** The distribution spec's limit on a manifest a registry must accept (4 MiB); an index is one too. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Image configs are kilobytes (a long history makes them hundreds): 8 MiB is far past any real one. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/**
 * overlayfs stacks at most 500 lower layers, and every lowerdir must fit one page of mount options;
 * Docker refuses images deeper than 125 layers ("max depth exceeded"). 128 keeps every real image.
 */
const MAX_LAYERS = 128;

/** A registry digest checked whole, or an ImagePullError naming it (a CannotPullContainerError). */
function checkedDigest(digest: unknown, what: string) {
  try {
    return parseContentDigest(digest, what);
  } catch (error) {
    if (error instanceof InvalidDigestError) throw new ImagePullError(error.message);
    throw error;
  }
}

function verify(bytes: Buffer, digest: string, what: string): void {
  const { algorithm, hex: expected } = checkedDigest(digest, what);
  const actual = createHash(algorithm).update(bytes).digest("hex");
  if (actual !== expected) throw new ImagePullError(`digest mismatch: ${what} ${digest} has content ${algorithm}:${actual}`);
}

/**
 * A registry document as JSON. V8's syntax errors quote the text they choke on, and a pull error
 * becomes a stopped reason: the registry's bytes are not passed on, only that they were not JSON.
 */
function parseJson(bytes: Buffer, what: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new ImagePullError(`${what} is not valid JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ImagePullError(`${what} is not a JSON object`);
  return parsed;
}

/** A response body, refused past `maxBytes` (declared or actually sent) without buffering the rest. */
async function boundedBody(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  const tooLarge = () => new ImagePullError(`${what} is larger than the host's limit of ${maxBytes} bytes`);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface FetchedManifest {
  readonly digest: string;
  readonly document: ManifestDocument;
  readonly mediaType: string;
}

/** The parts of an image config (OCI image-spec "config") a task's container is made from. */
interface ImageConfigDocument {
  os?: string;
  architecture?: string;
  variant?: string;
  config?: {
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
    StopSignal?: string;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, object> | null;
  };
}

/** One manifest (or index) of the repository, bounded in size, its digest verified, parsed. */
async function fetchManifest(client: RegistryClient, ref: ImageReference, reference: string, expectedDigest?: string): Promise<FetchedManifest> {
  // A digest from the reference or an index entry is checked before it goes into the URL.
  if (expectedDigest !== undefined) checkedDigest(expectedDigest, "manifest");
  const response = await client.request(`/v2/${ref.repository}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
  const bytes = await boundedBody(response, MAX_MANIFEST_BYTES, "manifest");
  const digest = expectedDigest ?? response.headers.get("docker-content-digest") ?? `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  verify(bytes, digest, "manifest");
  const document = parseJson(bytes, "manifest") as ManifestDocument;
  return { digest, document, mediaType: document.mediaType ?? response.headers.get("content-type") ?? "" };
}

/**
 * The image manifest the reference names for `platform`: an index is narrowed to its entry for
 * the platform (the wanted variant if listed, else the first entry for the os and architecture).
 */
async function resolveImageManifest(client: RegistryClient, ref: ImageReference, platform: ImagePlatform): Promise<FetchedManifest> {
  let manifest: FetchedManifest;
  try {
    manifest = await fetchManifest(client, ref, ref.digest ?? ref.tag!, ref.digest);
  } catch (error) {
    if (error instanceof ImagePullError) throw error;
    throw new ImagePullError(`failed to resolve ref ${ref.canonical}: ${(error as Error).message}`, { cause: error });
  }
  if (!isIndex(manifest.mediaType, manifest.document)) return manifest;
  const candidates = (manifest.document.manifests ?? []).filter(
    (entry) => entry.platform?.os === platform.os && entry.platform?.architecture === platform.architecture,
  );
  const chosen = candidates.find((entry) => !platform.variant || entry.platform?.variant === platform.variant) ?? candidates[0];
  if (!chosen) throw new ImagePullError(`no matching manifest for ${platform.os}/${platform.architecture} in the manifest list entries of ${ref.canonical}`);
  return fetchManifest(client, ref, chosen.digest, chosen.digest);
}

/** The image config blob, bounded in size, its digest verified, parsed. */
async function fetchImageConfig(client: RegistryClient, ref: ImageReference, digest: string): Promise<ImageConfigDocument> {
  const response = await client.request(`/v2/${ref.repository}/blobs/${digest}`);
  const bytes = await boundedBody(response, MAX_CONFIG_BYTES, "image config");
  verify(bytes, digest, "config");
  return parseJson(bytes, "image config") as ImageConfigDocument;
}

/** The config's run settings in the store's shape; a setting the image leaves out stays out. */
function imageConfigOf(document: ImageConfigDocument): ImageConfig {
  const config = document.config ?? {};
  return {
    env: config.Env ?? [],
    ...(config.Entrypoint ? { entrypoint: config.Entrypoint } : {}),
    ...(config.Cmd ? { cmd: config.Cmd } : {}),
    ...(config.WorkingDir ? { workingDir: config.WorkingDir } : {}),
    ...(config.User ? { user: config.User } : {}),
    ...(config.StopSignal ? { stopSignal: config.StopSignal } : {}),
    ...(config.Labels ? { labels: config.Labels } : {}),
    ...(config.ExposedPorts ? { exposedPorts: Object.keys(config.ExposedPorts) } : {}),
  };
}

export class ImageStore {
  private readonly inflightPulls = new Map<string, Promise<LocalImage>>();
  private readonly inflightLayers = new Map<string, Promise<void>>();
  /** Layer bytes downloaded by this store since it started (the "second pull transfers 0" figure). */
  layerBytesDownloaded = 0;

  private readonly limits: LayerLimits;
  private collecting: Promise<CollectionPlan> | undefined;
  /**
   * The store's size as the last collection measured it, plus a generous guess for every layer
   * downloaded since (ESTIMATED_EXPANSION × its compressed bytes); undefined before the first.
   * While it is under the high-water mark a collection costs nothing (no scan, pulls not held).
   */
  private estimatedBytes: number | undefined;

  constructor(private readonly options: { root: string; insecureRegistries?: readonly string[]; trustFor?: RegistryTrustFor; limits?: Partial<LayerLimits> }) {
    for (const dir of ["layers", "images"]) mkdirSync(join(options.root, dir), { recursive: true });
    this.limits = { ...DEFAULT_LAYER_LIMITS, ...options.limits };
  }

  /** Where a layer is unpacked: <root>/layers/<alg>/<hex>, the digest checked whole first. */
  layerDir(digest: string): string {
    const { algorithm, hex } = checkedDigest(digest, "layer");
    return confinedJoin(join(this.options.root, "layers"), [algorithm, hex], "layer digest");
  }

  /** Where a pulled image's record is: <root>/images/<alg>/<hex>.json. */
  private imagePath(manifestDigest: string): string {
    const { algorithm, hex } = checkedDigest(manifestDigest, "manifest");
    return confinedJoin(join(this.options.root, "images"), [algorithm, `${hex}.json`], "manifest digest");
  }

  private refsPath(): string {
    return join(this.options.root, "refs.json");
  }

  private refs(): Record<string, string> {
    return existsSync(this.refsPath()) ? (JSON.parse(readFileSync(this.refsPath(), "utf8")) as Record<string, string>) : {};
  }

  private remember(reference: string, manifestDigest: string): void {
    const refs = this.refs();
    refs[reference] = manifestDigest;
    this.writeRefs(refs);
  }

  private writeRefs(refs: Record<string, string>): void {
    const temp = `${this.refsPath()}.tmp-${process.pid}`;
    writeFileSync(temp, JSON.stringify(refs));
    renameSync(temp, this.refsPath());
  }

  /** The image by manifest digest, if present. */
  get(manifestDigest: string): LocalImage | undefined {
    let path: string;
    try {
      path = this.imagePath(manifestDigest);
    } catch {
      return undefined;
    }
    if (!existsSync(path)) return undefined;
    const image = JSON.parse(readFileSync(path, "utf8")) as LocalImage;
    return image.layerDirs.every((dir) => existsSync(dir)) ? image : undefined;
  }

  /** The image a reference was last pulled as, if it is still whole. */
  cached(reference: string): LocalImage | undefined {
    const canonical = normalizeImageReference(reference).canonical;
    const digest = this.refs()[canonical];
    return digest ? this.get(digest) : undefined;
  }

  async pull(
    reference: string,
    options: { platform: ImagePlatform; policy: ImagePullPolicy; credentials?: RegistryCredentials; signal?: AbortSignal },
  ): Promise<LocalImage> {
    // A collection in progress may be removing the very layers a pull would find present.
    while (this.collecting) await this.collecting;
    const image = await this.pullOnce(reference, options);
    // The record's mtime is the image's last use, for the collector's LRU.
    const now = new Date();
    await utimes(this.imagePath(image.manifestDigest), now, now).catch(() => undefined);
    return image;
  }

  /**
   * Shrinks the store below `lowWaterBytes` once it is over `highWaterBytes` (image-gc.ts),
   * removing only images no task uses (`inUse`: manifest digests) and not used within
   * `minIdleMs`. Skipped (undefined) while a pull is in flight; pulls wait for it to finish.
   */
  async collectGarbage(options: {
    inUse: ReadonlySet<string>;
    highWaterBytes: number;
    lowWaterBytes?: number;
    minIdleMs?: number;
  }): Promise<CollectionPlan | undefined> {
    if (this.collecting || this.inflightPulls.size > 0) return undefined;
    if (this.estimatedBytes !== undefined && this.estimatedBytes <= options.highWaterBytes) {
      return { images: [], layerDirs: [], bytesBefore: this.estimatedBytes, bytesAfter: this.estimatedBytes };
    }
    const collecting = this.collect(options).then((plan) => {
      this.estimatedBytes = plan.bytesAfter;
      return plan;
    });
    this.collecting = collecting;
    try {
      return await collecting;
    } finally {
      this.collecting = undefined;
    }
  }

  private async collect(options: { inUse: ReadonlySet<string>; highWaterBytes: number; lowWaterBytes?: number; minIdleMs?: number }): Promise<CollectionPlan> {
    const images: StoredImage[] = [];
    const imagesRoot = join(this.options.root, "images");
    for (const algorithm of await readdir(imagesRoot)) {
      for (const file of await readdir(join(imagesRoot, algorithm))) {
        if (!file.endsWith(".json")) continue;
        const path = join(imagesRoot, algorithm, file);
        const [record, stats] = await Promise.all([readFile(path, "utf8").then((text) => JSON.parse(text) as LocalImage), stat(path)]).catch(() => [
          undefined,
          undefined,
        ]);
        // A record that cannot be read is of no use: its layers become orphans.
        if (!record || !stats) await rm(path, { force: true });
        else images.push({ manifestDigest: record.manifestDigest, layerDirs: record.layerDirs, lastUsedMs: stats.mtimeMs });
      }
    }
    const layerBytes = new Map<string, number>();
    const layersRoot = join(this.options.root, "layers");
    for (const algorithm of await readdir(layersRoot)) {
      for (const entry of await readdir(join(layersRoot, algorithm), { withFileTypes: true })) {
        const dir = join(layersRoot, algorithm, entry.name);
        // An unpack's temp dir with no pull in flight was left by a crash.
        if (entry.name.includes(".partial-")) await rm(dir, { recursive: true, force: true });
        else if (entry.isDirectory()) layerBytes.set(dir, await layerDiskBytes(dir));
      }
    }
    const plan = planImageCollection({
      images,
      layerBytes,
      inUse: options.inUse,
      nowMs: Date.now(),
      minIdleMs: options.minIdleMs ?? DEFAULT_MIN_IDLE_MS,
      highWaterBytes: options.highWaterBytes,
      lowWaterBytes: options.lowWaterBytes ?? Math.floor(options.highWaterBytes * 0.8),
    });
    if (plan.images.length === 0 && plan.layerDirs.length === 0) return plan;
    // Records first: an image whose record is gone is never handed out with missing layers.
    const removed = new Set(plan.images);
    const refs = Object.fromEntries(Object.entries(this.refs()).filter(([, digest]) => !removed.has(digest)));
    this.writeRefs(refs);
    for (const digest of plan.images) await rm(this.imagePath(digest), { force: true });
    for (const dir of plan.layerDirs) {
      await rm(dir, { recursive: true, force: true });
      await rm(`${dir}.bytes`, { force: true });
    }
    return plan;
  }

  private async pullOnce(
    reference: string,
    options: { platform: ImagePlatform; policy: ImagePullPolicy; credentials?: RegistryCredentials; signal?: AbortSignal },
  ): Promise<LocalImage> {
    let ref: ImageReference;
    try {
      ref = normalizeImageReference(reference);
    } catch (error) {
      throw new ImagePullError((error as Error).message);
    }
    const cached = this.cached(ref.canonical);
    if (cached && (options.policy === "prefer-cached" || options.policy === "once")) return cached;
    const key = `${ref.canonical}|${options.platform.os}/${options.platform.architecture}`;
    let pulling = this.inflightPulls.get(key);
    if (!pulling) {
      pulling = this.pullFromRegistry(ref, options).finally(() => this.inflightPulls.delete(key));
      this.inflightPulls.set(key, pulling);
    }
    try {
      return await pulling;
    } catch (error) {
      // ECS's "default": a failed pull falls back to the cached image when there is one — but not
      // when the registry refused the credentials: a task not allowed to pull an image must not
      // run it because another task brought it to this host (Fargate never shares a cache).
      if (options.policy === "default" && cached && !refusedAccess(error)) return cached;
      throw error instanceof ImagePullError ? error : new ImagePullError((error as Error).message);
    }
  }

  private async pullFromRegistry(ref: ImageReference, options: { platform: ImagePlatform; credentials?: RegistryCredentials }): Promise<LocalImage> {
    const client = this.registryClientFor(ref, options.credentials);
    const manifest = await resolveImageManifest(client, ref, options.platform);
    const { config: configDescriptor, layers, layerDirs } = this.checkedImageManifest(ref, manifest);
    const configDocument = await fetchImageConfig(client, ref, configDescriptor.digest);
    // The layers this pull unpacks count against one image limit (layers already here do not).
    const imageBytes = { uncompressedBytes: 0 };
    for (const [index, layer] of layers.entries()) await this.ensureLayer(client, ref, layer, layerDirs[index]!, imageBytes);
    const image: LocalImage = {
      reference: ref.canonical,
      manifestDigest: manifest.digest,
      config: imageConfigOf(configDocument),
      platform: {
        os: configDocument.os ?? options.platform.os,
        architecture: configDocument.architecture ?? options.platform.architecture,
        ...(configDocument.variant ? { variant: configDocument.variant } : {}),
      },
      layerDirs,
      sizeBytes: layers.reduce((sum, layer) => sum + layer.size, 0),
    };
    this.saveImage(image);
    return image;
  }

  /** A client scoped to pulling this one repository, with the registry's trust and the task's credentials. */
  private registryClientFor(ref: ImageReference, credentials: RegistryCredentials | undefined): RegistryClient {
    const trust = this.options.trustFor?.(ref.registry);
    return new RegistryClient(ref.registry, {
      insecureRegistries: this.options.insecureRegistries ?? [],
      ...(trust ? { trust } : {}),
      ...(credentials ? { credentials } : {}),
      scope: `repository:${ref.repository}:pull`,
    });
  }

  /**
   * The image manifest's config and layers, once every digest and size in it is checked: nothing
   * is fetched or written for a manifest the host would refuse anyway.
   */
  private checkedImageManifest(ref: ImageReference, manifest: FetchedManifest): { config: Descriptor; layers: Descriptor[]; layerDirs: string[] } {
    const { document } = manifest;
    if (!document.config || !Array.isArray(document.layers))
      throw new ImagePullError(`${ref.canonical}: unsupported manifest ${JSON.stringify(String(manifest.mediaType).slice(0, 100))}`);
    if (document.layers.length > MAX_LAYERS)
      throw new ImagePullError(`${ref.canonical} has ${document.layers.length} layers, more than the host's limit of ${MAX_LAYERS}`);
    checkedDigest(document.config.digest, "config");
    const layerDirs = document.layers.map((layer) => this.layerDir(layer.digest));
    try {
      assertImageSize(
        document.layers.map((layer) => layer.size),
        this.limits,
      );
    } catch (error) {
      if (error instanceof LayerLimitError) throw new ImagePullError(`${ref.canonical}: ${error.message}`);
      throw error;
    }
    return { config: document.config, layers: document.layers, layerDirs };
  }

  /**
   * Makes sure one layer is unpacked at `dir`, downloading it unless it is already there. Pulls
   * of different images that share the layer share its one download (single flight per digest).
   */
  private async ensureLayer(client: RegistryClient, ref: ImageReference, layer: Descriptor, dir: string, imageBytes: ImageByteBudget): Promise<void> {
    if (existsSync(dir)) return;
    let unpacking = this.inflightLayers.get(layer.digest);
    if (!unpacking) {
      unpacking = this.downloadLayer(client, ref, layer, dir, imageBytes).finally(() => this.inflightLayers.delete(layer.digest));
      this.inflightLayers.set(layer.digest, unpacking);
    }
    try {
      await unpacking;
    } catch (error) {
      throw new ImagePullError(`failed to copy layer ${layer.digest} of ${ref.canonical}: ${(error as Error).message}`);
    }
  }

  /** Downloads and unpacks one layer, and counts it in the store's downloaded bytes and size estimate. */
  private async downloadLayer(client: RegistryClient, ref: ImageReference, layer: Descriptor, dir: string, imageBytes: ImageByteBudget): Promise<void> {
    const body = await client.download(`/v2/${ref.repository}/blobs/${layer.digest}`);
    mkdirSync(join(dir, ".."), { recursive: true });
    // This pull's layers unpack one after another: the growth of its count is this layer's.
    const uncompressedBefore = imageBytes.uncompressedBytes;
    const compressedBytes = await unpackLayer(body, {
      digest: layer.digest,
      mediaType: layer.mediaType,
      targetDir: dir,
      declaredBytes: layer.size,
      limits: this.limits,
      image: imageBytes,
    });
    this.layerBytesDownloaded += compressedBytes;
    // What the layer really put on disk when that is more than the guess: zeros compress
    // 1000:1, and a hostile image must not fill the disk while the estimate stays low.
    const unpackedBytes = imageBytes.uncompressedBytes - uncompressedBefore;
    if (this.estimatedBytes !== undefined) this.estimatedBytes += Math.max(compressedBytes * ESTIMATED_EXPANSION, unpackedBytes);
  }

  /** Writes the image's record (atomically: a reader never sees half of it) and points its reference at it. */
  private saveImage(image: LocalImage): void {
    const imagePath = this.imagePath(image.manifestDigest);
    mkdirSync(join(imagePath, ".."), { recursive: true });
    writeFileSync(`${imagePath}.tmp`, JSON.stringify(image));
    renameSync(`${imagePath}.tmp`, imagePath);
    this.remember(image.reference, image.manifestDigest);
  }
}
