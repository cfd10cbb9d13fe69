// Parameter names, paths, selectors and labels by AWS's rules
// (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html):
// letters, digits and . - _ in each part; a hierarchy starts with "/" and has at most 15 levels;
// no name (nor its first level) starts with "aws" or "ssm" in any case; the whole ARN of a
// parameter is at most 1011 characters. A name is never a path on disk here.
import type { AccountScope } from "../../core/arn.js";
import { buildArn, parseArn } from "../../core/arn.js";
import { constraint, hierarchyTooDeep, invalidName, invalidPath, validation } from "./ssm-errors.js";

const PART = /^[a-zA-Z0-9_.-]+$/;
const MAX_LEVELS = 15;
const MAX_ARN = 1011;
const RESERVED = /^(aws|ssm)/i;

/** arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, the name's leading slash not doubled. */
export const parameterArn = (scope: AccountScope, name: string) => buildArn(scope, "ssm", `parameter/${name.startsWith("/") ? name.slice(1) : name}`);

export function validateName(scope: AccountScope, name: string): string {
  if (name.length < 1 || name.length > 2048) throw constraint("name", name.slice(0, 64), "Member must have length between 1 and 2048");
  // wording not confirmed
  if (name.includes("/") && !name.startsWith("/")) throw validation("Parameter name must be a fully qualified name.");
  const parts = (name.startsWith("/") ? name.slice(1) : name).split("/");
  if (!parts.every((part) => PART.test(part)) || RESERVED.test(parts[0] ?? "")) throw invalidName();
  if (parts.length > MAX_LEVELS) throw hierarchyTooDeep();
  // wording not confirmed
  if (parameterArn(scope, name).length > MAX_ARN) throw validation(`Parameter name, including the ARN, can't be longer than ${MAX_ARN} characters.`);
  return name;
}

/** GetParametersByPath's Path: "/" or a hierarchy of valid parts, at most 15 levels. */
export function validatePath(path: string): string {
  if (path.length < 1 || path.length > 2048) throw constraint("path", path.slice(0, 64), "Member must have length between 1 and 2048");
  if (!path.startsWith("/")) throw invalidPath();
  const trimmed = path.slice(1).replace(/\/$/, "");
  if (trimmed === "") return "/";
  const parts = trimmed.split("/");
  if (!parts.every((part) => PART.test(part)) || RESERVED.test(parts[0] ?? "")) throw invalidPath();
  if (parts.length > MAX_LEVELS) throw hierarchyTooDeep();
  return `/${trimmed}`;
}

/** A parameter named in GetParameter(s): its name (or ARN) and an optional ":version" or ":label" selector. */
export interface ParameterSelector {
  /** The names it may be, in the order to try (an ARN's "parameter/x" is "x" or "/x"). */
  readonly names: readonly string[];
  readonly version?: number;
  readonly label?: string;
  /** ":3" or ":label", as GetParameter echoes it. */
  readonly selector?: string;
}

/** The selector a Name means, or undefined when it is an ARN of another account, region or service (no such parameter). */
export function parseSelector(scope: AccountScope, text: string): ParameterSelector | undefined {
  let body = text;
  let arnName: string | undefined;
  if (text.startsWith("arn:")) {
    const arn = parseArn(text);
    if (!arn || arn.partition !== scope.partition || arn.service !== "ssm" || arn.region !== scope.region || arn.accountId !== scope.accountId)
      return undefined;
    if (!arn.resource.startsWith("parameter/")) return undefined;
    arnName = arn.resource.slice("parameter/".length);
    body = arnName;
  }
  const colon = body.indexOf(":");
  const bare = colon < 0 ? body : body.slice(0, colon);
  const selector = colon < 0 ? undefined : body.slice(colon + 1);
  const names = arnName === undefined ? [bare] : bare.includes("/") ? [`/${bare}`] : [bare, `/${bare}`];
  for (const name of names) validateName(scope, name);
  if (selector === undefined) return { names };
  if (/^[0-9]{1,10}$/.test(selector)) return { names, version: Number(selector), selector: `:${selector}` };
  if (!PART.test(selector) || selector.length > 100) throw invalidName();
  return { names, label: selector, selector: `:${selector}` };
}

/** LabelParameterVersion's rule for one label; an invalid label is reported, not thrown. */
export function isValidLabel(label: string): boolean {
  return label.length >= 1 && label.length <= 100 && /^[a-zA-Z0-9_.-]+$/.test(label) && !/^[0-9]/.test(label) && !RESERVED.test(label);
}
