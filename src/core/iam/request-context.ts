// The global condition keys Berth can know for a request (IAM User Guide, "AWS global condition
// context keys"), built once per request into the lower-cased context the evaluator reads:
//   aws:PrincipalArn      the user's ARN, or for a role session the role's ARN (not the session's)
//   aws:PrincipalAccount  aws:PrincipalType ("Account" | "User" | "AssumedRole")
//   aws:username          IAM users only;  aws:userid  the user's id, or "role-id:session-name"
//   aws:PrincipalTag/k    the user's or role's tags (and session tags)
//   aws:SourceIp  aws:SecureTransport  aws:CurrentTime (ISO 8601, UTC)  aws:EpochTime (seconds)
//   aws:RequestTag/k and aws:TagKeys   tags the request sets;  aws:ResourceTag/k  tags of the resource
// Service keys (ecs:cluster, iam:PassedToService, sts:ExternalId, …) come in `extra`.

import type { ConditionContext, ContextValue } from "./policy-variables.js";

export type PrincipalType = "Account" | "User" | "AssumedRole";

export interface RequestPrincipal {
  readonly type: PrincipalType;
  /** The caller's ARN: account root, user, or assumed-role session. */
  readonly arn: string;
  readonly account: string;
  /** For AssumedRole: the role's ARN (with its path), which aws:PrincipalArn carries. */
  readonly roleArn?: string;
  /** For User: the user name (aws:username). */
  readonly userName?: string;
  /** The unique id: the user's (AIDA…) or, for a session, "AROA…:session-name". */
  readonly userId?: string;
  readonly tags?: ReadonlyMap<string, string>;
}

export interface RequestFacts {
  readonly principal: RequestPrincipal;
  readonly sourceIp?: string;
  readonly secureTransport?: boolean;
  readonly now: Date;
  readonly requestTags?: ReadonlyMap<string, string>;
  readonly resourceTags?: ReadonlyMap<string, string>;
  /** Service-specific keys (names as AWS spells them; matched case-insensitively). */
  readonly extra?: Readonly<Record<string, ContextValue>>;
}

/** aws:CurrentTime and aws:EpochTime of the last second asked for: formatting a date costs more than deciding most requests. */
let lastSecond: { readonly second: number; readonly iso: string; readonly epoch: string } | undefined;

function timeKeys(now: Date): { readonly iso: string; readonly epoch: string } {
  const second = Math.floor(now.getTime() / 1000);
  if (lastSecond?.second !== second) lastSecond = { second, iso: new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"), epoch: String(second) };
  return lastSecond;
}

/** The condition context of a request from what the gateway knows about it. */
export function requestContext(facts: RequestFacts): ConditionContext {
  // Built straight into the map with lower-cased keys (as conditionContext() would make them): this
  // runs on every decided request, and building then converting an entry list cost more than deciding.
  const context = new Map<string, ContextValue>();
  const set = (key: string, value: ContextValue | undefined) => {
    if (value !== undefined) context.set(key, value);
  };
  const setTags = (prefix: string, tags: ReadonlyMap<string, string> | undefined) => {
    if (tags !== undefined) for (const [key, value] of tags) context.set(`${prefix}${key.toLowerCase()}`, value);
  };
  const { principal } = facts;
  const time = timeKeys(facts.now);
  set("aws:principalarn", principal.type === "AssumedRole" ? (principal.roleArn ?? principal.arn) : principal.arn);
  set("aws:principalaccount", principal.account);
  set("aws:principaltype", principal.type);
  set("aws:username", principal.type === "User" ? principal.userName : undefined);
  set("aws:userid", principal.type === "Account" ? principal.account : principal.userId);
  set("aws:sourceip", facts.sourceIp);
  set("aws:securetransport", facts.secureTransport === undefined ? undefined : String(facts.secureTransport));
  set("aws:currenttime", time.iso);
  set("aws:epochtime", time.epoch);
  setTags("aws:principaltag/", principal.tags);
  setTags("aws:requesttag/", facts.requestTags);
  set("aws:tagkeys", facts.requestTags === undefined ? undefined : [...facts.requestTags.keys()]);
  setTags("aws:resourcetag/", facts.resourceTags);
  if (facts.extra !== undefined) for (const key of Object.keys(facts.extra)) set(key.toLowerCase(), facts.extra[key]);
  return context;
}
