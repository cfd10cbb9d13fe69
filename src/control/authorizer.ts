// Policy decisions for callers other than the account's root (IAM User Guide, "Policy evaluation
// logic"): the identity policies of the user or role (inline and attached), bounded by a session
// policy when AssumeRole was given one, and for AssumeRole the role's trust policy.
//
// An entity's compiled policies are kept for POLICY_CACHE_MS (2 s), so a policy change takes effect
// on every replica within that. Decisions are kept too, bound to the compiled policies they were
// made under (a refresh of the entity drops them) and to everything else a decision reads: the
// caller, action, resources, source address, transport, request and resource tags, service keys
// and the second (aws:CurrentTime and aws:EpochTime change once a second). A request repeating one
// that was decided costs a key and a map lookup instead of building its condition context and
// trying every statement (a 20-statement policy's evaluation was 15–20 % of a request's CPU).
// A policy document that no longer parses (it was checked when written) fails the request closed
// rather than being skipped: skipping a Deny would widen access. A resource-based policy (an ECR
// repository's) handed in with the query is evaluated together with the identity policies.
import { accessDeniedException } from "../core/errors.js";
import type { CallerIdentity, ContextValue, EvaluationResult, PolicyDocument, RequestFacts, RequestPrincipal } from "../core/iam/index.js";
import { accessDeniedMessage, evaluate, parsePolicyDocument, requestContext } from "../core/iam/index.js";

/** The IAM store's reads the decisions need (store.iam). */
export interface IamPolicySource {
  getRole(name: string): Promise<
    | {
        readonly arn: string;
        readonly roleId: string;
        readonly tags: ReadonlyMap<string, string>;
        readonly assumeRolePolicyDocument: string;
        readonly maxSessionDuration: number;
      }
    | undefined
  >;
  getUser(name: string): Promise<{ readonly arn: string; readonly userId: string; readonly tags: ReadonlyMap<string, string> } | undefined>;
  /** Inline and attached (default version) identity policies as JSON texts; undefined when the entity does not exist. */
  policyDocumentsOf(kind: "role" | "user", name: string): Promise<readonly string[] | undefined>;
}

/** One API call as the policy engine sees it. */
export interface AuthorizationQuery {
  /** "service:Action", e.g. "ecs:RunTask". */
  readonly action: string;
  /** Every ARN the operation touches ("*" for none in particular). */
  readonly resources: readonly string[];
  /** Service condition keys (ecs:cluster, iam:PassedToService, …). */
  readonly extra?: Readonly<Record<string, ContextValue>>;
  readonly requestTags?: ReadonlyMap<string, string>;
  readonly resourceTags?: ReadonlyMap<string, string>;
  /** The tags of one resource (aws:ResourceTag/…), read only when a policy in force names that key. */
  readonly resourceTagsOf?: (resource: string) => Promise<ReadonlyMap<string, string> | undefined>;
  readonly sourceIp?: string;
  readonly secureTransport?: boolean;
  /**
   * The resource-based policy of the resource acted on (an ECR repository's policy), as stored;
   * with it the call is decided as AWS decides within one account: an explicit Deny in it or in the
   * identity policies denies, otherwise an Allow in either allows (a statement naming the caller,
   * or "*"; one naming only the account leaves the decision to the identity policies).
   */
  readonly resourcePolicy?: string;
}

export interface Denial {
  readonly message: string;
  /** A statement denied it (rather than none allowing it). */
  readonly explicit: boolean;
}

/** Whether a role may act, with AWS's message when it may not (the execution role resolving a task's secrets). */
export type RoleDecision = { readonly allowed: true } | { readonly allowed: false; readonly message: string };

