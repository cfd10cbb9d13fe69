// The desired state of one load balancer node: what the ELBv2 API's listeners, rules and target
// groups mean for the proxy on one host, already resolved (rule priorities sorted, target groups by
// the ids the caller derived, targets with their addresses). Pure types and their check.
//
// Every value here ends up in haproxy.cfg text or on the runtime API's command line, so each is
// checked where it enters (DESIGN.md, rule 9): ids are [a-z0-9-] that the caller derives, never a
// user's name; path patterns, host headers, header values and query strings keep AWS's allowed
// characters and are later written as regular expressions in which every character that is not a
// letter or digit is a \xHH escape (haproxy-config.ts), so no quote, space, `#`, backslash or
// newline of a user's ever reaches the config as itself. The API (src/api/elbv2) applies AWS's own
// limits; the limits here are the engine's (a 1 s health-check interval is allowed, for tests).
//
// Budgets per node (besides AWS's per-listener and per-group limits): at most MAX_TARGETS_PER_NODE
// servers over all groups (AWS: 1,000 targets per load balancer), MAX_RULES_PER_NODE rules, and
// MAX_WILDCARD_VALUES_PER_LISTENER condition values with a wildcard (each is a regex run on every
// request that reaches it; wildcard-pattern.ts keeps each linear, this keeps their sum small). With
// haproxy-config.ts's fixed maxconn, a model that passes starts whatever the host's open-file limit.
import { AwsError } from "../core/errors.js";
import { wildcardCount } from "./wildcard-pattern.js";

import type { ActionModel, ConditionModel, ListenerModel, LoadBalancerModel, RuleModel, TargetGroupModel } from "../protocol/load-balancer-model.js";

export type {
  ActionModel,
  Algorithm,
  ConditionModel,
  HealthCheckModel,
  ListenerModel,
  ListenerProtocol,
  LoadBalancerModel,
  RuleModel,
  TargetGroupModel,
  TargetGroupProtocol,
  TargetModel,
  WeightedTargetGroup,
} from "../protocol/load-balancer-model.js";

