// Policy enforcement on every API call made with a key other than the root's: after the input has
// passed its schema and before the handler runs, the gateway asks this for the call's decision.
// The action is "<signing name>:<Operation>" (the signing names are the IAM service prefixes:
// ecs, logs, ecr, ec2, sts, iam, secretsmanager, ssm; Berth's own summary service is "berth"); the
// resources come from the service's table (ecs-resources.ts, service-resources.ts), "*" for an
// operation a table does not list. Handlers that learn more while they work (the roles a task
// definition names, for iam:PassRole) ask again through RequestContext.authorize.
//
// Rules AWS applies beyond policies: sts:GetCallerIdentity needs no permission; AssumeRole is
// decided by its handler (the trust policy and the caller's policies together); GetSessionToken
// is refused only by an explicit deny (and is not open to sessions); credentials from
// GetSessionToken may not call IAM, and of STS only AssumeRole and GetCallerIdentity.
import { accessDeniedException } from "../../core/errors.js";
import type { CallerIdentity, ContextValue } from "../../core/iam/index.js";
import type { AuthorizationQuery, Authorizer } from "../../control/authorizer.js";
import { NOT_YET } from "../../control/authorizer.js";
import type { RequestContext } from "../service-module.js";

export interface OperationAuthorization {
  /** The action, when not "<service>:<Operation>". */
  readonly action?: string;
  readonly resources: readonly string[];
  readonly extra?: Readonly<Record<string, ContextValue>>;
  /** The resource-based policy of the one resource acted on (an ECR repository's), when it has one. */
  readonly resourcePolicy?: string;
  /** Further actions the same call needs (BatchGetSecretValue: GetSecretValue on each secret). */
  readonly also?: readonly { readonly action: string; readonly resources: readonly string[] }[];
}

export type ResourceResolver = (input: Record<string, unknown>, context: RequestContext) => OperationAuthorization | Promise<OperationAuthorization>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type ResourceTable = Readonly<Record<string, ResourceResolver>>;

export interface AuthorizedCall {
  readonly signingName: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly context: RequestContext;
}

const NEEDS_NO_PERMISSION = new Set(["sts:GetCallerIdentity", "sts:AssumeRole"]);
/** What credentials from GetSessionToken may call of STS (GetSessionToken itself is refused by its handler, in STS's words). */
const SESSION_TOKEN_STS = new Set(["sts:AssumeRole", "sts:GetCallerIdentity", "sts:GetSessionToken"]);
/**
 * Where each service's requests carry the tags they set, exactly as its handlers read them: the
 * policy must decide on the tags the handler will store. Reading any other spelling (a `tags`
 * member ACM ignores, a `key` inside ECR's `{Key, Value}` entries) would let a caller show the
 * policy one set of tags and store another.
 */
const TAG_MEMBERS: Readonly<Record<string, { readonly member: string; readonly key: string; readonly value: string } | { readonly map: string }>> = {
  ecs: { member: "tags", key: "key", value: "value" },
  ecr: { member: "tags", key: "Key", value: "Value" },
  logs: { map: "tags" },
  iam: { member: "Tags", key: "Key", value: "Value" },
  sts: { member: "Tags", key: "Key", value: "Value" },
  secretsmanager: { member: "Tags", key: "Key", value: "Value" },
  ssm: { member: "Tags", key: "Key", value: "Value" },
  acm: { member: "Tags", key: "Key", value: "Value" },
  elasticloadbalancing: { member: "Tags", key: "Key", value: "Value" },
  ec2: { member: "Tags", key: "Key", value: "Value" },
};

/**
 * The tags a request sets (aws:RequestTag/…, aws:TagKeys), every one of them (the body's size
 * bounds how many): ECS's `tags: [{key, value}]`, ECR's `tags: [{Key, Value}]`, Logs' `tags: {k: v}`,
 * the others' `Tags: [{Key, Value}]`.
 */
export function requestTagsOf(input: Record<string, unknown>, signingName: string): ReadonlyMap<string, string> | undefined {
  const shape = Object.hasOwn(TAG_MEMBERS, signingName) ? TAG_MEMBERS[signingName] : undefined;
  if (shape === undefined) return undefined;
  const tags = input["map" in shape ? shape.map : shape.member];
  if (tags === undefined || tags === null) return undefined;
  const pairs = new Map<string, string>();
  if ("map" in shape) {
    if (typeof tags === "object" && !Array.isArray(tags))
      for (const [key, value] of Object.entries(tags as Record<string, unknown>)) if (typeof value === "string") pairs.set(key, value);
    return pairs;
  }
  if (!Array.isArray(tags)) return pairs;
  for (const tag of tags) {
    if (typeof tag !== "object" || tag === null) continue;
    const entry = tag as Record<string, unknown>;
    const key = entry[shape.key];
    const value = entry[shape.value] ?? "";
    if (typeof key === "string" && typeof value === "string") pairs.set(key, value);
  }
  return pairs;
}