export interface RolePermissionCheck {
  /**
   * Whether the role's identity policies (with the resource's own policy, when given: an ECR
   * repository's) allow `action` on `resource` (explicit deny wins); messages name the session
   * arn:…:assumed-role/<role>/<sessionName>.
   */
  roleMay(roleArn: string, action: string, resource: string, sessionName: string, resourcePolicy?: string): Promise<RoleDecision>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const POLICY_CACHE_MS = 2_000;
const MAX_CACHED_ENTITIES = 10_000;
const MAX_COMPILED_DOCUMENTS = 2_000;
/** Decisions kept across all entities; a key longer than MAX_DECISION_KEY (many resources, many tags) is decided every time. */
const MAX_CACHED_DECISIONS = 10_000;
const MAX_DECISION_KEY = 2_048;

/** One decision's inputs: the caller and its entity's policies, the call, one resource's tags, a session policy, when. */
interface OneDecision {
  readonly caller: Exclude<CallerIdentity, { kind: "root" }>;
  readonly entity: EntityPolicies;
  readonly query: AuthorizationQuery;
  readonly request: { readonly principalArn: string; readonly action: string; readonly resources: readonly string[] };
  readonly resourceTags: ReadonlyMap<string, string> | undefined;
  readonly sessionPolicy: string | undefined;
  readonly now: number;
}

interface EntityPolicies {
  readonly arn: string;
  /** The user's id, or the role's (AROA…). */
  readonly id: string;
  readonly tags: ReadonlyMap<string, string>;
  readonly policies: readonly PolicyDocument[];
  /** Whether any of them names aws:ResourceTag/… (only then are a resource's tags read). */
  readonly usesResourceTags: boolean;
}

/** Whether a policy's conditions read aws:ResourceTag/… (keys as compiled: lower-cased, JSON escapes decoded). */
function namesResourceTags(policy: PolicyDocument): boolean {
  return policy.statements.some((statement) => statement.conditions.some((condition) => condition.key.startsWith("aws:resourcetag/")));
}

export class Authorizer implements RolePermissionCheck {
  private readonly entities = new Map<
    string,
    { readonly expiresAt: number; readonly value: Promise<EntityPolicies | undefined>; loaded?: { readonly entity: EntityPolicies | undefined } }
  >();
  private readonly compiled = new Map<string, PolicyDocument>();
  /** Decided requests: valid while `entity` is still the one in force (a refresh makes a new object). */
  private readonly decisions = new Map<string, { readonly entity: EntityPolicies; readonly denial: Denial | undefined }>();

  constructor(
    private readonly source: IamPolicySource,
    private readonly now: () => number,
  ) {}

  /** Throws AccessDeniedException (AWS's message) unless `caller` may make `query`; the root may make any. */
  async authorize(caller: CallerIdentity, query: AuthorizationQuery): Promise<void> {
    const denial = await this.denial(caller, query);
    if (denial !== undefined) throw accessDeniedException(denial.message);
  }

  /** Why `caller` may not make `query` (AWS's AccessDenied message, and whether a policy denied it explicitly), undefined when it may. */
  async denial(caller: CallerIdentity, query: AuthorizationQuery): Promise<Denial | undefined> {
    if (caller.kind === "root") return undefined;
    return this.decideWith(caller, await this.entityOf(caller), query);
  }

  /**
   * denial() without waiting, when nothing needs reading: the caller's entity is loaded and no
   * resource's tags are needed. NOT_YET when something does (then ask denial()). Every call a
   * policy decides goes through here first, so the usual one costs no promise.
   */
  denialNow(caller: CallerIdentity, query: AuthorizationQuery): Denial | undefined | typeof NOT_YET {
    if (caller.kind === "root") return undefined;
    const cached = this.entities.get(caller.kind === "user" ? entityKey("user", caller.userName) : entityKey("role", caller.roleName));
    if (cached === undefined || cached.loaded === undefined || cached.expiresAt <= this.now()) return NOT_YET;
    const entity = cached.loaded.entity;
    if (entity !== undefined && this.needsResourceTags(caller, entity, query) && query.resources.some((resource) => resource !== "*")) return NOT_YET;
    const decided = this.decideWith(caller, entity, query);
    return decided instanceof Promise ? NOT_YET : decided;
  }

  private needsResourceTags(caller: Exclude<CallerIdentity, { kind: "root" }>, entity: EntityPolicies, query: AuthorizationQuery): boolean {
    const sessionPolicy = caller.kind === "role-session" ? caller.sessionPolicy : undefined;
    return query.resourceTagsOf !== undefined && (entity.usesResourceTags || (sessionPolicy !== undefined && namesResourceTags(this.compile(sessionPolicy))));
  }

