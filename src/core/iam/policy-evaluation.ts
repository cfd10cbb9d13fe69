// The decision for one request (IAM User Guide, "Policy evaluation logic" and "Policy evaluation
// for requests within a single account"):
//
//   every resource the operation touches ──► any applicable Deny statement?  ── yes ─► ExplicitDeny
//                                          (identity policies, then the resource's policy)
//                           no ▼
//   for each resource: an applicable Allow?  ── none for some resource ─► ImplicitDeny
//                           all ▼
//                         Allow
//
// A statement applies when its Action (or NotAction) covers the action, its Resource (or
// NotResource) covers the resource, its Principal covers the caller (resource and trust policies)
// and all of its conditions hold. Within one account, a resource-based policy that names the caller
// (or "*") allows on its own; one that names the caller's account needs an identity-based Allow as
// well. A role's trust policy must always allow (it is not additive): AssumeRole needs the trust
// policy's Allow, and the identity policy's too when the trust policy names the account only.
// The evaluator allocates nothing per statement; policy variables resolve per request.

import { accessDeniedException, type AwsError } from "../errors.js";
import type { CompiledStatement, PolicyDocument } from "./policy-document.js";
import type { ConditionContext } from "./policy-variables.js";
import type { CallerPrincipal, PrincipalMatch } from "./principal.js";

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";
export type PolicyType = "identity" | "resource";

export interface AuthorizationRequest {
  /** The caller: a user, role, assumed-role session or account root ARN, or a service principal name. */
  readonly principalArn: string;
  /** The caller's account, when principalArn does not carry it (a service principal). */
  readonly principalAccount?: string;
  /** "service:Action", e.g. "ecs:RunTask" (matched case-insensitively). */
  readonly action: string;
  /** The ARNs the operation touches, each of which must be allowed; empty means "*". */
  readonly resources: readonly string[];
  /** Condition keys, lower-cased (build with conditionContext()). */
  readonly context?: ConditionContext;
}

export interface PolicySet {
  readonly identity: readonly PolicyDocument[];
  /** The policy of the resource acted on: a resource-based policy, or a role's trust policy for AssumeRole. */
  readonly resource?: PolicyDocument;
}

export interface DecidingStatement {
  readonly policyType: PolicyType;
  /** Index into PolicySet.identity (0 for the resource policy). */
  readonly policyIndex: number;
  readonly statementIndex: number;
  readonly sid: string | undefined;
}

export interface EvaluationResult {
  readonly decision: Decision;
  /** The statement that denied, or the last that allowed; undefined for an implicit deny. */
  readonly statement: DecidingStatement | undefined;
  /** The resource that decided: the denied one, or the last allowed. */
  readonly resource: string;
  /** For an implicit deny: which kind of policy failed to allow. */
  readonly missing: PolicyType | undefined;
}

const EMPTY_CONTEXT: ConditionContext = new Map();
const ANY_RESOURCE = ["*"];

function principalMatch(statement: CompiledStatement, caller: CallerPrincipal): PrincipalMatch {
  if (statement.principal === undefined) return "specific";
  const match = statement.principal.matches(caller);
  if (!statement.notPrincipal) return match;
  return match === "none" ? "specific" : "none";
}

/** Whether `statement` (whose action covers the request's) applies; its principal match ("none" when it does not apply). */
function applies(statement: CompiledStatement, resource: string, context: ConditionContext, caller: CallerPrincipal): PrincipalMatch {
  if (statement.resources !== undefined && statement.resources.matches(resource, context) === statement.notResource) return "none";
  const match = principalMatch(statement, caller);
  if (match === "none") return "none";
  for (const condition of statement.conditions) if (!condition.test(context.get(condition.key), context)) return "none";
  return match;
}

interface Found {
  readonly statement: DecidingStatement;
  readonly match: PrincipalMatch;
}

function find(
  policy: PolicyDocument,
  policyType: PolicyType,
  policyIndex: number,
  effect: "Allow" | "Deny",
  request: { action: string; resource: string; context: ConditionContext; caller: CallerPrincipal },
): Found | undefined {
  let best: Found | undefined;
  const byEffect = policy.statementsFor(request.action);
  for (const statement of effect === "Deny" ? byEffect.deny : byEffect.allow) {
    const match = applies(statement, request.resource, request.context, request.caller);
    if (match === "none") continue;
    const found = { statement: { policyType, policyIndex, statementIndex: statement.index, sid: statement.sid }, match };
    if (match === "specific" || policyType === "identity") return found;
    best ??= found;
  }
  return best;
}

