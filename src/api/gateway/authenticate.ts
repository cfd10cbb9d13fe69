// Authentication of an AWS API request, shared by every protocol the gateway speaks: throttle by
// address, refuse an oversized body from its declared length, check SigV4 (reading the body when
// the signature covers it), then throttle by access key.
import type { IncomingMessage } from "node:http";
import { isAwsError, throttlingException } from "../../core/errors.js";
import type { GatewayOptions } from "./gateway.js";
import type { ByteBudget } from "./request-body.js";
import { BodyTooLargeError, readBody } from "./request-body.js";
import { verifySigV4 } from "./sigv4.js";
import type { RequestContext } from "../service-module.js";

export interface Principal {
  readonly secretAccessKey: string;
  readonly accountId: string;
  readonly principalArn: string;
}

/** What authentication needs of the gateway: its options, the body limit and the unverified-body budget. */
export interface AuthenticationParts {
  readonly options: Pick<GatewayOptions, "principalFor" | "region" | "throttle">;
  readonly limit: number;
  readonly budget: ByteBudget;
}

export interface AuthenticatedCaller {
  readonly accessKeyId: string;
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
  if (throttle && !throttle.admitKey(verified.accessKeyId)) throw throttlingException("Rate exceeded");
  if (!principal) throw new Error("SigV4 verified a caller without looking up its principal");
  return { accessKeyId: verified.accessKeyId, principal, body: verified.body };
}

/** The context a handler receives about an authenticated caller. */
export function callerContext(
  caller: AuthenticatedCaller,
  options: Pick<GatewayOptions, "region" | "partition">,
  requestId: string,
  receivedAt: number,
): RequestContext {
  return {
    requestId,
    accountId: caller.principal.accountId,
    region: options.region,
    partition: options.partition,
    accessKeyId: caller.accessKeyId,
    principalArn: caller.principal.principalArn,
    receivedAt,
  };
}
