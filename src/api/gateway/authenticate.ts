// Authentication of an AWS API request, shared by every protocol the gateway speaks: throttle by
// address, refuse an oversized body from its declared length, check SigV4 (reading the body when
// the signature covers it), then throttle by access key.
import type { IncomingMessage } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { AwsError, isAwsError, throttlingException, unrecognizedClientException } from "../../core/errors.js";
import type { CallerIdentity } from "../../core/iam/index.js";
import type { GatewayOptions } from "./gateway.js";
import type { ByteBudget } from "./request-body.js";
import { BodyTooLargeError, readBody } from "./request-body.js";
import { verifySigV4 } from "./sigv4.js";
import type { RequestContext } from "../service-module.js";

export interface Principal {
  readonly secretAccessKey: string;
  readonly accountId: string;
  readonly principalArn: string;
  /** Who the key acts as (its policies decide what it may do; the root may do anything). */
  readonly identity: CallerIdentity;
  /** Temporary credentials: the SHA-256 (hex) of the session token every request must carry, and when they expire (ms). */
  readonly session?: { readonly tokenSha256: string; readonly expiresAt: number; readonly digest: (token: string) => string };
}

/** What authentication needs of the gateway: its options, the body limit and the unverified-body budget. */
export interface AuthenticationParts {
  readonly options: Pick<GatewayOptions, "principalFor" | "region" | "throttle">;
  readonly limit: number;
  readonly budget: ByteBudget;
}

export interface AuthenticatedCaller {
  readonly accessKeyId: string;
  /** The address the request came from (IPv4-mapped IPv6 addresses as IPv4). */
  readonly sourceIp: string;
  /** Whether it came over TLS (aws:SecureTransport). */
  readonly secureTransport: boolean;
  readonly principal: Principal;
  readonly body: Buffer;
}

/** What an attacker holding nothing gets wrong: missing, malformed or failing credentials. */
const isAuthFailure = (error: unknown) => isAwsError(error) && error.httpStatus === 403;

/** Throttle by address, refuse an oversized body, check SigV4 (reading the body), throttle by key. */
export async function authenticate(
  parts: AuthenticationParts,
  request: IncomingMessage,
  /** The signing name the credential scope must carry, or the names any of which will do. */
  signingName: string | ReadonlySet<string>,
  receivedAt: number,
): Promise<AuthenticatedCaller> {
  const { options, limit, budget } = parts;
  const throttle = options.throttle;
  const address = request.socket.remoteAddress ?? "";
  if (throttle && !throttle.addressMayTry(address)) throw throttlingException("Rate exceeded");
  // A body larger than the limit is refused on its declared length alone, before anything else.
  const declared = request.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) throw new BodyTooLargeError(limit);
  // The principal looked up for the signature check is the caller once the check passes.
  let principal: Principal | undefined;
  let verified;
  try {
    verified = await verifySigV4(
      { method: request.method ?? "", url: request.url ?? "/", headers: request.headers },
      {
        region: options.region,
        service: signingName,
        now: receivedAt,
        secretFor: async (accessKeyId) => (principal = await options.principalFor(accessKeyId))?.secretAccessKey,
      },
      (signatureChecked) => readBody(request, limit, signatureChecked ? undefined : budget),
    );
  } catch (error) {
    if (throttle && isAuthFailure(error)) throttle.chargeFailure(address);
    throw error;
  }
  if (!principal) throw new Error("SigV4 verified a caller without looking up its principal");
  try {
    checkSessionToken(principal, verified.sessionToken, receivedAt);
  } catch (error) {
    if (throttle) throttle.chargeFailure(address);
    throw error;
  }
  if (throttle && !throttle.admitKey(verified.accessKeyId)) throw throttlingException("Rate exceeded");
  return {
    accessKeyId: verified.accessKeyId,
    sourceIp: address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, ""),
    secureTransport: (request.socket as { encrypted?: boolean }).encrypted === true,
    principal,
    body: verified.body,
  };
}

const INVALID_TOKEN = "The security token included in the request is invalid.";

/**
 * Temporary credentials need the session token they were issued with, and only until they expire;
 * a long-term key takes no token (AWS refuses one as an invalid token).
 */
export function checkSessionToken(principal: Principal, token: string | undefined, now: number): void {
  const session = principal.session;
  if (session === undefined) {
    if (token !== undefined) throw unrecognizedClientException(INVALID_TOKEN);
    return;
  }
  if (token === undefined) throw unrecognizedClientException(INVALID_TOKEN);
  const given = Buffer.from(session.digest(token), "hex");
  const expected = Buffer.from(session.tokenSha256, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unrecognizedClientException(INVALID_TOKEN);
  if (now >= session.expiresAt) throw new AwsError("ExpiredTokenException", "The security token included in the request is expired", { httpStatus: 403 });
}

/** The context a handler receives about an authenticated caller. */
export function callerContext(
  caller: AuthenticatedCaller,
  options: Pick<GatewayOptions, "region" | "partition" | "authorization">,
  requestId: string,
  receivedAt: number,
): RequestContext {
  const context: RequestContext = {
    requestId,
    accountId: caller.principal.accountId,
    region: options.region,
    partition: options.partition,
    accessKeyId: caller.accessKeyId,
    principalArn: caller.principal.principalArn,
    caller: caller.principal.identity,
    sourceIp: caller.sourceIp,
    secureTransport: caller.secureTransport,
    ...(caller.principal.session !== undefined ? { credentialsExpireAt: caller.principal.session.expiresAt } : {}),
    receivedAt,
  };
  // The root may do anything: its handlers need no further decisions (and its hot path no closure).
  if (caller.principal.identity.kind === "root") return context;
  const authorize = options.authorization?.forHandler(context);
  return authorize === undefined ? context : { ...context, authorize };
}
