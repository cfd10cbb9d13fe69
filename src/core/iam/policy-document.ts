// Parsing and validating an IAM policy document (IAM User Guide, "IAM JSON policy elements
// reference" and "Grammar of the IAM JSON policy language"), compiled once into the form the
// evaluator runs on every API call: actions lower-cased into globs (action names are
// case-insensitive), resources into ARN matchers (ARNs are case-sensitive), condition keys
// lower-cased (case-insensitive), principals and conditions into closures.
//
//   policy     = { "Version"?, "Id"?, "Statement": statement | [statement, …] }
//   statement  = { "Sid"?, "Effect": "Allow" | "Deny",
//                  "Principal" | "NotPrincipal"   (trust and resource policies only; required there),
//                  "Action" | "NotAction"         (required),
//                  "Resource" | "NotResource"     (required in identity policies, prohibited in trust policies),
//                  "Condition"? }
//
// A missing Version means 2008-10-17, which has no policy variables. Anything else in the document
// (unknown fields, both Action and NotAction, a number where a string belongs, duplicate keys) is
// "Syntax errors in policy.".

import type { AwsError } from "../errors.js";
import { compileArnPattern, isArnOrStar, parseArn, type ArnPattern } from "./arn-matching.js";
import { compileCondition, ConditionGrammarError, type CompiledCondition } from "./condition-operators.js";
import { MESSAGES, malformedPolicyDocument } from "./policy-errors.js";
import { parseTemplate, ResolvedTemplateCache, staticParts, type ConditionContext } from "./policy-variables.js";
import { compilePrincipal, PrincipalGrammarError, type CompiledPrincipal, type PrincipalExists } from "./principal.js";
import { parseStrictJson, StrictJsonError } from "./strict-json.js";
import { compileWildcard, type Glob } from "./wildcard.js";

export type PolicyKind = "identity" | "trust" | "resource";
export type PolicyVersion = "2012-10-17" | "2008-10-17";
export type Effect = "Allow" | "Deny";

/** IAM's API model caps PolicyDocument at 131,072 characters; quotas (policy-errors.ts) are far lower. */
export const MAX_POLICY_DOCUMENT_LENGTH = 131072;
const MAX_JSON_DEPTH = 16;

const TOP_LEVEL = new Set(["Version", "Id", "Statement"]);
const STATEMENT_FIELDS = new Set(["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"]);
const SID = /^[0-9A-Za-z]*$/;

/** Action patterns, lower-cased: exact names in a set, wildcard ones as globs. */
export interface ActionMatcher {
  matches(lowerCaseAction: string): boolean;
}

export interface ResourceMatcher {
  matches(resource: string, context: ConditionContext): boolean;
}

export interface CompiledStatement {
  /** Position in the document (0-based), for messages and logs. */
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: Effect;
  readonly actions: ActionMatcher;
  readonly notAction: boolean;
  /** undefined: the statement has no Resource element (resource policies), so it covers the resource it is attached to. */
  readonly resources: ResourceMatcher | undefined;
  readonly notResource: boolean;
  readonly principal: CompiledPrincipal | undefined;
  readonly notPrincipal: boolean;
  readonly conditions: readonly CompiledCondition[];
}

export interface StatementsByEffect {
  readonly deny: readonly CompiledStatement[];
  readonly allow: readonly CompiledStatement[];
}

export interface PolicyDocument {
  readonly kind: PolicyKind;
  readonly version: PolicyVersion;
  readonly id: string | undefined;
  readonly statements: readonly CompiledStatement[];
  /** The statements whose Action/NotAction covers `action` (as the request spells it), by effect; memoised per action. */
  statementsFor(action: string): StatementsByEffect;
}

/** Actions remembered per policy; a service has a few hundred, so the bound only stops abuse. */
const MAX_MEMOISED_ACTIONS = 2048;

function actionIndex(statements: readonly CompiledStatement[]): (action: string) => StatementsByEffect {
  const memo = new Map<string, StatementsByEffect>();
  return (action) => {
    let found = memo.get(action);
    if (found !== undefined) return found;
    const lower = action.toLowerCase();
    const covering = statements.filter((statement) => statement.actions.matches(lower) !== statement.notAction);
    found = { deny: covering.filter((statement) => statement.effect === "Deny"), allow: covering.filter((statement) => statement.effect === "Allow") };
    if (memo.size >= MAX_MEMOISED_ACTIONS) memo.clear();
    memo.set(action, found);
    return found;
  };
}

