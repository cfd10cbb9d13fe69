// Load balancer and target group attributes: AWS's defaults for a new resource and each key's
// accepted values (Elastic Load Balancing API Reference, LoadBalancerAttribute and
// TargetGroupAttribute). A key the resource's type does not have is refused, as AWS refuses it.
import type { LoadBalancerAttribute, TargetGroupAttribute } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Elbv2Attributes } from "../../store/index.js";
import { validationError } from "./elbv2-errors.js";
import { isBooleanText, isIntegerIn } from "./elbv2-shapes.js";

type Check = (value: string) => boolean;
const bool: Check = isBooleanText;
const oneOf =
  (...values: string[]): Check =>
  (value) =>
    values.includes(value);
const range =
  (min: number, max: number): Check =>
  (value) =>
    isIntegerIn(value, min, max);
/** An S3 bucket name or prefix: kept for later; bounded and printable, nothing more is done with it yet. */
const s3Text: Check = (value) => value.length <= 1024 && /^[\x21-\x7e]*$/.test(value);

interface AttributeSpec {
  readonly fallback: string;
  readonly check: Check;
}

const ACCESS_LOGS: Record<string, AttributeSpec> = {
  "access_logs.s3.enabled": { fallback: "false", check: bool },
  "access_logs.s3.bucket": { fallback: "", check: s3Text },
  "access_logs.s3.prefix": { fallback: "", check: s3Text },
  "deletion_protection.enabled": { fallback: "false", check: bool },
};

const APPLICATION: Record<string, AttributeSpec> = {
  ...ACCESS_LOGS,
  "idle_timeout.timeout_seconds": { fallback: "60", check: range(1, 4000) },
  "routing.http2.enabled": { fallback: "true", check: bool },
  "routing.http.drop_invalid_header_fields.enabled": { fallback: "false", check: bool },
  "routing.http.desync_mitigation_mode": { fallback: "defensive", check: oneOf("monitor", "defensive", "strictest") },
  "routing.http.preserve_host_header.enabled": { fallback: "false", check: bool },
  "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": { fallback: "false", check: bool },
  "routing.http.xff_client_port.enabled": { fallback: "false", check: bool },
  "routing.http.xff_header_processing.mode": { fallback: "append", check: oneOf("append", "preserve", "remove") },
  "client_keep_alive.seconds": { fallback: "3600", check: range(60, 604800) },
  "load_balancing.cross_zone.enabled": { fallback: "true", check: bool },
  "waf.fail_open.enabled": { fallback: "false", check: bool },
};

const NETWORK: Record<string, AttributeSpec> = {
  ...ACCESS_LOGS,
  "load_balancing.cross_zone.enabled": { fallback: "false", check: bool },
  "dns_record.client_routing_policy": {
    fallback: "any_availability_zone",
    check: oneOf("availability_zone_affinity", "partial_availability_zone_affinity", "any_availability_zone"),
  },
};

const TARGET_GROUP_COMMON: Record<string, AttributeSpec> = {
  "deregistration_delay.timeout_seconds": { fallback: "300", check: range(0, 3600) },
  "stickiness.enabled": { fallback: "false", check: bool },
  "load_balancing.cross_zone.enabled": { fallback: "use_load_balancer_configuration", check: oneOf("true", "false", "use_load_balancer_configuration") },
};

const HTTP_TARGET_GROUP: Record<string, AttributeSpec> = {
  ...TARGET_GROUP_COMMON,
  "stickiness.type": { fallback: "lb_cookie", check: oneOf("lb_cookie", "app_cookie") },
  "stickiness.lb_cookie.duration_seconds": { fallback: "86400", check: range(1, 604800) },
  // AWS: up to 256 token characters, and not AWSALB, AWSALBAPP or AWSALBTG (its own cookies) at the start.
  "stickiness.app_cookie.cookie_name": {
    fallback: "",
    check: (value) => value.length <= 256 && /^[A-Za-z0-9!#$%&'*+.^_`|~-]*$/.test(value) && !value.toUpperCase().startsWith("AWSALB"),
  },
  "stickiness.app_cookie.duration_seconds": { fallback: "86400", check: range(1, 604800) },
  "slow_start.duration_seconds": { fallback: "0", check: (value) => value === "0" || isIntegerIn(value, 30, 900) },
  "load_balancing.algorithm.type": { fallback: "round_robin", check: oneOf("round_robin", "least_outstanding_requests", "weighted_random") },
  "load_balancing.algorithm.anomaly_mitigation": { fallback: "off", check: oneOf("on", "off") },
};

const TCP_TARGET_GROUP: Record<string, AttributeSpec> = {
  ...TARGET_GROUP_COMMON,
  "stickiness.type": { fallback: "source_ip", check: oneOf("source_ip") },
  "deregistration_delay.connection_termination.enabled": { fallback: "false", check: bool },
  "preserve_client_ip.enabled": { fallback: "false", check: bool },
  "proxy_protocol_v2.enabled": { fallback: "false", check: bool },
};

const specsFor = (kind: "application" | "network" | "http-target-group" | "tcp-target-group") =>
  ({ application: APPLICATION, network: NETWORK, "http-target-group": HTTP_TARGET_GROUP, "tcp-target-group": TCP_TARGET_GROUP })[kind];

export type AttributeKind = Parameters<typeof specsFor>[0];

export const defaultAttributes = (kind: AttributeKind): Elbv2Attributes =>
  Object.fromEntries(Object.entries(specsFor(kind)).map(([key, spec]) => [key, spec.fallback]));

export const targetGroupAttributeKind = (protocol: string | undefined): AttributeKind =>
  protocol === "HTTP" || protocol === "HTTPS" ? "http-target-group" : "tcp-target-group";

/** The attributes after `changes` (each key and value checked); 20 changes at most per call. */
export function applyAttributes(
  kind: AttributeKind,
  current: Elbv2Attributes,
  changes: readonly (LoadBalancerAttribute | TargetGroupAttribute)[],
  what: "Load balancer" | "Target group",
): Elbv2Attributes {
  if (changes.length > 20) throw validationError("A maximum of 20 attributes can be modified at once");
  const specs = specsFor(kind);
  const next: Record<string, string> = { ...current };
  for (const { Key: key = "", Value: value = "" } of changes) {
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (spec === undefined) throw validationError(`${what} attribute key '${key}' is not recognized`);
    if (!spec.check(value)) throw validationError(`${what} attribute '${key}' cannot have the value '${value}'`);
    next[key] = value;
  }
  if (next["access_logs.s3.enabled"] === "true" && next["access_logs.s3.bucket"] === "") {
    throw validationError("The value of 'access_logs.s3.bucket' cannot be empty when 'access_logs.s3.enabled' is 'true'");
  }
  return next;
}

export const attributeList = (attributes: Elbv2Attributes) => Object.entries(attributes).map(([Key, Value]) => ({ Key, Value }));
