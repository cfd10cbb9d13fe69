// What every ELBv2 handler shares: its dependencies, ids and ARNs, name rules, Marker/PageSize
// pages and the Tags of create calls.
import { randomBytes } from "node:crypto";
import type { Tag } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Clock } from "../../core/clock.js";
import type { Store } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { duplicateTagKeys, tooManyTags, validationError } from "./elbv2-errors.js";

export interface Elbv2ServiceOptions {
  readonly store: Pick<Store, "elbv2" | "vpcs" | "securityGroups" | "certificates" | "exclusively" | "networkInterfaces">;
  readonly clock: Clock;
  /** Told after every change the data plane must follow (its nodes are recompiled and re-sent). */
  readonly onChange?: () => void;
  /**
   * Internet-facing load balancers published on hosts' public addresses: per ARN, each published
   * node's subnet and its host's address (src/control/load-balancer-publishing.ts). Absent: none is.
   */
  readonly publishedAddresses?: () => Promise<ReadonlyMap<string, readonly { readonly subnetId: string; readonly ipAddress: string }[]>>;
}

/** ELBv2's resource ids: 16 lower-case hex digits. */
export const hexId = () => randomBytes(8).toString("hex");

export const elbArn = (context: RequestContext, resource: string) =>
  `arn:${context.partition}:elasticloadbalancing:${context.region}:${context.accountId}:${resource}`;

/**
 * Load balancer and target group names (CreateLoadBalancer, CreateTargetGroup: "a maximum of 32
 * alphanumeric characters or hyphens, and must not begin or end with a hyphen"; a load balancer's
 * must not begin with "internal-"). They become part of ARNs, DNS names and the proxy's config.
 */
export function checkName(kind: "Load balancer" | "Target group", name: string): void {
  if (name.length > 32) throw validationError(`${kind} name '${name}' cannot be longer than '32' characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name)) throw validationError(`${kind} name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`);
  if (name.startsWith("-") || name.endsWith("-")) throw validationError(`${kind} name '${name}' cannot begin or end with '-'`);
  if (kind === "Load balancer" && name.toLowerCase().startsWith("internal-"))
    throw validationError(`Load balancer name '${name}' cannot begin with 'internal-'`);
}

const ARN_RESOURCE = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:[a-z-]+\/[A-Za-z0-9/-]+$/;

/** An ARN argument: ELBv2 answers ValidationError "'x' is not a valid … ARN" for malformed ones. */
export function checkArn(kind: "load balancer" | "target group" | "listener" | "listener rule", arn: string): void {
  const prefix = { "load balancer": "loadbalancer/", "target group": "targetgroup/", listener: "listener/", "listener rule": "listener-rule/" }[kind];
  if (arn.length > 256 || !ARN_RESOURCE.test(arn) || !arn.split(":")[5]?.startsWith(prefix)) throw validationError(`'${arn}' is not a valid ${kind} ARN`);
}

/** Marker/PageSize paging (PageSize 1–400): Marker is the index of the next item, opaque to callers. */
export function page<T>(items: readonly T[], marker: string | undefined, pageSize: number | undefined): { items: T[]; nextMarker?: string } {
  if (pageSize !== undefined && (pageSize < 1 || pageSize > 400)) throw validationError("Page size must be between 1 and 400");
  let start = 0;
  if (marker !== undefined) {
    const decoded = Buffer.from(marker, "base64url").toString("utf8");
    if (!/^i[0-9]{1,9}$/.test(decoded)) throw validationError("The marker is not valid");
    start = Number(decoded.slice(1));
  }
  const size = pageSize ?? 400;
  const slice = items.slice(start, start + size);
  return start + size < items.length ? { items: slice, nextMarker: Buffer.from(`i${start + size}`).toString("base64url") } : { items: slice };
}

/** Tags given to a create or AddTags call: keys 1–128, values 0–256, no "aws:" prefix, no duplicates, 50 at most with `existing`. */
export function checkTags(tags: readonly Tag[] | undefined, existing: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const result = new Map<string, string>();
  for (const tag of tags ?? []) {
    const key = tag.Key ?? "";
    if (key.length < 1 || key.length > 128) throw validationError("Tag key must be between 1 and 128 characters");
    if ((tag.Value ?? "").length > 256) throw validationError("Tag value must be at most 256 characters");
    if (!/^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u.test(key) || !/^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u.test(tag.Value ?? "")) {
      throw validationError(`Tag '${key}' contains characters that are not allowed`);
    }
    if (key.toLowerCase().startsWith("aws:")) throw validationError("Tag keys starting with 'aws:' are reserved for internal use");
    if (result.has(key)) throw duplicateTagKeys(key);
    result.set(key, tag.Value ?? "");
  }
  const keys = new Set([...existing.keys(), ...result.keys()]);
  if (keys.size > 50) throw tooManyTags();
  return result;
}

/** A boolean attribute value as ELBv2 takes it. */
export const isBooleanText = (value: string) => value === "true" || value === "false";

/** An integer attribute value within [min, max]. */
export const isIntegerIn = (value: string, min: number, max: number) => /^[0-9]{1,7}$/.test(value) && Number(value) >= min && Number(value) <= max;
