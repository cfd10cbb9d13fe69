// The Logs model's constraints on metric filter and resource policy members, which the gateway's
// schema check (types and required members only) does not apply: lengths and patterns, refused in
// CloudWatch Logs' "1 validation error detected: …" words before anything reaches the store.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricTransformation.html
import type { MetricTransformation } from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException } from "../../core/errors.js";

function violation(value: string, member: string, constraint: string): Error {
  return invalidParameterException(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must ${constraint}`);
}

const NO_COLON_OR_STAR = /^[^:*]*$/;
const NO_COLON_STAR_OR_DOLLAR = /^[^:*$]*$/;

function checkText(value: string | undefined, member: string, min: number, max: number, pattern?: { regex: RegExp; text: string }): string {
  if (value === undefined || value.length < min) throw violation(value ?? "null", member, `have length greater than or equal to ${min}`);
  if (value.length > max) throw violation(value, member, `have length less than or equal to ${max}`);
  if (pattern && !pattern.regex.test(value)) throw violation(value, member, `satisfy regular expression pattern: ${pattern.text}`);
  return value;
}

/** FilterName: 1 to 512 characters, no ":" or "*". */
export function checkFilterName(value: string | undefined, member = "filterName"): string {
  return checkText(value, member, 1, 512, { regex: NO_COLON_OR_STAR, text: "[^:*]*" });
}

/** MetricName and MetricNamespace: at most 255 characters, no ":", "*" or "$". */
export function checkMetricName(value: string | undefined, member: string): string {
  return checkText(value, member, 0, 255, { regex: NO_COLON_STAR_OR_DOLLAR, text: "[^:*$]*" });
}

/** The members of the one MetricTransformation that are text: names, value, dimensions (keys and values at most 255). */
export function checkTransformationMembers(t: MetricTransformation): void {
  checkMetricName(t.metricName, "metricTransformations.1.member.metricName");
  checkMetricName(t.metricNamespace, "metricTransformations.1.member.metricNamespace");
  checkText(t.metricValue, "metricTransformations.1.member.metricValue", 0, 100);
  for (const [key, value] of Object.entries(t.dimensions ?? {})) {
    checkText(key, "metricTransformations.1.member.dimensions", 1, 255);
    checkText(value, "metricTransformations.1.member.dimensions", 1, 255);
  }
}

/**
 * A resource policy's name. The model gives it no bounds; Berth keeps names to 255 characters (its
 * store's key), so a longer one is refused here rather than failing in the store.
 */
export function checkPolicyName(value: string | undefined): string {
  return checkText(value, "policyName", 1, 255); // wording not confirmed (AWS documents no limit)
}
