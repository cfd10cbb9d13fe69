// What a failed agent protocol call means for the agent, in one place: register again, give up on
// this request, or retry it later. Over HTTP a failure is a ControlLinkError (the status and the
// error code the route answered); the embedded agent of `berth server` gets the control plane's
// own AwsError. Both are classified here, so every caller that retries (registration, status
// reports, log shipping) draws the line at the same place.
import { isAwsError } from "../core/errors.js";

/** The error code of a call from a host the control plane does not know (or whose secret is stale). */
export const HOST_NOT_REGISTERED = "HostNotRegistered";

/** A call the control plane answered with an error status, or whose answer could not be used. */
export class ControlLinkError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The server's error code (e.g. HostNotRegistered), when it sent one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = "ControlLinkError";
  }
}

/**
 * - `register-again`: the control plane does not know this host (it lost or reaped it, or the
 *   secret is stale): register, then send again.
 * - `permanent`: the request itself is refused (a 4xx other than 401 and 429, or a client fault
 *   in process); sending it again unchanged will not help.
 * - `retryable`: anything else (the server unreachable, 5xx, 429, a timeout): try again later.
 */
export type CallFailureKind = "register-again" | "permanent" | "retryable";

export function callFailureKind(error: unknown): CallFailureKind {
  if (error instanceof ControlLinkError) {
    if (error.status === 401 || error.code === HOST_NOT_REGISTERED) return "register-again";
    return error.status >= 400 && error.status < 500 && error.status !== 429 ? "permanent" : "retryable";
  }
  if ((error as { code?: unknown } | undefined)?.code === HOST_NOT_REGISTERED) return "register-again";
  if (isAwsError(error) && error.isClientFault && error.httpStatus !== 429) return "permanent";
  return "retryable";
}
