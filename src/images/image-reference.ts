// Registry endpoints for the image client; reference parsing itself lives in core (shared with the
// control plane).
export { normalizeImageReference, InvalidReferenceError } from "../core/image-reference.js";
export type { ImageReference } from "../core/image-reference.js";

/** Where to send requests for a registry: Docker Hub's API lives on registry-1.docker.io. */
export function registryEndpointHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

/** Plain HTTP only for loopback or registries the operator named as insecure. */
export function registryUsesPlainHttp(registry: string, insecureRegistries: readonly string[]): boolean {
  const host = registry.startsWith("[") ? registry.slice(0, registry.indexOf("]") + 1) : registry.split(":")[0]!;
  return host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "[::1]" || insecureRegistries.includes(registry);
}
