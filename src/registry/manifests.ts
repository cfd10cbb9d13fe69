// What a pushed manifest says: its media type and the content it references. Accepted: OCI image
// manifests and indexes, Docker schema 2 manifests and manifest lists (the formats ECR stores);
// Docker schema 1 is refused. The bytes themselves are stored and served untouched.
// https://github.com/opencontainers/image-spec/blob/main/manifest.md, .../image-index.md
import { parseDigest } from "./blob-store.js";
import { manifestInvalid } from "./distribution-errors.js";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

const IMAGE_TYPES = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);
const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST]);
// Layers that live elsewhere by design (Windows base layers): never uploaded, so never required.
const FOREIGN_LAYER_TYPES = new Set([
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
]);

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024; // ECR's manifest size limit

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

export interface ParsedManifest {
  readonly mediaType: string;
  readonly kind: "image" | "index";
  /** Config and layers that must be blobs of the repository (image manifests). */
  readonly blobs: readonly Descriptor[];
  /** Manifests that must be images of the repository (indexes). */
  readonly manifests: readonly Descriptor[];
  readonly subject: Descriptor | undefined;
  /** manifest.artifactType, else the config's media type (what ECR reports as artifactMediaType). */
  readonly artifactType: string | null;
  readonly annotations: Record<string, string> | null;
  /** Sum of the layer sizes (image manifests); indexes take their largest child's, computed by the caller. */
  readonly layerBytes: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function descriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) throw manifestInvalid(`${where} is not a descriptor`);
  const { mediaType, digest, size, artifactType, annotations } = value;
  if (typeof mediaType !== "string" || mediaType === "") throw manifestInvalid(`${where}.mediaType is missing`);
  if (typeof digest !== "string" || !parseDigest(digest)) throw manifestInvalid(`${where}.digest is not a valid digest`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw manifestInvalid(`${where}.size is not a non-negative integer`);
  return {
    mediaType,
    digest,
    size,
    ...(typeof artifactType === "string" ? { artifactType } : {}),
    ...(isRecord(annotations) ? { annotations: annotations as Record<string, string> } : {}),
  };
}

/** `contentType` is the request's Content-Type (parameters ignored). */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw manifestInvalid("not valid JSON");
  }
  if (!isRecord(document)) throw manifestInvalid("not a JSON object");
  const declared = typeof document.mediaType === "string" ? document.mediaType : undefined;
  const header = contentType?.split(";")[0]?.trim().toLowerCase();
  const known = (type: string | undefined) => type !== undefined && (IMAGE_TYPES.has(type) || INDEX_TYPES.has(type));
  // OCI manifests may omit mediaType; then the Content-Type, else the shape, tells what it is.
  const mediaType = known(header)
    ? header!
    : known(declared)
      ? declared!
      : Array.isArray(document.manifests)
        ? OCI_INDEX
        : isRecord(document.config)
          ? OCI_MANIFEST
          : undefined;
  if (mediaType === undefined) throw manifestInvalid(`unsupported manifest media type ${JSON.stringify(header ?? declared ?? "")}`);
  if (declared !== undefined && declared !== mediaType) throw manifestInvalid(`mediaType ${declared} does not match Content-Type ${mediaType}`);
  if (document.schemaVersion !== 2) throw manifestInvalid("schemaVersion must be 2");
  const subject = document.subject === undefined ? undefined : descriptor(document.subject, "subject");
  const annotations = isRecord(document.annotations) ? (document.annotations as Record<string, string>) : null;
  const artifactType = typeof document.artifactType === "string" ? document.artifactType : null;

  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(document.manifests)) throw manifestInvalid("an index needs a manifests list");
    const manifests = document.manifests.map((entry, index) => descriptor(entry, `manifests[${index}]`));
    return { mediaType, kind: "index", blobs: [], manifests, subject, artifactType, annotations, layerBytes: 0 };
  }
  const config = descriptor(document.config, "config");
  if (document.layers !== undefined && !Array.isArray(document.layers)) throw manifestInvalid("layers must be a list");
  const layers = ((document.layers as unknown[] | undefined) ?? []).map((entry, index) => descriptor(entry, `layers[${index}]`));
  if (mediaType === DOCKER_MANIFEST && layers.length === 0) throw manifestInvalid("a Docker image manifest needs at least one layer");
  const blobs = [config, ...layers.filter((layer) => !FOREIGN_LAYER_TYPES.has(layer.mediaType))];
  return {
    mediaType,
    kind: "image",
    blobs,
    manifests: [],
    subject,
    artifactType: artifactType ?? config.mediaType,
    annotations,
    layerBytes: layers.reduce((sum, layer) => sum + layer.size, 0),
  };
}