function findInSet(policies: PolicySet, effect: "Allow" | "Deny", request: Parameters<typeof find>[4]): { identity?: Found; resource?: Found } {
  let identity: Found | undefined;
  for (let index = 0; index < policies.identity.length && identity === undefined; index++) {
    identity = find(policies.identity[index] as PolicyDocument, "identity", index, effect, request);
  }
  if (effect === "Deny" && identity !== undefined) return { identity };
  const resource = policies.resource === undefined ? undefined : find(policies.resource, "resource", 0, effect, request);
  return { identity, resource };
}

function allowed(policies: PolicySet, found: { identity?: Found; resource?: Found }): Found | undefined {
  const { identity, resource } = found;
  if (policies.resource?.kind === "trust") {
    if (resource === undefined) return undefined;
    return resource.match === "specific" ? resource : identity && resource;
  }
  if (identity !== undefined) return identity;
  return resource?.match === "specific" ? resource : undefined;
}

/**
 * Decides `request` against `policies`: ExplicitDeny if any applicable statement denies any of its
 * resources, else Allow if every resource is allowed, else ImplicitDeny.
 */
export function evaluate(request: AuthorizationRequest, policies: PolicySet): EvaluationResult {
  const action = request.action;
  const context = request.context ?? EMPTY_CONTEXT;
  const caller: CallerPrincipal =
    request.principalAccount === undefined ? { arn: request.principalArn } : { arn: request.principalArn, account: request.principalAccount };
  const resources = request.resources.length === 0 ? ANY_RESOURCE : request.resources;
  for (const resource of resources) {
    const denied = findInSet(policies, "Deny", { action, resource, context, caller });
    const deny = denied.identity ?? denied.resource;
    if (deny !== undefined) return { decision: "ExplicitDeny", statement: deny.statement, resource, missing: undefined };
  }
  let last: EvaluationResult | undefined;
  for (const resource of resources) {
    const found = findInSet(policies, "Allow", { action, resource, context, caller });
    const allow = allowed(policies, found);
    if (allow === undefined) {
      const missing: PolicyType = policies.resource !== undefined && found.resource === undefined ? "resource" : "identity";
      return { decision: "ImplicitDeny", statement: undefined, resource, missing };
    }
    last = { decision: "Allow", statement: allow.statement, resource, missing: undefined };
  }
  return last as EvaluationResult;
}

const POLICY_WORDS: Readonly<Record<PolicyType, string>> = { identity: "identity-based", resource: "resource-based" };
const ARTICLES: Readonly<Record<PolicyType, string>> = { identity: "an", resource: "a" };

/**
 * AWS's AccessDenied text, e.g. "User: arn:aws:iam::123456789012:user/ci is not authorized to
 * perform: ecs:ListClusters on resource: * because no identity-based policy allows the
 * ecs:ListClusters action", or "… with an explicit deny in an identity-based policy".
 */
export function accessDeniedMessage(request: Pick<AuthorizationRequest, "principalArn" | "action">, result: EvaluationResult): string {
  const head = `User: ${request.principalArn} is not authorized to perform: ${request.action} on resource: ${result.resource}`;
  // Explicit deny: "… with an explicit deny in a resource-based policy" is seen verbatim; the
  // identity-based form follows the same pattern (wording not confirmed).
  if (result.decision === "ExplicitDeny") {
    const type = result.statement?.policyType ?? "identity";
    return `${head} with an explicit deny in ${ARTICLES[type]} ${POLICY_WORDS[type]} policy`;
  }
  // "because no resource-based policy allows …": wording not confirmed (the identity form is).
  return `${head} because no ${POLICY_WORDS[result.missing ?? "identity"]} policy allows the ${request.action} action`;
}

/** The AccessDeniedException (HTTP 403) for a denied request. */
export function accessDenied(request: Pick<AuthorizationRequest, "principalArn" | "action">, result: EvaluationResult): AwsError {
  return accessDeniedException(accessDeniedMessage(request, result));
}
