// Rule conditions (Application Load Balancer guide, "Rule condition types"; API Reference,
// RuleCondition): host-header, path-pattern, http-header, http-request-method, query-string and
// source-ip, with AWS's characters and lengths. Every value here later becomes part of the proxy's
// config, so nothing outside AWS's allowed characters passes: no spaces, quotes, backslashes or
// control characters can reach it.
import type { RuleCondition } from "@aws-sdk/client-elastic-load-balancing-v2";
import { parseCidr } from "../../core/ec2/cidr.js";
import { validationError } from "./elbv2-errors.js";

/** Condition values per rule, all conditions together (Elastic Load Balancing quotas). */
export const CONDITION_VALUES_PER_RULE = 5;

const HOST = /^[A-Za-z0-9.*?-]{1,128}$/;
// AWS's path-pattern characters: A–Z, a–z, 0–9, _ - . $ / ~ " ' @ : + & * ?; the quotes are left out
// here (Berth's choice: they would have to be escaped in the proxy's config and no path needs them).
const PATH = /^[A-Za-z0-9_\-.$/~@:+&*?]{1,128}$/;
// Header names, methods and query keys: the data plane's own sets (src/lb/load-balancer-model.ts
// SAFE_HEADER_NAME, METHOD, QUERY_KEY; copied, src/api does not import src/lb), narrower than
// AWS's token characters: a value the proxy would refuse must be refused here, not stored.
const HEADER_NAME = /^[A-Za-z0-9_.-]{1,40}$/;
const HEADER_VALUE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const METHOD = /^[A-Z][A-Z_-]{0,39}$/;
const QUERY_KEY = /^[A-Za-z0-9_.~-]{1,128}$/;
const QUERY_PART = /^[\x21\x23-\x25\x27-\x3c\x3e-\x5b\x5d-\x7e]{1,128}$/;
/** AWS's "condition wildcards per rule" quota (the data plane's MAX_WILDCARDS_PER_RULE). */
export const WILDCARDS_PER_RULE = 5;
/** `*` and `?` in a value (the data plane's wildcardCount, src/lb/wildcard-pattern.ts). */
export const wildcardCount = (value: string) => [...value].filter((char) => char === "*" || char === "?").length;

/** The values of a condition that are wildcard patterns (the data plane's patternValues: query strings' values, not keys). */
export function patternValues(condition: RuleCondition): string[] {
  switch (condition.Field) {
    case "host-header":
      return condition.HostHeaderConfig?.Values ?? [];
    case "path-pattern":
      return condition.PathPatternConfig?.Values ?? [];
    case "http-header":
      return condition.HttpHeaderConfig?.Values ?? [];
    case "query-string":
      return (condition.QueryStringConfig?.Values ?? []).map((pair) => pair.Value ?? "");
    default:
      return [];
  }
}

const ONCE = ["host-header", "path-pattern", "http-request-method", "source-ip"];

function values(condition: RuleCondition, field: string, configValues: string[] | undefined): string[] {
  if (condition.Values !== undefined && configValues !== undefined) throw validationError(`Values and a ${field} configuration cannot both be specified`);
  const given = configValues ?? condition.Values ?? [];
  if (given.length === 0) throw validationError(`A ${field} condition must have at least one value`);
  return given;
}

function checkEach(list: readonly string[], pattern: RegExp, what: string): void {
  for (const value of list) if (!pattern.test(value)) throw validationError(`${what} '${value.slice(0, 128)}' is not valid: check its length and characters`);
}

/** One condition checked, in AWS's answer form; `count` is how many values it holds. */
function checkCondition(condition: RuleCondition): { condition: RuleCondition; count: number } {
  const field = condition.Field ?? "";
  switch (field) {
    case "host-header": {
      const list = values(condition, field, condition.HostHeaderConfig?.Values);
      checkEach(list, HOST, "Host header value");
      return { condition: { Field: field, Values: list, HostHeaderConfig: { Values: list } }, count: list.length };
    }
    case "path-pattern": {
      const list = values(condition, field, condition.PathPatternConfig?.Values);
      checkEach(list, PATH, "Path pattern");
      return { condition: { Field: field, Values: list, PathPatternConfig: { Values: list } }, count: list.length };
    }
    case "http-header": {
      const config = condition.HttpHeaderConfig;
      if (condition.Values !== undefined || config === undefined) throw validationError("An http-header condition needs an HTTP header configuration");
      checkEach([config.HttpHeaderName ?? ""], HEADER_NAME, "HTTP header name");
      const list = config.Values ?? [];
      if (list.length === 0) throw validationError("An http-header condition must have at least one value");
      checkEach(list, HEADER_VALUE, "HTTP header value");
      return { condition: { Field: field, HttpHeaderConfig: { HttpHeaderName: config.HttpHeaderName, Values: list } }, count: list.length };
    }
    case "http-request-method": {
      const list = values(condition, field, condition.HttpRequestMethodConfig?.Values);
      checkEach(list, METHOD, "HTTP request method");
      return { condition: { Field: field, HttpRequestMethodConfig: { Values: list } }, count: list.length };
    }
    case "query-string": {
      const pairs = condition.QueryStringConfig?.Values ?? [];
      if (condition.Values !== undefined || pairs.length === 0) throw validationError("A query-string condition needs at least one key/value pair");
      for (const pair of pairs) {
        if (pair.Key !== undefined) checkEach([pair.Key], QUERY_KEY, "Query string key");
        checkEach([pair.Value ?? ""], QUERY_PART, "Query string value");
      }
      return { condition: { Field: field, QueryStringConfig: { Values: pairs.map((pair) => ({ Key: pair.Key, Value: pair.Value })) } }, count: pairs.length };
    }
    case "source-ip": {
      const list = values(condition, field, condition.SourceIpConfig?.Values);
      for (const cidr of list) {
        if (!/^[0-9./]{9,18}$/.test(cidr) || parseCidr(cidr) === undefined)
          throw validationError(`Source IP '${cidr.slice(0, 64)}' is not a valid IPv4 CIDR block`);
      }
      return { condition: { Field: field, SourceIpConfig: { Values: list } }, count: list.length };
    }
    default:
      throw validationError(`Condition field '${field.slice(0, 64)}' is not valid`);
  }
}

/** A rule's conditions checked (one or more; each "once" field at most once; 5 values in all). */
export function checkConditions(conditions: readonly RuleCondition[] | undefined): RuleCondition[] {
  if (conditions === undefined || conditions.length === 0) throw validationError("At least one condition must be specified");
  const checked = conditions.map(checkCondition);
  for (const field of ONCE) {
    if (checked.filter((one) => one.condition.Field === field).length > 1) throw validationError(`A rule can have only one '${field}' condition`);
  }
  if (checked.reduce((sum, one) => sum + one.count, 0) > CONDITION_VALUES_PER_RULE) {
    throw validationError(`A rule can only have '${CONDITION_VALUES_PER_RULE}' condition values`);
  }
  const wildcards = checked.reduce((sum, one) => sum + patternValues(one.condition).reduce((count, value) => count + wildcardCount(value), 0), 0);
  // wording not confirmed
  if (wildcards > WILDCARDS_PER_RULE) throw validationError(`A rule can only have '${WILDCARDS_PER_RULE}' wildcards in its condition values`);
  return checked.map((one) => one.condition);
}