export const ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** AWS: path patterns are case-sensitive, up to 128 characters of A–Z, a–z, 0–9, _ - . $ / ~ " ' @ : + & and the wildcards * ?. */
export const PATH_PATTERN = /^[A-Za-z0-9_\-.$/~"'@:+&*?]{1,128}$/;
/** AWS: host headers are A–Z, a–z, 0–9, - . and the wildcards * ?. */
export const HOST_PATTERN = /^[A-Za-z0-9\-.*?]{1,128}$/;
/** Header names as RFC 9110 tokens, less the characters that mean something in a sample fetch argument. */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$/;
const SAFE_HEADER_NAME = /^[A-Za-z0-9_.-]{1,40}$/;
/** Printable ASCII, space included: escaped character by character when it becomes a regex. */
export const PRINTABLE = /^[\x20-\x7e]{1,128}$/;
/** AWS: A–Z, `-` and `_`, up to 40; a letter first, so no method can read as an ACL flag (`-i`, `--`). */
export const METHOD = /^[A-Z][A-Z_-]{0,39}$/;
const QUERY_KEY = /^[A-Za-z0-9_.~-]{1,128}$/;
const REDIRECT_HOST = /^(?:[A-Za-z0-9.-]|#\{host\}){1,128}$/;
const REDIRECT_PATH = /^\/(?:[A-Za-z0-9_.~/-]|#\{(?:host|path|port)\}){0,127}$/;
const REDIRECT_QUERY = /^(?:[A-Za-z0-9_.~=&-]|#\{(?:host|path|port|query)\}){0,128}$/;
export const CONTENT_TYPES = ["text/plain", "text/css", "text/html", "application/javascript", "application/json"] as const;
const MAX_BODY_BYTES = 1024;
const MAX_WEIGHT = 999;
/** AWS: "condition wildcards per rule", 5. */
export const MAX_WILDCARDS_PER_RULE = 5;
export const MAX_WILDCARD_VALUES_PER_LISTENER = 200;
export const MAX_TARGETS_PER_NODE = 1000;
export const MAX_RULES_PER_NODE = 500;
export const MAX_LISTENERS = 50;

const invalid = (message: string) => new AwsError("ValidationError", message);

function check(condition: boolean, message: string): void {
  if (!condition) throw invalid(message);
}

function integer(value: unknown, min: number, max: number, what: string): void {
  check(typeof value === "number" && Number.isInteger(value) && value >= min && value <= max, `${what} must be an integer from ${min} to ${max}`);
}

function matches(value: unknown, pattern: RegExp, what: string): void {
  check(typeof value === "string" && pattern.test(value), `${what} is not valid: ${JSON.stringify(String(value)).slice(0, 80)}`);
}

function unique(values: readonly string[], what: string): void {
  check(new Set(values).size === values.length, `${what} must be unique`);
}

/** An IPv4 CIDR in canonical form (no host bits), as source-ip conditions take them. */
export function isIpv4Cidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  if (rest.length > 0 || !address || !IPV4.test(address) || !prefix || !/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefix)) return false;
  const number = address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const bits = Number(prefix);
  return bits === 0 ? number === 0 : number % 2 ** (32 - bits) === 0;
}

/** "200", "200-299", "200,202": the codes it names, each 200–599 (ALB: 200–499; NLB's HTTP checks: up to 599). */
export function matcherCodes(matcher: string): number[] {
  check(/^[0-9,-]{3,64}$/.test(matcher), `matcher is not valid: ${JSON.stringify(matcher).slice(0, 80)}`);
  const codes = new Set<number>();
  for (const part of matcher.split(",")) {
    const range = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    check(range !== null, `matcher is not valid: ${JSON.stringify(matcher)}`);
    const from = Number(range![1]);
    const to = Number(range![2] ?? range![1]);
    check(from >= 200 && to <= 599 && from <= to, `matcher codes must be from 200 to 599: ${JSON.stringify(matcher)}`);
    for (let code = from; code <= to; code += 1) codes.add(code);
  }
  return [...codes].sort((a, b) => a - b);
}

function validateCondition(condition: ConditionModel, listener: ListenerModel): void {
  const values = condition.values as readonly unknown[];
  check(Array.isArray(values) && values.length >= 1 && values.length <= 5, `${condition.field} takes 1 to 5 values`);
  switch (condition.field) {
    case "path-pattern":
      return condition.values.forEach((value) => matches(value, PATH_PATTERN, "path pattern"));
    case "host-header":
      return condition.values.forEach((value) => matches(value, HOST_PATTERN, "host header"));
    case "http-header":
      matches(condition.headerName, SAFE_HEADER_NAME, "http header name");
      return condition.values.forEach((value) => matches(value, PRINTABLE, "http header value"));
    case "http-request-method":
      return condition.values.forEach((value) => matches(value, METHOD, "http request method"));
    case "query-string":
      return condition.values.forEach((pair) => {
        if (pair.key !== undefined) matches(pair.key, QUERY_KEY, "query string key");
        matches(pair.value, PRINTABLE, "query string value");
      });
    case "source-ip":
      return condition.values.forEach((value) =>
        check(typeof value === "string" && isIpv4Cidr(value), `source ip is not an IPv4 CIDR: ${String(value).slice(0, 40)}`),
      );
    default:
      throw invalid(`unknown condition field ${JSON.stringify((condition as { field: unknown }).field)} on listener ${listener.id}`);
  }
}

function validateAction(action: ActionModel, listener: ListenerModel, groups: ReadonlyMap<string, TargetGroupModel>): void {
  if (listener.protocol === "TCP") {
    check(action.type === "forward" && action.targetGroups.length === 1, "a TCP listener forwards to one target group");
  }
  switch (action.type) {
    case "forward": {
      check(action.targetGroups.length >= 1 && action.targetGroups.length <= 5, "a forward action names 1 to 5 target groups");
      unique(
        action.targetGroups.map((entry) => entry.targetGroupId),
        "target groups of a forward action",
      );
      for (const entry of action.targetGroups) {
        const group = groups.get(entry.targetGroupId);
        check(group !== undefined, `forward to an unknown target group ${JSON.stringify(entry.targetGroupId).slice(0, 80)}`);
        // HTTP and HTTPS listeners (TLS ends at the node) forward to HTTP or HTTPS groups; TCP to TCP.
        const served = listener.protocol === "TCP" ? group!.protocol === "TCP" : group!.protocol === "HTTP" || group!.protocol === "HTTPS";
        check(served, `target group ${group!.id} (${group!.protocol}) cannot serve a ${listener.protocol} listener`);
        integer(entry.weight, 0, MAX_WEIGHT, "target group weight");
      }
      check(
        action.targetGroups.some((entry) => entry.weight > 0),
        "a forward action needs one target group of weight above 0",
      );
      if (action.stickinessSeconds !== undefined) integer(action.stickinessSeconds, 1, 604800, "target group stickiness duration");
      return;
    }
    case "redirect":
      check(action.statusCode === "HTTP_301" || action.statusCode === "HTTP_302", "redirect status must be HTTP_301 or HTTP_302");
      if (action.protocol !== undefined)
        check(["HTTP", "HTTPS", "#{protocol}"].includes(action.protocol), "redirect protocol must be HTTP, HTTPS or #{protocol}");
      if (action.port !== undefined)
        check(action.port === "#{port}" || (/^\d{1,5}$/.test(action.port) && +action.port >= 1 && +action.port <= 65535), "redirect port");
      if (action.host !== undefined) matches(action.host, REDIRECT_HOST, "redirect host");
      if (action.path !== undefined) matches(action.path, REDIRECT_PATH, "redirect path");
      if (action.query !== undefined) matches(action.query, REDIRECT_QUERY, "redirect query");
      return;
    case "fixed-response":
      integer(action.statusCode, 200, 599, "fixed response status code");
      if (action.contentType !== undefined) check((CONTENT_TYPES as readonly string[]).includes(action.contentType), "fixed response content type");
      if (action.messageBody !== undefined) {
        check(typeof action.messageBody === "string" && Buffer.byteLength(action.messageBody) <= MAX_BODY_BYTES, "fixed response body is at most 1024 bytes");
      }
      return;
    default:
      throw invalid(`unknown action type ${JSON.stringify((action as { type: unknown }).type)}`);
  }
}

function validateHealthCheck(group: TargetGroupModel): void {
  const health = group.healthCheck;
  check(health.protocol === "HTTP" || health.protocol === "HTTPS" || health.protocol === "TCP", "health check protocol must be HTTP, HTTPS or TCP");
  if (health.port !== "traffic-port") integer(health.port, 1, 65535, "health check port");
  if (health.protocol !== "TCP") {
    matches(health.path, /^\/[A-Za-z0-9_.~/=&?-]{0,1023}$/, "health check path");
    matcherCodes(health.matcher);
  }
  integer(health.intervalSeconds, 1, 300, "health check interval");
  integer(health.timeoutSeconds, 1, 120, "health check timeout");
  check(health.timeoutSeconds <= health.intervalSeconds, "health check timeout must not exceed its interval");
  integer(health.healthyThreshold, 1, 10, "healthy threshold");
  integer(health.unhealthyThreshold, 1, 10, "unhealthy threshold");
}

/**
 * Addresses a target may not have: this host itself (0.0.0.0/8, 127.0.0.0/8), link-local
 * (169.254.0.0/16: cloud metadata services live there), multicast, reserved and broadcast
 * (224.0.0.0/3). A target is a task's or an instance's unicast address, never one of these.
 */
export function isForbiddenTargetAddress(ip: string): boolean {
  const [first, second] = ip.split(".").map(Number) as [number, number];
  return first === 0 || first === 127 || (first === 169 && second === 254) || first >= 224;
}

/** The wildcard patterns of a condition (query strings: their values; keys take none). */
function patternValues(condition: ConditionModel): readonly string[] {
  switch (condition.field) {
    case "path-pattern":
    case "host-header":
    case "http-header":
      return condition.values;
    case "query-string":
      return condition.values.map((pair) => pair.value);
    default:
      return [];
  }
}

function validateRule(rule: RuleModel, listener: ListenerModel, groups: ReadonlyMap<string, TargetGroupModel>): number {
  matches(rule.id, ID, "rule id");
  check(rule.conditions.length >= 1 && rule.conditions.length <= 5, "a rule has 1 to 5 conditions");
  rule.conditions.forEach((condition) => validateCondition(condition, listener));
  validateAction(rule.action, listener, groups);
  const patterns = rule.conditions.flatMap(patternValues);
  const wildcards = patterns.reduce((sum, value) => sum + wildcardCount(value), 0);
  check(wildcards <= MAX_WILDCARDS_PER_RULE, `a rule's conditions have at most ${MAX_WILDCARDS_PER_RULE} wildcards (* and ?)`);
  return patterns.filter((value) => wildcardCount(value) > 0).length;
}

function validateTargetGroup(group: TargetGroupModel): void {
  matches(group.id, ID, "target group id");
  check(group.protocol === "HTTP" || group.protocol === "HTTPS" || group.protocol === "TCP", "target group protocol must be HTTP, HTTPS or TCP");
  check(group.algorithm === "round_robin" || group.algorithm === "least_outstanding_requests", "load balancing algorithm");
  check(
    group.slowStartSeconds === 0 || (Number.isInteger(group.slowStartSeconds) && group.slowStartSeconds >= 30 && group.slowStartSeconds <= 900),
    "slow start",
  );
  integer(group.deregistrationDelaySeconds, 0, 3600, "deregistration delay");
  if (group.stickinessSeconds !== undefined) integer(group.stickinessSeconds, 1, 604800, "stickiness duration");
  validateHealthCheck(group);
  check(group.targets.length <= 1000, "at most 1000 targets per target group");
  for (const target of group.targets) {
    matches(target.ip, IPV4, "target address");
    check(!isForbiddenTargetAddress(target.ip), `target address ${target.ip} is loopback, link-local, multicast or reserved`);
    integer(target.port, 1, 65535, "target port");
    check(target.draining === undefined || typeof target.draining === "boolean", "target draining flag");
  }
  unique(
    group.targets.map((target) => `${target.ip}:${target.port}`),
    `targets of ${group.id}`,
  );
}

/** PEM blocks only (certificates and one private key): the bundle becomes a file HAProxy reads, never config text. */
const PEM_BUNDLE = /^(?:-----BEGIN [A-Z ]{1,40}-----\n[A-Za-z0-9+/=\n]{1,65536}-----END [A-Z ]{1,40}-----\n)+$/;
const MAX_PEM_BUNDLE_BYTES = 256 * 1024;

function validateTls(listener: ListenerModel): void {
  if (listener.protocol !== "HTTPS") {
    check(listener.tls === undefined, "only an HTTPS listener has a certificate");
    return;
  }
  const tls = listener.tls;
  check(tls !== undefined, `HTTPS listener ${listener.id} has no certificate`);
  check(typeof tls!.pemBundle === "string" && tls!.pemBundle.length <= MAX_PEM_BUNDLE_BYTES && PEM_BUNDLE.test(tls!.pemBundle), "certificate bundle");
  check(tls!.minVersion === "TLSv1.0" || tls!.minVersion === "TLSv1.2", "minimum TLS version");
}

/** Throws a ValidationError naming the first value that may not enter a config; returns the model. */
export function validateLoadBalancerModel(model: LoadBalancerModel): LoadBalancerModel {
  matches(model.id, ID, "load balancer id");
  integer(model.idleTimeoutSeconds, 1, 4000, "idle timeout");
  check(model.targetGroups.length <= 100 && model.listeners.length <= MAX_LISTENERS, "too many listeners or target groups");
  model.targetGroups.forEach(validateTargetGroup);
  const targets = model.targetGroups.reduce((sum, group) => sum + group.targets.length, 0);
  check(targets <= MAX_TARGETS_PER_NODE, `at most ${MAX_TARGETS_PER_NODE} targets over all target groups of a load balancer`);
  const rules = model.listeners.reduce((sum, listener) => sum + listener.rules.length, 0);
  check(rules <= MAX_RULES_PER_NODE, `at most ${MAX_RULES_PER_NODE} rules over all listeners of a load balancer`);
  unique(
    model.targetGroups.map((group) => group.id),
    "target group ids",
  );
  const groups = new Map(model.targetGroups.map((group) => [group.id, group]));
  for (const listener of model.listeners) {
    matches(listener.id, ID, "listener id");
    integer(listener.port, 1, 65535, "listener port");
    check(listener.protocol === "HTTP" || listener.protocol === "HTTPS" || listener.protocol === "TCP", "listener protocol must be HTTP, HTTPS or TCP");
    check(listener.protocol !== "TCP" || listener.rules.length === 0, "a TCP listener has no rules");
    validateTls(listener);
    check(listener.rules.length <= 100, "at most 100 rules per listener");
    const wildcardValues = listener.rules.reduce((sum, rule) => sum + validateRule(rule, listener, groups), 0);
    check(wildcardValues <= MAX_WILDCARD_VALUES_PER_LISTENER, `at most ${MAX_WILDCARD_VALUES_PER_LISTENER} condition values with wildcards per listener`);
    unique(
      listener.rules.map((rule) => rule.id),
      `rule ids of ${listener.id}`,
    );
    validateAction(listener.defaultAction, listener, groups);
  }
  unique(
    model.listeners.map((listener) => String(listener.port)),
    "listener ports",
  );
  unique(
    model.listeners.map((listener) => listener.id),
    "listener ids",
  );
  return model;
}