  private decideWith(
    caller: Exclude<CallerIdentity, { kind: "root" }>,
    entity: EntityPolicies | undefined,
    query: AuthorizationQuery,
  ): Denial | undefined | Promise<Denial | undefined> {
    const request = { principalArn: caller.arn, action: query.action, resources: query.resources.length > 0 ? query.resources : ["*"] };
    if (entity === undefined || !sameEntity(caller, entity)) {
      // The user or role is gone while its key or session is still good (or another one now has
      // its name: sessions belong to the entity's unique id, as in AWS): nothing allows it.
      return { message: accessDeniedMessage(request, implicitDeny(request.resources[0] as string)), explicit: false };
    }
    const sessionPolicy = caller.kind === "role-session" && caller.sessionPolicy !== undefined ? caller.sessionPolicy : undefined;
    const tagsOf = query.resourceTagsOf;
    if (tagsOf !== undefined && this.needsResourceTags(caller, entity, query)) {
      // aws:ResourceTag/… is a property of each resource: decided one resource at a time, each
      // with its own tags ("*" names no resource and has none).
      if (request.resources.every((resource) => resource === "*")) return this.decide(caller, entity, query, request, undefined, sessionPolicy);
      return (async () => {
        for (const resource of request.resources) {
          const tags = resource === "*" ? undefined : await tagsOf(resource);
          const denial = this.decide(caller, entity, query, { ...request, resources: [resource] }, tags, sessionPolicy);
          if (denial !== undefined) return denial;
        }
        return undefined;
      })();
    }
    return this.decide(caller, entity, query, request, query.resourceTags, sessionPolicy);
  }

  /** decide(), or the decision an identical request got under the same compiled policies within the same second. */
  private decide(
    caller: Exclude<CallerIdentity, { kind: "root" }>,
    entity: EntityPolicies,
    query: AuthorizationQuery,
    request: OneDecision["request"],
    resourceTags: ReadonlyMap<string, string> | undefined,
    sessionPolicy: string | undefined,
  ): Denial | undefined {
    const decision: OneDecision = { caller, entity, query, request, resourceTags, sessionPolicy, now: this.now() };
    const key = decisionKey(decision);
    if (key === undefined) return this.evaluateRequest(decision);
    const cached = this.decisions.get(key);
    if (cached !== undefined && cached.entity === entity) return cached.denial;
    const denial = this.evaluateRequest(decision);
    if (this.decisions.size >= MAX_CACHED_DECISIONS) this.decisions.clear();
    this.decisions.set(key, { entity, denial });
    return denial;
  }

  private evaluateRequest({ caller, entity, query, request, resourceTags, sessionPolicy, now }: OneDecision): Denial | undefined {
    const facts: Mutable<RequestFacts> = { principal: requestPrincipal(caller, entity), now: new Date(now) };
    if (query.sourceIp !== undefined) facts.sourceIp = query.sourceIp;
    if (query.secureTransport !== undefined) facts.secureTransport = query.secureTransport;
    if (query.requestTags !== undefined) facts.requestTags = query.requestTags;
    if (resourceTags !== undefined) facts.resourceTags = resourceTags;
    if (query.extra !== undefined) facts.extra = query.extra;
    const context = requestContext(facts);
    const resource = query.resourcePolicy === undefined ? undefined : this.compile(query.resourcePolicy, "resource");
    const result = evaluate({ ...request, context }, resource === undefined ? { identity: entity.policies } : { identity: entity.policies, resource });
    if (result.decision !== "Allow") {
      // Within one account either kind of policy may allow: a refusal names the identity policies, as without a resource policy.
      const named = result.decision === "ImplicitDeny" ? { ...result, missing: "identity" as const } : result;
      return { message: accessDeniedMessage(request, named), explicit: result.decision === "ExplicitDeny" };
    }
    if (sessionPolicy !== undefined) {
      const bounded = evaluate({ ...request, context }, { identity: [this.compile(sessionPolicy)] });
      // AWS names the session policy in this denial: "… because no session policy allows the … action" (wording not confirmed).
      if (bounded.decision !== "Allow") return { message: sessionPolicyDenial(request, bounded), explicit: bounded.decision === "ExplicitDeny" };
    }
    return undefined;
  }

