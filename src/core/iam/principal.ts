// The Principal/NotPrincipal element of trust and resource policies (IAM User Guide, "AWS JSON
// policy elements: Principal"): "*" (anyone), or an object of principal types — "AWS" (an account
// id, an account root ARN, a user, role or assumed-role session ARN, or "*"), "Service"
// (e.g. "ecs-tasks.amazonaws.com"), "Federated", "CanonicalUser". Wildcards are not allowed in
// principals other than "*" alone. A principal naming an account matches every principal of that
// account; one naming a role matches that role's sessions too.
// IAM binds a user or role named in a trust policy to that entity, not to its name (IAM User Guide,
// "Example policies": "When you save the policy, AWS transforms the ARN to a unique principal ID";
// a deleted entity's principal shows as its unique id and matches no entity made later under the
// same name). The store keeps the ARN while the entity lives and writes its unique id (AIDA…/AROA…)
// when it is deleted; such an id matches no caller (callers are known by ARN, and no live entity's
// id stays in a stored policy). `rebindPrincipal` below does that rewriting, on the text.

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
/** A user's (AIDA) or role's (AROA) unique id as IAM shows it: the prefix and 17 upper-case letters and digits. */
export const UNIQUE_PRINCIPAL_ID = /^A(ID|RO)A[A-Z0-9]{17}$/;
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
 * Whether a user or role ARN, or a user's or role's unique id, names an existing principal. IAM
 * rejects a trust policy naming one that does not exist (`Invalid principal in policy: "AWS":"arn:…"`,
 * and a deleted entity's id left in a policy is refused the same way when the policy is saved again);
 * the store knows, this library does not.
 */
export type PrincipalExists = (arn: string) => boolean;

function awsMatcher(value: string, exists: PrincipalExists | undefined): (caller: CallerPrincipal) => PrincipalMatch {
  if (value === "*") return () => "specific";
  if (UNIQUE_PRINCIPAL_ID.test(value)) {
    if (exists !== undefined && !exists(value)) throw invalid("AWS", value);
    // A deleted entity's id (or one the store resolves to an ARN before saving): no caller is known by it.
    return () => "none";
  }
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

type Frame = { kind: "object"; key: string | undefined; awaitingKey: boolean } | { kind: "array"; index: number };

// One JSON token after optional whitespace: a string, a structural character or a literal. The text
// is checked as JSON first, so the loose shapes here only ever see valid tokens.
const TOKEN = /[ \t\n\r]*(?:("(?:[^"\\]|\\.)*")|([{}[\]:,])|([^ \t\n\r{}[\]:,"]+))/y;

/** Whether a value's path is Statement[(n)].Principal|NotPrincipal.AWS[(n)]: the "AWS" principals. */
function isAwsPrincipal(path: readonly (string | number | undefined)[]): boolean {
  let at = 0;
  if (path[at++] !== "Statement") return false;
  if (typeof path[at] === "number") at++;
  const field = path[at++];
  if (field !== "Principal" && field !== "NotPrincipal") return false;
  if (path[at++] !== "AWS") return false;
  if (typeof path[at] === "number") at++;
  return at === path.length;
}

function structural(stack: Frame[], character: string): void {
  const top = stack.at(-1);
  if (character === "{") stack.push({ kind: "object", key: undefined, awaitingKey: true });
  else if (character === "[") stack.push({ kind: "array", index: 0 });
  else if (character === "}" || character === "]") stack.pop();
  else if (character === ":" && top?.kind === "object") top.awaitingKey = false;
  else if (character === "," && top?.kind === "object") top.awaitingKey = true;
  else if (character === "," && top?.kind === "array") top.index++;
}

/**
 * The policy text with every "AWS" principal (of a Principal or NotPrincipal) equal to `from` made
 * `to`: a deleted user's or role's ARN made its unique id, a renamed user's old ARN its new one, an
 * id written by a caller its entity's ARN. Only those string tokens change (however they were
 * escaped); whitespace, key order, numbers and every other value stay byte for byte, so nothing a
 * JSON round trip could alter (a number past 2^53, say) is touched. The same string when nothing
 * matched. Throws SyntaxError for text that is not JSON (a stored policy always is).
 */
export function rebindPrincipal(text: string, from: string, to: string): string {
  JSON.parse(text);
  const stack: Frame[] = [];
  const pieces: string[] = [];
  let copied = 0;
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(text); match !== null; match = TOKEN.exec(text)) {
    const [, quoted, character] = match;
    const top = stack.at(-1);
    if (character !== undefined) structural(stack, character);
    else if (quoted !== undefined && top?.kind === "object" && top.awaitingKey) top.key = JSON.parse(quoted) as string;
    else if (quoted !== undefined && (JSON.parse(quoted) as string) === from) {
      const path = stack.map((frame) => (frame.kind === "object" ? frame.key : frame.index));
      if (isAwsPrincipal(path)) {
        const start = TOKEN.lastIndex - quoted.length;
        pieces.push(text.slice(copied, start), JSON.stringify(to));
        copied = TOKEN.lastIndex;
      }
    }
  }
  if (pieces.length === 0) return text;
  pieces.push(text.slice(copied));
  return pieces.join("");
}
