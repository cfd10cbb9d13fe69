// The IAM policy library's public surface (README.md in this folder maps the files).
export { parsePolicyDocument, MAX_POLICY_DOCUMENT_LENGTH } from "./policy-document.js";
export type { PolicyDocument, PolicyKind, PolicyVersion, CompiledStatement, Effect, ParseOptions, StatementsByEffect } from "./policy-document.js";
export type { PrincipalExists, CallerPrincipal } from "./principal.js";
export { evaluate, accessDeniedMessage, accessDenied } from "./policy-evaluation.js";
export type { AuthorizationRequest, PolicySet, EvaluationResult, Decision, DecidingStatement, PolicyType } from "./policy-evaluation.js";
export { conditionContext } from "./policy-variables.js";
export type { ConditionContext, ContextValue } from "./policy-variables.js";
export { assertPolicySize, policySize, POLICY_SIZE_LIMITS, MESSAGES } from "./policy-errors.js";
export type { PolicyQuota } from "./policy-errors.js";
export { requestContext } from "./request-context.js";
export type { RequestFacts, RequestPrincipal, PrincipalType } from "./request-context.js";
export { parseCallerIdentity, identityOfKey } from "./caller-identity.js";
export type { CallerIdentity } from "./caller-identity.js";