  /**
   * Why `caller` may not assume `role`, or undefined when it may: the trust policy must allow
   * sts:AssumeRole for the caller (a user or role session of this account, or a service principal
   * name such as ecs-tasks.amazonaws.com), and when it names only the account, the caller's own
   * policies must allow it too (evaluate() applies both rules).
   */
  async assumeRoleDenial(
    caller: CallerIdentity | { readonly kind: "service"; readonly service: string; readonly account: string },
    role: { readonly arn: string; readonly assumeRolePolicyDocument: string },
    extra: Readonly<Record<string, ContextValue>> = {},
  ): Promise<string | undefined> {
    const trust = parsePolicyDocument(role.assumeRolePolicyDocument, "trust");
    const action = "sts:AssumeRole";
    if (caller.kind === "service") {
      const request = { principalArn: caller.service, principalAccount: caller.account, action, resources: [role.arn] };
      const result = evaluate(
        {
          ...request,
          context: requestContext({ principal: { type: "Account", arn: caller.service, account: caller.account }, now: new Date(this.now()), extra }),
        },
        { identity: [], resource: trust },
      );
      return result.decision === "Allow" ? undefined : `${caller.service} is not authorized to perform: ${action} on resource: ${role.arn}`;
    }
    const request = { principalArn: caller.arn, action, resources: [role.arn] };
    const denied = `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${role.arn}`;
    if (caller.kind === "root") return denied;
    const entity = await this.entityOf(caller);
    if (entity === undefined || !sameEntity(caller, entity)) return denied;
    const context = requestContext({ principal: requestPrincipal(caller, entity), now: new Date(this.now()), extra });
    const result = evaluate({ ...request, context }, { identity: entity.policies, resource: trust });
    if (result.decision !== "Allow") return denied;
    if (caller.kind === "role-session" && caller.sessionPolicy !== undefined) {
      if (evaluate({ ...request, context }, { identity: [this.compile(caller.sessionPolicy)] }).decision !== "Allow") return denied;
    }
    return undefined;
  }

  async roleMay(roleArn: string, action: string, resource: string, sessionName: string, resourcePolicy?: string): Promise<RoleDecision> {
    const roleName = roleNameOf(roleArn);
    const sessionArn = assumedRoleArn(roleArn, sessionName);
    const entity = roleName === undefined ? undefined : await this.entity("role", roleName);
    if (entity === undefined || entity.arn !== roleArn || roleName === undefined) {
      return { allowed: false, message: accessDeniedMessage({ principalArn: sessionArn, action }, implicitDeny(resource)) };
    }
    const caller: CallerIdentity = {
      kind: "role-session",
      arn: sessionArn,
      account: accountOf(roleArn),
      roleArn,
      roleName,
      roleId: entity.id,
      sessionName,
    };
    const denial = await this.denial(
      caller,
      resourcePolicy === undefined ? { action, resources: [resource] } : { action, resources: [resource], resourcePolicy },
    );
    return denial === undefined ? { allowed: true } : { allowed: false, message: denial.message };
  }

  /** The compiled identity policies of a caller's user or role (cached), undefined when it no longer exists. */
  private entityOf(caller: Exclude<CallerIdentity, { kind: "root" }>): Promise<EntityPolicies | undefined> {
    return caller.kind === "user" ? this.entity("user", caller.userName) : this.entity("role", caller.roleName);
  }

  private entity(kind: "user" | "role", name: string): Promise<EntityPolicies | undefined> {
    const key = entityKey(kind, name);
    const now = this.now();
    const cached = this.entities.get(key);
    if (cached !== undefined && cached.expiresAt > now) return cached.value;
    if (this.entities.size >= MAX_CACHED_ENTITIES) this.entities.clear();
    const value = this.load(kind, name);
    const entry: { readonly expiresAt: number; readonly value: typeof value; loaded?: { readonly entity: EntityPolicies | undefined } } = {
      expiresAt: now + POLICY_CACHE_MS,
      value,
    };
    this.entities.set(key, entry);
    value.then(
      (entity) => (entry.loaded = { entity }),
      // A failed read is not kept: the next request reads again.
      () => {
        if (this.entities.get(key) === entry) this.entities.delete(key);
      },
    );
    return value;
  }

  private async load(kind: "user" | "role", name: string): Promise<EntityPolicies | undefined> {
    const entity = kind === "user" ? await this.source.getUser(name) : await this.source.getRole(name);
    if (entity === undefined) return undefined;
    const texts = await this.source.policyDocumentsOf(kind, name);
    if (texts === undefined) return undefined;
    return {
      arn: entity.arn,
      id: "userId" in entity ? entity.userId : entity.roleId,
      tags: entity.tags,
      policies: texts.map((text) => this.compile(text)),
      usesResourceTags: texts.some((text) => namesResourceTags(this.compile(text))),
    };
  }