function syntax(cause?: unknown): AwsError {
  return malformedPolicyDocument(MESSAGES.syntax, cause);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A string or a non-empty list of strings; anything else is a syntax error. */
function stringList(value: unknown): string[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (!list.every((item): item is string => typeof item === "string")) throw syntax();
  return list;
}

class Actions implements ActionMatcher {
  private readonly exact = new Set<string>();
  private readonly globs: Glob[] = [];
  private any = false;

  constructor(patterns: readonly string[]) {
    for (const pattern of patterns) {
      validateAction(pattern);
      if (pattern === "*") this.any = true;
      else if (pattern.includes("*") || pattern.includes("?")) this.globs.push(compileWildcard(pattern, true));
      else this.exact.add(pattern.toLowerCase());
    }
  }

  matches(action: string): boolean {
    if (this.any || this.exact.has(action)) return true;
    for (const glob of this.globs) if (glob.matches(action)) return true;
    return false;
  }
}

function validateAction(action: string): void {
  if (action === "*") return;
  const colon = action.indexOf(":");
  if (colon < 0) throw malformedPolicyDocument(MESSAGES.vendorPrefix);
  if (action.indexOf(":", colon + 1) >= 0) throw malformedPolicyDocument(MESSAGES.oneColon);
  const vendor = action.slice(0, colon);
  if (vendor.length === 0) throw malformedPolicyDocument(MESSAGES.vendorPrefix);
  if (vendor.includes("*") || vendor.includes("?")) throw malformedPolicyDocument(MESSAGES.vendorWildcard);
}

class Resources implements ResourceMatcher {
  private readonly fixed: ArnPattern[] = [];
  private readonly dynamic: ResolvedTemplateCache<ArnPattern>[] = [];

  constructor(values: readonly string[], variablesAllowed: boolean) {
    for (const value of values) {
      if (!isArnOrStar(value)) throw malformedPolicyDocument(MESSAGES.resourceArn(value));
      const arn = parseArn(value);
      if (arn?.service === "iam" && arn.region !== "") throw malformedPolicyDocument(MESSAGES.iamRegion(value));
      const template = parseTemplate(value, variablesAllowed);
      if (template.dynamic) this.dynamic.push(new ResolvedTemplateCache(template, compileArnPattern));
      else this.fixed.push(compileArnPattern(staticParts(template)));
    }
  }

  matches(resource: string, context: ConditionContext): boolean {
    for (const pattern of this.fixed) if (pattern.matches(resource)) return true;
    for (const cache of this.dynamic) if (cache.get(context)?.matches(resource) === true) return true;
    return false;
  }
}

function compileConditions(raw: unknown, variablesAllowed: boolean): CompiledCondition[] {
  if (raw === undefined) return [];
  if (!isObject(raw)) throw syntax();
  const conditions: CompiledCondition[] = [];
  for (const [operator, block] of Object.entries(raw)) {
    if (!isObject(block)) throw syntax();
    for (const [key, values] of Object.entries(block)) {
      try {
        conditions.push(compileCondition(operator, key, values, variablesAllowed));
      } catch (error) {
        throw error instanceof ConditionGrammarError ? syntax(error) : error;
      }
    }
  }
  return conditions;
}

function compilePrincipalField(raw: unknown, exists: PrincipalExists | undefined): CompiledPrincipal {
  try {
    return compilePrincipal(raw, exists);
  } catch (error) {
    throw error instanceof PrincipalGrammarError ? malformedPolicyDocument(error.message, error) : error;
  }
}

/** The one-of pairs: both present is a syntax error; returns the value and whether it is the Not form. */
function either(statement: Record<string, unknown>, field: string): { value: unknown; not: boolean } | undefined {
  const plain = Object.hasOwn(statement, field);
  const not = Object.hasOwn(statement, `Not${field}`);
  if (plain && not) throw syntax();
  if (!plain && !not) return undefined;
  return { value: plain ? statement[field] : statement[`Not${field}`], not };
}

function checkPrincipalRules(kind: PolicyKind, principal: { value: unknown; not: boolean } | undefined): void {
  if (kind === "identity" && principal !== undefined) throw malformedPolicyDocument(MESSAGES.principalInIdentityPolicy);
  if (kind === "trust" && principal === undefined) throw malformedPolicyDocument(MESSAGES.noPrincipal);
  if (kind === "resource" && principal === undefined) throw malformedPolicyDocument(MESSAGES.resourcePolicyPrincipal);
}

function compileResources(kind: PolicyKind, resource: { value: unknown; not: boolean } | undefined, variablesAllowed: boolean): ResourceMatcher | undefined {
  if (kind === "trust" && resource !== undefined) throw malformedPolicyDocument(MESSAGES.prohibitedField(resource.not ? "NotResource" : "Resource"));
  if (resource === undefined) {
    if (kind === "identity") throw malformedPolicyDocument(MESSAGES.mustContainResources);
    return undefined;
  }
  const values = stringList(resource.value);
  if (values.length === 0) throw malformedPolicyDocument(MESSAGES.mustContainResources);
  return new Resources(values, variablesAllowed);
}

export interface ParseOptions {
  /** Checks that users and roles named as principals exist (IAM rejects the policy otherwise). */
  readonly principalExists?: PrincipalExists;
}

function compileStatement(raw: unknown, index: number, kind: PolicyKind, version: PolicyVersion, options: ParseOptions): CompiledStatement {
  if (!isObject(raw)) throw syntax();
  for (const field of Object.keys(raw)) if (!STATEMENT_FIELDS.has(field)) throw syntax();
  const sid = raw.Sid;
  if (sid !== undefined && typeof sid !== "string") throw syntax();
  if (sid !== undefined && kind !== "resource" && !SID.test(sid)) throw malformedPolicyDocument(MESSAGES.sidAlphanumeric);
  const effect = raw.Effect;
  if (effect !== "Allow" && effect !== "Deny") throw syntax();
  const principal = either(raw, "Principal");
  checkPrincipalRules(kind, principal);
  const action = either(raw, "Action");
  const actions = action === undefined ? [] : stringList(action.value);
  if (actions.length === 0) throw malformedPolicyDocument(MESSAGES.mustContainActions);
  const variablesAllowed = version === "2012-10-17";
  const resource = either(raw, "Resource");
  return {
    index,
    sid,
    effect,
    actions: new Actions(actions),
    notAction: action?.not === true,
    resources: compileResources(kind, resource, variablesAllowed),
    notResource: resource?.not === true,
    principal: principal === undefined ? undefined : compilePrincipalField(principal.value, options.principalExists),
    notPrincipal: principal?.not === true,
    conditions: compileConditions(raw.Condition, variablesAllowed),
  };
}

// IAM User Guide, "IAM and AWS STS quotas": policy documents hold only tab, line feed, carriage
// return and U+0020–U+00FF (the API model's pattern for PolicyDocument). IAM's API answers a
// ValidationError before the grammar is read; the gateway should check first, this is the backstop.
const POLICY_CHARACTERS = /^[\t\n\r\u0020-\u00ff]*$/;

function readDocument(text: string): Record<string, unknown> {
  if (typeof text !== "string" || text.length > MAX_POLICY_DOCUMENT_LENGTH || !POLICY_CHARACTERS.test(text)) throw syntax();
  let document: unknown;
  try {
    document = parseStrictJson(text, MAX_JSON_DEPTH);
  } catch (error) {
    throw error instanceof StrictJsonError ? syntax(error) : error;
  }
  if (!isObject(document)) throw syntax();
  for (const field of Object.keys(document)) if (!TOP_LEVEL.has(field)) throw syntax();
  return document;
}

function readVersion(raw: unknown): PolicyVersion {
  if (raw === undefined) return "2008-10-17";
  // wording not confirmed: IAM's answer to an unknown Version.
  if (raw !== "2012-10-17" && raw !== "2008-10-17") throw syntax();
  return raw;
}

/**
 * Parses, validates and compiles a policy document of `kind`: "identity" (managed and inline
 * policies), "trust" (a role's assume-role policy) or "resource" (a policy attached to a resource).
 * Throws MalformedPolicyDocument with IAM's message. Size quotas are checked apart (assertPolicySize).
 */
export function parsePolicyDocument(text: string, kind: PolicyKind, options: ParseOptions = {}): PolicyDocument {
  const document = readDocument(text);
  const version = readVersion(document.Version);
  const id = document.Id;
  if (id !== undefined && typeof id !== "string") throw syntax();
  const rawStatements = Array.isArray(document.Statement) ? (document.Statement as unknown[]) : document.Statement === undefined ? [] : [document.Statement];
  if (rawStatements.length === 0) throw syntax();
  const statements = rawStatements.map((statement, index) => compileStatement(statement, index, kind, version, options));
  const sids = new Set<string>();
  for (const { sid } of statements) {
    if (sid === undefined || sid === "") continue;
    if (sids.has(sid)) throw malformedPolicyDocument(MESSAGES.sidUnique);
    sids.add(sid);
  }
  return { kind, version, id, statements, statementsFor: actionIndex(statements) };
}
