// The paths a task's containers are given (ECS_CONTAINER_METADATA_URI_V4, ECS_CONTAINER_METADATA_URI,
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) and how a request's path is read back (pure).
//
// The ids are not the guard (the endpoint answers only the task a connection comes from, by its
// VPC router and source address): they are unguessable all the same, so a path seen in one task's
// logs says nothing of another task's. Each is an HMAC of the task ARN (and the container's name:
// on Fargate the metadata URI is per container, its bare path answers that container) under a key
// the agent keeps in its state dir, so they are stable across agent restarts with nothing stored
// per task, and the container's environment, fixed when it was created, stays true.
import { createHmac } from "node:crypto";

export const METADATA_HOST = "169.254.170.2";

export interface TaskEndpointIds {
  /** Per container name: the id in its /v4/<id> and /v3/<id> paths. */
  readonly containers: ReadonlyMap<string, string>;
  /** The id in /v2/credentials/<id> (meaningful only for a task with a task role). */
  readonly credentials: string;
}

const mac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest("hex");

/** Fargate's form `<32 hex>-<10 digits>` for metadata ids; a UUID's form for credentials (as the ECS agent's). */
export function endpointIds(key: Buffer, taskArn: string, containerNames: readonly string[]): TaskEndpointIds {
  const containers = new Map<string, string>();
  for (const name of containerNames) {
    const digest = mac(key, `metadata\0${taskArn}\0${name}`);
    containers.set(name, `${digest.slice(0, 32)}-${(parseInt(digest.slice(32, 40), 16) % 10_000_000_000).toString().padStart(10, "0")}`);
  }
  const c = mac(key, `credentials\0${taskArn}`);
  return { containers, credentials: `${c.slice(0, 8)}-${c.slice(8, 12)}-4${c.slice(13, 16)}-a${c.slice(17, 20)}-${c.slice(20, 32)}` };
}

/**
 * The environment a container of the task gets (the credentials URI only with a task role; the
 * API endpoint only where the agent relays the API, api-relay.ts). AWS_ENDPOINT_URL is the SDKs'
 * own variable for every service's endpoint: the task's SDK then calls Berth with no configuration.
 */
export function endpointEnvironment(ids: TaskEndpointIds, containerName: string, hasTaskRole: boolean, relaysApi = false): Record<string, string> {
  const id = ids.containers.get(containerName);
  if (id === undefined) return {};
  return {
    ECS_CONTAINER_METADATA_URI_V4: `http://${METADATA_HOST}/v4/${id}`,
    ECS_CONTAINER_METADATA_URI: `http://${METADATA_HOST}/v3/${id}`,
    ...(hasTaskRole ? { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: `/v2/credentials/${ids.credentials}` } : {}),
    ...(relaysApi ? { AWS_ENDPOINT_URL: `http://${METADATA_HOST}` } : {}),
  };
}

export type MetadataResource = "container" | "task" | "taskWithTags" | "stats" | "taskStats";

export type EndpointRequest =
  | { readonly kind: "metadata"; readonly version: 3 | 4; readonly id: string; readonly resource: MetadataResource }
  | { readonly kind: "credentials"; readonly id: string }
  | { readonly kind: "unknown" };

const ID = /^[0-9a-f-]{1,64}$/;
const RESOURCES: Record<string, MetadataResource> = {
  "": "container",
  "/task": "task",
  "/taskWithTags": "taskWithTags",
  "/stats": "stats",
  "/task/stats": "taskStats",
};

/** The request a path names; anything else (a query string is ignored, as the ECS agent's router does) is unknown. */
export function parseEndpointPath(url: string): EndpointRequest {
  const path = url.split("?")[0]!;
  if (path.length > 256) return { kind: "unknown" };
  const credentials = /^\/v2\/credentials\/([^/]+)$/.exec(path);
  if (credentials) return ID.test(credentials[1]!) ? { kind: "credentials", id: credentials[1]! } : { kind: "unknown" };
  const metadata = /^\/v([34])\/([^/]+)((?:\/[A-Za-z]+)*)\/?$/.exec(path);
  if (!metadata || !ID.test(metadata[2]!)) return { kind: "unknown" };
  const resource = Object.hasOwn(RESOURCES, metadata[3]!) ? RESOURCES[metadata[3]!] : undefined;
  if (!resource) return { kind: "unknown" };
  return { kind: "metadata", version: metadata[1] === "4" ? 4 : 3, id: metadata[2]!, resource };
}
