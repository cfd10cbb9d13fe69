// What makes two CreateService calls "the same request" for its clientToken: ECS answers a retry
// with the service it created, and "Creation of service was not idempotent." when the token comes
// back with other parameters. The request is compared by a digest kept with the service: sha256 of
// its canonical JSON (keys sorted at every depth, absent members left out), less the clientToken,
// with the cluster by ARN (a name and the ARN of the same cluster are the same request).
import { createHash } from "node:crypto";
import type { CreateServiceRequest } from "@aws-sdk/client-ecs";

/** JSON with object keys sorted at every depth; undefined members are dropped as JSON.stringify drops them. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) =>
    member !== null && typeof member === "object" && !Array.isArray(member)
      ? Object.fromEntries(Object.entries(member as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : member,
  );
}

/** The digest of a checked CreateService request (its known members only), hex. */
export function createServiceDigest(input: CreateServiceRequest, clusterArn: string): string {
  const { clientToken: _token, ...request } = input;
  return createHash("sha256")
    .update(canonicalJson({ ...request, cluster: clusterArn }))
    .digest("hex");
}
