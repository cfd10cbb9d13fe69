// What makes two CreateService calls "the same request" for its clientToken: ECS answers a retry
// with the service it created, and "Creation of service was not idempotent." when the token comes
// back with other parameters. The request is compared by a digest kept with the service: sha256 of
// its canonical JSON (keys sorted at every depth, absent members left out), less the clientToken,
// with the cluster by ARN (a name and the ARN of the same cluster are the same request).
import { createHash } from "node:crypto";
import type { CreateServiceRequest } from "@aws-sdk/client-ecs";
import { canonicalJson } from "../canonical-json.js";

/** The digest of a checked CreateService request (its known members only), hex. */
export function createServiceDigest(input: CreateServiceRequest, clusterArn: string): string {
  const { clientToken: _token, ...request } = input;
  return createHash("sha256")
    .update(canonicalJson({ ...request, cluster: clusterArn }))
    .digest("hex");
}
