export { ImageStore, ImagePullError, MANIFEST_ACCEPT } from "./image-store.js";
export type { ImageConfig, ImagePlatform, ImagePullPolicy, LocalImage } from "./image-store.js";
export { normalizeImageReference, registryUsesPlainHttp, InvalidReferenceError } from "./image-reference.js";
export type { ImageReference } from "./image-reference.js";
export { RegistryClient, RegistryError, parseChallenge } from "./registry-client.js";
export type { RegistryCredentials } from "./registry-client.js";
export { buildImage, pushImage, writeOciLayout, OCI_MANIFEST } from "./image-builder.js";
export type { BuildInput, BuiltBlob, BuiltImage } from "./image-builder.js";
export { unpackLayer, DigestMismatchError } from "./layer-unpack.js";