  /** A stored policy compiled once (managed policies are shared by many entities; a repository's is read on each of its calls). */
  private compile(text: string, kind: "identity" | "resource" = "identity"): PolicyDocument {
    const key = kind === "identity" ? text : `resource\0${text}`;
    let document = this.compiled.get(key);
    if (document === undefined) {
      document = parsePolicyDocument(text, kind);
      if (this.compiled.size >= MAX_COMPILED_DOCUMENTS) this.compiled.clear();
      this.compiled.set(key, document);
    }
    return document;
  }
}

/**
 * Everything a decision reads but the entity's policies, tags and id (the cache entry is bound to
 * those). What a caller sends (the action's operation, resources, tags, service keys) goes in with
 * its length first or as JSON, so that no hostile value can make two different requests one key.
 * Undefined when too long to keep, or when a session policy also decides (kept apart: rare).
 */
function decisionKey({ caller, query, request, resourceTags, sessionPolicy, now }: OneDecision): string | undefined {
  // A resource policy is up to 10,240 characters: such decisions are made each time (still µs).
  if (sessionPolicy !== undefined || query.resourcePolicy !== undefined) return undefined;
  const secure = query.secureTransport === undefined ? "-" : query.secureTransport ? "1" : "0";
  let key = `${caller.kind === "role-session" ? `${caller.roleArn} ` : ""}${caller.arn} ${Math.floor(now / 1000)} ${query.sourceIp ?? "-"} ${secure} ${request.action.length}:${request.action}`;
  for (const resource of request.resources) {
    key += ` ${resource.length}:${resource}`;
    if (key.length > MAX_DECISION_KEY) return undefined;
  }
  if (query.requestTags !== undefined || resourceTags !== undefined || query.extra !== undefined) {
    key += ` ${JSON.stringify([query.requestTags === undefined ? null : [...query.requestTags], resourceTags === undefined ? null : [...resourceTags], query.extra ?? null])}`;
  }
  return key.length > MAX_DECISION_KEY ? undefined : key;
}

/** Answered by denialNow when the decision needs a read first. */
export const NOT_YET: unique symbol = Symbol("not yet");

/** The entities cache's key of a user or role. */
function entityKey(kind: "user" | "role", name: string): string {
  return `${kind}\0${name}`;
}

/** Whether the stored entity is the one the caller's session was issued for (same unique id). */
function sameEntity(caller: Exclude<CallerIdentity, { kind: "root" }>, entity: EntityPolicies): boolean {
  if (caller.kind === "role-session") return caller.roleId === entity.id;
  return caller.userId === undefined || caller.userId === entity.id;
}

function requestPrincipal(caller: Exclude<CallerIdentity, { kind: "root" }>, entity: EntityPolicies): RequestPrincipal {
  if (caller.kind === "user")
    return { type: "User", arn: caller.arn, account: caller.account, userName: caller.userName, userId: entity.id, tags: entity.tags };
  return {
    type: "AssumedRole",
    arn: caller.arn,
    account: caller.account,
    roleArn: caller.roleArn,
    userId: `${entity.id}:${caller.sessionName}`,
    tags: entity.tags,
  };
}

function implicitDeny(resource: string): EvaluationResult {
  return { decision: "ImplicitDeny", statement: undefined, resource, missing: "identity" };
}

function sessionPolicyDenial(request: { principalArn: string; action: string }, result: EvaluationResult): string {
  const head = `User: ${request.principalArn} is not authorized to perform: ${request.action} on resource: ${result.resource}`;
  return result.decision === "ExplicitDeny"
    ? `${head} with an explicit deny in a session policy`
    : `${head} because no session policy allows the ${request.action} action`;
}

/** The role name of a role ARN (its last path segment), undefined when it is not one. */
export function roleNameOf(roleArn: string): string | undefined {
  const match = /^arn:[a-z-]+:iam::\d{12}:role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]{1,64})$/.exec(roleArn);
  return match?.[1];
}

function accountOf(arn: string): string {
  return arn.split(":")[4] ?? "";
}

/** arn:<partition>:sts::<account>:assumed-role/<role name>/<session name> */
export function assumedRoleArn(roleArn: string, sessionName: string): string {
  const [, partition = "aws"] = roleArn.split(":");
  return `arn:${partition}:sts::${accountOf(roleArn)}:assumed-role/${roleNameOf(roleArn) ?? ""}/${sessionName}`;
}
