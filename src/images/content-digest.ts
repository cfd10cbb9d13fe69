// Digests that come from registries (manifest and index entries, Docker-Content-Digest headers,
// image references) name blobs and become host paths in the image store. Only the two algorithms
// the OCI image spec registers, in their canonical lowercase hex, compared whole: anything else
// (`sha256:../../..`, `sha256:<hex>:../../x`, upper-case hex, a trailing newline) is refused before
// any path or URL is built from it.

const CONTENT_DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export interface ContentDigest {
  readonly algorithm: "sha256" | "sha512";
  readonly hex: string;
}

/** A digest the registry sent that is not one: the pull is refused naming it. */
export class InvalidDigestError extends Error {}

export function isContentDigest(digest: unknown): digest is string {
  return typeof digest === "string" && CONTENT_DIGEST.test(digest);
}

/** The digest split in two, or InvalidDigestError naming `what` ("layer", "config", "manifest"). */
export function parseContentDigest(digest: unknown, what: string): ContentDigest {
  if (!isContentDigest(digest)) {
    const shown = typeof digest === "string" ? JSON.stringify(digest.length > 200 ? `${digest.slice(0, 200)}…` : digest) : String(digest);
    throw new InvalidDigestError(`invalid ${what} digest ${shown}: not sha256:<64 hex> or sha512:<128 hex>`);
  }
  const [algorithm, hex] = digest.split(":") as ["sha256" | "sha512", string];
  return { algorithm, hex };
}
