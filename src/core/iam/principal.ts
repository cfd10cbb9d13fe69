// The Principal/NotPrincipal element of trust and resource policies (IAM User Guide, "AWS JSON
// policy elements: Principal"): "*" (anyone), or an object of principal types — "AWS" (an account
// id, an account root ARN, a user, role or assumed-role session ARN, or "*"), "Service"
// (e.g. "ecs-tasks.amazonaws.com"), "Federated", "CanonicalUser". Wildcards are not allowed in
// principals other than "*" alone. A principal naming an account matches every principal of that
// account; one naming a role matches that role's sessions too.

import { parseArn } from "./arn-matching.js";

/** A grammar failure in a principal; the message is AWS's (`Invalid principal in policy: …`). */
export class PrincipalGrammarError extends Error {}

/**
 * How a statement's principal matched: "account" (the caller's account: the account's own
 * policies must allow too), "specific" (the caller itself, or "*": everyone).
 */
export type PrincipalMatch = "none" | "account" | "specific";

export interface CompiledPrincipal {
  matches(caller: CallerPrincipal): PrincipalMatch;
}

/** The caller as the policy engine sees it. */
export interface CallerPrincipal {
  /** The caller's ARN (user, role, assumed-role session, account root) or a service principal name. */
  readonly arn: string;
  /** The caller's account id (derived from the ARN when omitted). */
  readonly account?: string;
}

const ACCOUNT_ID = /^\d{12}$/;
const SERVICE = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/;
const IAM_PRINCIPAL = /^arn:aws[a-z-]*:(iam::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+)$/;

const PRINCIPAL_TYPES: Readonly<Record<string, string>> = { AWS: "AWS", Service: "SERVICE", Federated: "FEDERATED", CanonicalUser: "CANONICAL_USER" };

function invalid(type: string, value: string): PrincipalGrammarError {
  return new PrincipalGrammarError(`Invalid principal in policy: "${type}":"${value}"`);
}

function callerAccount(caller: CallerPrincipal): string | undefined {
  return caller.account ?? parseArn(caller.arn)?.account;
}

/** The role ARN of an assumed-role session ARN (arn:aws:sts::A:assumed-role/R/S → role name R). */
function sessionRoleName(arn: string): string | undefined {
  const parsed = parseArn(arn);
  if (parsed?.service !== "sts" || !parsed.resource.startsWith("assumed-role/")) return undefined;
  return parsed.resource.split("/")[1];
}

/**
 * Whether a user or role ARN names an existing principal. IAM rejects a trust policy naming one that
 * does not exist (`Invalid principal in policy: "AWS":"arn:…"`); the store knows, this library does not.
 */
export type PrincipalExists = (arn: string) => boolean;

function awsMatcher(value: string, exists: PrincipalExists | undefined): (caller: CallerPrincipal) => PrincipalMatch {
  if (value === "*") return () => "specific";
  const account = ACCOUNT_ID.test(value) ? value : undefined;
  if (!account && !IAM_PRINCIPAL.test(value)) throw invalid("AWS", value);
  const parsed = parseArn(value);
  if (exists !== undefined && parsed?.service === "iam" && parsed.resource !== "root" && !exists(value)) throw invalid("AWS", value);
  if (account !== undefined || parsed?.resource === "root") {
    const id = account ?? (parsed?.account as string);
    return (caller) => (callerAccount(caller) === id ? "account" : "none");
  }
  const roleName = parsed?.service === "iam" && parsed.resource.startsWith("role/") ? parsed.resource.slice(parsed.resource.lastIndexOf("/") + 1) : undefined;
  return (caller) => {
    if (caller.arn === value) return "specific";
    if (roleName === undefined || callerAccount(caller) !== parsed?.account) return "none";
    return sessionRoleName(caller.arn) === roleName ? "specific" : "none";
  };
}

function stringList(raw: unknown, type: string): string[] {
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (list.length === 0) throw new PrincipalGrammarError("Syntax errors in policy.");
  return list.map((item) => {
    if (typeof item !== "string") throw invalid(type, JSON.stringify(item));
    return item;
  });
}

function typeMatchers(type: string, values: readonly string[], exists: PrincipalExists | undefined): ((caller: CallerPrincipal) => PrincipalMatch)[] {
  switch (type) {
    case "AWS":
      return values.map((value) => awsMatcher(value, exists));
    case "Service":
      return values.map((value) => {
        if (!SERVICE.test(value)) throw invalid("SERVICE", value);
        return (caller: CallerPrincipal) => (caller.arn === value ? "specific" : "none");
      });
    default:
      // Federated and CanonicalUser principals never call Berth; they are kept but match nothing.
      return values.map((value) => {
        if (value.length === 0 || value.includes("*")) throw invalid(PRINCIPAL_TYPES[type] as string, value);
        return () => "none";
      });
  }
}

/** Compiles a Principal or NotPrincipal value; throws PrincipalGrammarError with AWS's message. */
export function compilePrincipal(raw: unknown, exists?: PrincipalExists): CompiledPrincipal {
  if (raw === "*") return { matches: () => "specific" };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PrincipalGrammarError("Syntax errors in policy.");
  const matchers: ((caller: CallerPrincipal) => PrincipalMatch)[] = [];
  for (const [type, value] of Object.entries(raw)) {
    if (!Object.hasOwn(PRINCIPAL_TYPES, type)) throw new PrincipalGrammarError("Syntax errors in policy.");
    matchers.push(...typeMatchers(type, stringList(value, PRINCIPAL_TYPES[type] as string), exists));
  }
  if (matchers.length === 0) throw new PrincipalGrammarError("Syntax errors in policy.");
  return {
    matches(caller) {
      let best: PrincipalMatch = "none";
      for (const matcher of matchers) {
        const match = matcher(caller);
        if (match === "specific") return match;
        if (match === "account") best = match;
      }
      return best;
    },
  };
}
