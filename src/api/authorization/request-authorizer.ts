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
import type { ContextValue } from "../../core/iam/index.js";
import type { AuthorizationQuery, Authorizer } from "../../control/authorizer.js";
import type { RequestContext } from "../service-module.js";

export interface OperationAuthorization {
  /** The action, when not "<service>:<Operation>". */
  readonly action?: string;
  readonly resources: readonly string[];
  readonly extra?: Readonly<Record<string, ContextValue>>;
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
const MAX_REQUEST_TAGS = 64;

/** The tags a request sets (aws:RequestTag/…, aws:TagKeys): ECS's `tags: [{key, value}]`, IAM's and the JSON services' `Tags: [{Key, Value}]`, Logs' `tags: {k: v}`. */
export function requestTagsOf(input: Record<string, unknown>): ReadonlyMap<string, string> | undefined {
  const tags = input.tags ?? input.Tags;
  if (tags === undefined || tags === null) return undefined;
  const pairs = new Map<string, string>();
  if (Array.isArray(tags)) {
    for (const tag of tags.slice(0, MAX_REQUEST_TAGS)) {
      if (typeof tag !== "object" || tag === null) continue;
      const entry = tag as Record<string, unknown>;
      const key = entry.key ?? entry.Key;
      const value = entry.value ?? entry.Value ?? "";
      if (typeof key === "string" && typeof value === "string") pairs.set(key, value);
    }
  } else if (typeof tags === "object") {
    for (const [key, value] of Object.entries(tags as Record<string, unknown>).slice(0, MAX_REQUEST_TAGS)) if (typeof value === "string") pairs.set(key, value);
  }
  return pairs;
}

export function createRequestAuthorizer(
  authorizer: Authorizer,
  tables: ReadonlyMap<string, ResourceTable>,
  resourceTagsOf?: AuthorizationQuery["resourceTagsOf"],
): (call: AuthorizedCall) => Promise<void> {
  return async ({ signingName, operation, input, context }) => {
    const caller = context.caller;
    if (caller.kind === "root") return;
    const action = `${signingName}:${operation}`;
    if (caller.kind === "user" && caller.session && (signingName === "iam" || (signingName === "sts" && !SESSION_TOKEN_STS.has(action)))) {
      // AWS: credentials from GetSessionToken cannot call IAM (without MFA, which Berth has not), nor STS but these two.
      throw accessDeniedException(
        `User: ${caller.arn} is not authorized to perform: ${action} on resource: * because no identity-based policy allows the ${action} action`,
      ); // wording not confirmed
    }
    if (NEEDS_NO_PERMISSION.has(action)) return;
    const table = tables.get(signingName);
    const resolve = table !== undefined && Object.hasOwn(table, operation) ? table[operation] : undefined;
    const found = resolve ? await resolve(input, context) : { resources: ["*"] };
    const requestTags = requestTagsOf(input);
    // Built by assignment, not conditional spreads: this runs on every call a policy decides.
    const common: Mutable<Omit<AuthorizationQuery, "action" | "resources">> = {};
    if (context.sourceIp !== undefined) common.sourceIp = context.sourceIp;
    if (context.secureTransport !== undefined) common.secureTransport = context.secureTransport;
    if (requestTags !== undefined) common.requestTags = requestTags;
    if (found.extra !== undefined) common.extra = found.extra;
    if (resourceTagsOf !== undefined) common.resourceTagsOf = resourceTagsOf;
    const query: AuthorizationQuery = { ...common, action: found.action ?? action, resources: found.resources };
    if (action === "sts:GetSessionToken") {
      // Allowed unless a policy denies it explicitly (no permission is needed to call it).
      const denial = await authorizer.denial(caller, query);
      if (denial?.explicit) throw accessDeniedException(denial.message);
      return;
    }
    await authorizer.authorize(caller, query);
    for (const more of found.also ?? []) await authorizer.authorize(caller, { ...common, action: more.action, resources: more.resources });
  };
}

/** The RequestContext.authorize of one call: the same caller, source and condition keys for a further decision. */
export function contextAuthorize(authorizer: Authorizer, context: Pick<RequestContext, "caller" | "sourceIp">): (query: AuthorizationQuery) => Promise<void> {
  return (query) =>
    authorizer.authorize(context.caller, context.sourceIp !== undefined && query.sourceIp === undefined ? { ...query, sourceIp: context.sourceIp } : query);
}
