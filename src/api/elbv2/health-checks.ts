// A target group's health check settings: AWS's defaults per protocol and their bounds
// (Elastic Load Balancing API Reference, CreateTargetGroup and ModifyTargetGroup): interval 5–300 s
// (30), timeout 2–120 s (5 for HTTP/HTTPS, 10 for TCP/TLS), thresholds 2–10 (healthy 5, unhealthy
// 2), path "/" for HTTP/HTTPS checks, matcher 200 (200-399 when a TCP group checks over HTTP),
// codes 200–499 for application load balancers' groups and 200–599 for network ones'. The path and
// matcher end up in the proxy's config: only what AWS allows passes.
import type { Matcher, TargetGroup } from "@aws-sdk/client-elastic-load-balancing-v2";
import { validationError } from "./elbv2-errors.js";

export type HealthCheckSettings = Pick<
  TargetGroup,
  | "HealthCheckProtocol"
  | "HealthCheckPort"
  | "HealthCheckEnabled"
  | "HealthCheckIntervalSeconds"
  | "HealthCheckTimeoutSeconds"
  | "HealthyThresholdCount"
  | "UnhealthyThresholdCount"
  | "HealthCheckPath"
  | "Matcher"
>;

const isHttp = (protocol: string | undefined) => protocol === "HTTP" || protocol === "HTTPS";

/**
 * Health check paths: 1–1024 characters starting with "/", of the characters the data plane
 * accepts (src/lb/load-balancer-model.ts validateHealthCheck; copied, src/api does not import
 * src/lb): letters, digits and _ . ~ / = & ? -, so no `%[`, `#`, quotes, backslashes or control
 * characters reach the proxy's config.
 */
const HEALTH_CHECK_PATH = /^\/[A-Za-z0-9_.~/=&?-]{0,1023}$/;
export function checkHealthCheckPath(path: string): void {
  if (path.length < 1 || path.length > 1024) throw validationError("Health check path must be between 1 and 1024 characters");
  if (!HEALTH_CHECK_PATH.test(path))
    throw validationError(
      `Health check path '${path.slice(0, 128)}' is not valid: it must start with '/' and hold only letters, digits and the characters _ . ~ / = & ? -`,
    );
}

/** A matcher's HttpCode: "200", "200,202" or "200-299" (at most 10 entries), each code within [min, max]. */
export function checkHttpCode(codes: string, min: number, max: number): void {
  const invalid = () =>
    validationError(`Health check matcher HTTP code '${codes}' must be a value between ${min} and ${max}, a list of values or a range of values`);
  if (codes.length > 64) throw invalid();
  const entries = codes.split(",");
  if (entries.length > 10) throw invalid();
  for (const entry of entries) {
    const match = /^([0-9]{3})(?:-([0-9]{3}))?$/.exec(entry);
    if (match === null) throw invalid();
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (low < min || high > max || high < low) throw invalid();
  }
}

/** A matcher's GrpcCode: "12", "0,1" or "0-99", each 0–99. */
export function checkGrpcCode(codes: string): void {
  const invalid = () => validationError(`Health check matcher gRPC code '${codes}' must be a value between 0 and 99, a list of values or a range of values`);
  if (codes.length > 64) throw invalid();
  for (const entry of codes.split(",")) {
    const match = /^([0-9]{1,2})(?:-([0-9]{1,2}))?$/.exec(entry);
    if (match === null || (match[2] !== undefined && Number(match[2]) < Number(match[1]))) throw invalid();
  }
}

function within(name: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) throw validationError(`${name} must be between ${min} and ${max}`);
}

/**
 * The settings after `given` over `current` (undefined for a new group: AWS's defaults), for a
 * group of `protocol` and `protocolVersion`. `loadBalancerType` bounds the matcher ("network" for
 * TCP/TLS/UDP groups).
 */
export function healthCheckSettings(
  protocol: string,
  protocolVersion: string | undefined,
  given: HealthCheckSettings,
  current?: HealthCheckSettings,
): HealthCheckSettings {
  const checkProtocol = given.HealthCheckProtocol ?? current?.HealthCheckProtocol ?? (isHttp(protocol) ? protocol : "TCP");
  if (!["HTTP", "HTTPS", "TCP"].includes(checkProtocol)) throw validationError(`Health check protocol '${checkProtocol}' is not supported`);
  if (isHttp(protocol) && checkProtocol === "TCP")
    throw validationError(`Health check protocol 'TCP' is not supported for target groups with the '${protocol}' protocol`);
  const port = given.HealthCheckPort ?? current?.HealthCheckPort ?? "traffic-port";
  if (port !== "traffic-port" && !(/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw validationError("Health check port must be 'traffic-port' or a port between 1 and 65535");
  }
  within("Health check interval", given.HealthCheckIntervalSeconds, 5, 300);
  within("Health check timeout", given.HealthCheckTimeoutSeconds, 2, 120);
  within("Healthy threshold count", given.HealthyThresholdCount, 2, 10);
  within("Unhealthy threshold count", given.UnhealthyThresholdCount, 2, 10);
  const interval = given.HealthCheckIntervalSeconds ?? current?.HealthCheckIntervalSeconds ?? 30;
  const timeout = given.HealthCheckTimeoutSeconds ?? current?.HealthCheckTimeoutSeconds ?? (isHttp(protocol) ? 5 : 10);
  if (timeout >= interval) throw validationError(`Health check timeout '${timeout}' must be smaller than the interval '${interval}'`);
  const httpCheck = isHttp(checkProtocol);
  if (!httpCheck && (given.HealthCheckPath !== undefined || given.Matcher !== undefined)) {
    throw validationError("A health check path and matcher can only be specified for HTTP and HTTPS health checks");
  }
  const path = httpCheck ? (given.HealthCheckPath ?? current?.HealthCheckPath ?? "/") : undefined;
  if (path !== undefined) checkHealthCheckPath(path);
  return {
    HealthCheckProtocol: checkProtocol,
    HealthCheckPort: port,
    HealthCheckEnabled: given.HealthCheckEnabled ?? current?.HealthCheckEnabled ?? true,
    HealthCheckIntervalSeconds: interval,
    HealthCheckTimeoutSeconds: timeout,
    HealthyThresholdCount: given.HealthyThresholdCount ?? current?.HealthyThresholdCount ?? 5,
    UnhealthyThresholdCount: given.UnhealthyThresholdCount ?? current?.UnhealthyThresholdCount ?? 2,
    HealthCheckPath: path,
    Matcher: httpCheck
      ? matcherOf(protocol, protocolVersion, given.Matcher ?? (isHttp(current?.HealthCheckProtocol) ? current?.Matcher : undefined))
      : undefined,
  };
}

function matcherOf(protocol: string, protocolVersion: string | undefined, given: Matcher | undefined): Matcher {
  if (protocolVersion === "GRPC") {
    if (given?.HttpCode !== undefined) throw validationError("A gRPC target group's matcher takes a gRPC code, not an HTTP code");
    const codes = given?.GrpcCode ?? "12";
    checkGrpcCode(codes);
    return { GrpcCode: codes };
  }
  if (given?.GrpcCode !== undefined) throw validationError("Only gRPC target groups take a gRPC code matcher");
  const [fallback, max] = isHttp(protocol) ? ["200", 499] : ["200-399", 599];
  const codes = given?.HttpCode ?? fallback;
  checkHttpCode(codes, 200, max);
  return { HttpCode: codes };
}