/**
 * The gateway's check of one call: throws AccessDeniedException when it is refused, answers
 * undefined when it is allowed without reading anything (the usual call: the caller's policies are
 * cached and the table answers at once), or a promise when it must read first.
 */
export function createRequestAuthorizer(
  authorizer: Authorizer,
  tables: ReadonlyMap<string, ResourceTable>,
  resourceTagsOf?: AuthorizationQuery["resourceTagsOf"],
): (call: AuthorizedCall) => Promise<void> | undefined {
  return ({ signingName, operation, input, context }) => {
    const caller = context.caller;
    if (caller.kind === "root") return undefined;
    const action = `${signingName}:${operation}`;
    if (caller.kind === "user" && caller.session && (signingName === "iam" || (signingName === "sts" && !SESSION_TOKEN_STS.has(action)))) {
      // AWS: credentials from GetSessionToken cannot call IAM (without MFA, which Berth has not), nor STS but these two.
      throw accessDeniedException(
        `User: ${caller.arn} is not authorized to perform: ${action} on resource: * because no identity-based policy allows the ${action} action`,
      ); // wording not confirmed
    }
    if (NEEDS_NO_PERMISSION.has(action)) return undefined;
    const table = tables.get(signingName);
    const resolve = table !== undefined && Object.hasOwn(table, operation) ? table[operation] : undefined;
    const resolved = resolve ? resolve(input, context) : ANY_RESOURCE;
    const call = { authorizer, caller, action, signingName, input, context, resourceTagsOf };
    return resolved instanceof Promise ? resolved.then((found) => decideCall(call, found)) : decideCall(call, resolved);
  };
}

/** The decisions of one call once its resources are known: the operation's, then any further actions it needs. */
function decideCall(
  call: {
    readonly authorizer: Authorizer;
    readonly caller: CallerIdentity;
    readonly action: string;
    readonly signingName: string;
    readonly input: Record<string, unknown>;
    readonly context: RequestContext;
    readonly resourceTagsOf: AuthorizationQuery["resourceTagsOf"] | undefined;
  },
  found: OperationAuthorization,
): Promise<void> | undefined {
  const { authorizer, caller, action, context } = call;
  const requestTags = requestTagsOf(call.input, call.signingName);
  // Built by assignment, not conditional spreads: this runs on every call a policy decides.
  const common: Mutable<Omit<AuthorizationQuery, "action" | "resources">> = {};
  if (context.sourceIp !== undefined) common.sourceIp = context.sourceIp;
  if (context.secureTransport !== undefined) common.secureTransport = context.secureTransport;
  if (requestTags !== undefined) common.requestTags = requestTags;
  if (found.extra !== undefined) common.extra = found.extra;
  if (call.resourceTagsOf !== undefined) common.resourceTagsOf = call.resourceTagsOf;
  const query: AuthorizationQuery =
    found.resourcePolicy === undefined
      ? { ...common, action: found.action ?? action, resources: found.resources }
      : { ...common, action: found.action ?? action, resources: found.resources, resourcePolicy: found.resourcePolicy };
  if (action === "sts:GetSessionToken") {
    // Allowed unless a policy denies it explicitly (no permission is needed to call it).
    return authorizer.denial(caller, query).then((denial) => {
      if (denial?.explicit) throw accessDeniedException(denial.message);
    });
  }
  const pending = decide(authorizer, caller, query);
  const also = found.also;
  if (also === undefined || also.length === 0) return pending;
  return (async () => {
    await pending;
    for (const more of also) await decide(authorizer, caller, { ...common, action: more.action, resources: more.resources });
  })();
}

const ANY_RESOURCE: OperationAuthorization = { resources: ["*"] };

/** Authorizer.authorize, decided without a promise when nothing needs reading (denialNow). */
function decide(authorizer: Authorizer, caller: CallerIdentity, query: AuthorizationQuery): Promise<void> | undefined {
  const denial = authorizer.denialNow(caller, query);
  if (denial === NOT_YET) return authorizer.authorize(caller, query);
  if (denial !== undefined) throw accessDeniedException(denial.message);
  return undefined;
}

/** The RequestContext.authorize of one call: the same caller, source and condition keys for a further decision. */
export function contextAuthorize(
  authorizer: Authorizer,
  context: Pick<RequestContext, "caller" | "sourceIp" | "secureTransport">,
): (query: AuthorizationQuery) => Promise<void> {
  return (query) => {
    const full: Mutable<AuthorizationQuery> = { ...query };
    if (full.sourceIp === undefined && context.sourceIp !== undefined) full.sourceIp = context.sourceIp;
    if (full.secureTransport === undefined && context.secureTransport !== undefined) full.secureTransport = context.secureTransport;
    return authorizer.authorize(context.caller, full);
  };
}
