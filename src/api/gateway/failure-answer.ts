// How a failed API request is answered, whatever its protocol: AwsErrors as they are (server faults
// logged), anything else a logged 500; and a body the answer came before is never kept.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AwsError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { isAwsError, serverException } from "../../core/errors.js";
import { BodyTooLargeError, discardRestAndClose } from "./request-body.js";

/**
 * After an answer given before the body was read. A body of a declared length within the limit is
 * left to node, which discards it and keeps the connection for the next request (clients reuse it
 * at once); a body too large or of unknown length (chunked) is drained with caps and the connection
 * closed (request-body.ts).
 */
export function closeAfterUnreadBody(request: IncomingMessage, tooLarge: boolean): void {
  if (tooLarge || request.headers["content-length"] === undefined) discardRestAndClose(request);
}

export interface FailedExchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  /** What the caller asked for (X-Amz-Target, Action), for the log. */
  readonly target: string;
  /** Writes the error in the protocol's wire form (or destroys the response when headers went out). */
  readonly send: (error: AwsError) => void;
}

/** A failure on the wire: AwsErrors as they are, anything else a logged 500. */
export function answerFailure(logger: Pick<Logger, "error">, exchange: FailedExchange, error: unknown): void {
  const { request, target, send } = exchange;
  // An answer given before the whole body arrived (refused from the head, or mid-body): the rest
  // is discarded, never kept (closeAfterUnreadBody).
  const unread = !request.complete;
  if (isAwsError(error)) {
    if (!error.isClientFault) logger.error({ err: error, target }, "server fault");
    send(error);
    if (unread) closeAfterUnreadBody(request, error instanceof BodyTooLargeError);
    return;
  }
  logger.error({ err: error, target }, "unexpected error");
  send(serverException("Internal server error"));
  if (unread) closeAfterUnreadBody(request, false);
}
