// Image references as Docker and ECS read them: `nginx` is docker.io/library/nginx:latest, a
// first path component with a dot, a colon or "localhost" is a registry host, `@sha256:…` pins a
// digest (distribution/reference grammar, simplified to what task definitions use). In core because
// both the agent (pulls) and the control plane (which images name its own registry) read them.

export interface ImageReference {
  /** Registry host[:port] as written (docker.io for Docker Hub). */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
  /** registry/repository[:tag][@digest], with the defaults filled in. */
  readonly canonical: string;
}

export class InvalidReferenceError extends Error {}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function normalizeImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(`invalid reference format: ${reference}`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(`invalid reference format: ${reference}`);
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  let registry = "docker.io";
  let repository = rest;
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    repository = rest.slice(slash + 1);
  }
  if (registry === "docker.io" || registry === "index.docker.io") {
    registry = "docker.io";
    if (!repository.includes("/")) repository = `library/${repository}`;
  }
  if (!REPOSITORY.test(repository)) throw new InvalidReferenceError(`invalid reference format: repository name must be lowercase: ${reference}`);
  if (!tag && !digest) tag = "latest";
  const canonical = `${registry}/${repository}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), canonical };
}
