// Reading a request body with a size limit, and what happens to the rest of a body the gateway
// refused. A refused upload is answered at once (413), then the remaining bytes are read and thrown
// away before the connection is closed: closing a socket with unread data makes the kernel send a
// TCP RST, which can destroy the answer in the client's buffers before the client reads it
// ("lingering close", as nginx and Apache do it). The draining is capped in bytes and time so a
// client cannot hold the connection open by streaming forever.
//
// Bodies read before their sender is proven (SigV4 without a declared payload hash signs the
// body's hash, so the body must come first) draw on a shared byte budget: however many connections
// an unauthenticated caller opens, together they cannot make the server hold more than the budget.
import type { IncomingMessage } from "node:http";
import { AwsError, serializationException, throttlingException } from "../../core/errors.js";

const MAX_DISCARDED_BYTES = 64 * 1024 * 1024;
const MAX_LINGER_MS = 5_000;

export class BodyTooLargeError extends AwsError {
  constructor(limit: number) {
    // AWS's front end answers an oversized body with 413; the code and wording here are ours.
    super("RequestEntityTooLargeException", `Request body exceeds the limit of ${limit} bytes.`, { httpStatus: 413 });
  }
}

/**
 * Bytes held by bodies not yet authenticated: in all, and per remote address, so that one address
 * stalling bodies half-sent cannot spend what every other caller needs.
 */
export class ByteBudget {
  private used = 0;
  private readonly byAddress = new Map<string, number>();
  constructor(
    readonly capacity: number,
    readonly perAddress: number,
  ) {}
  take(address: string, bytes: number): boolean {
    const mine = this.byAddress.get(address) ?? 0;
    if (this.used + bytes > this.capacity || mine + bytes > this.perAddress) return false;
    this.used += bytes;
    this.byAddress.set(address, mine + bytes);
    return true;
  }
  give(address: string, bytes: number): void {
    if (bytes === 0) return;
    this.used -= bytes;
    const left = (this.byAddress.get(address) ?? 0) - bytes;
    if (left > 0) this.byAddress.set(address, left);
    else this.byAddress.delete(address);
  }
}

/** How long a body of an unproven sender may take to arrive (slow-body holds on the budget). */
const UNVERIFIED_BODY_DEADLINE_MS = 30_000;

/** The answer node's own request timeout gets (client-error.ts), for a body that is too slow. */
const requestTimeoutException = () => new AwsError("RequestTimeoutException", "The request was not received in time.", { httpStatus: 408 });
/** Small bodies arrive with their headers; only a larger (or unannounced) one gets a deadline timer. */
const SMALL_BODY_BYTES = 64 * 1024;

/**
 * The whole body, or a rejection: BodyTooLargeError past `limit`, SerializationException if the
 * client went away mid-body, ThrottlingException when `budget` (bodies of unproven senders) is
 * spent, RequestTimeoutException when such a body is slower than UNVERIFIED_BODY_DEADLINE_MS.
 */
export function readBody(request: IncomingMessage, limit: number, budget?: ByteBudget): Promise<Buffer> {
  const declared = request.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let held = 0;
    const address = request.socket.remoteAddress ?? "";
    const timer =
      budget && !(Number(declared) <= SMALL_BODY_BYTES) ? setTimeout(() => fail(requestTimeoutException()), UNVERIFIED_BODY_DEADLINE_MS) : undefined;
    const release = () => {
      clearTimeout(timer);
      budget?.give(address, held);
      held = 0;
    };
    const fail = (error: Error) => {
      request.off("data", onData);
      chunks.length = 0;
      release();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(new BodyTooLargeError(limit));
      if (budget) {
        if (!budget.take(address, chunk.length)) return fail(throttlingException("Rate exceeded"));
        held += chunk.length;
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    // Held only while the body is read: the signature is checked in the same turn that follows.
    request.once("end", () => {
      release();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    // "aborted"/"error": the client closed the connection before sending the declared body.
    const incomplete = () => fail(serializationException("The request body ended before its declared length."));
    request.once("aborted", incomplete);
    request.once("error", incomplete);
  });
}

/**
 * After an answer to a request whose body was not read: discard the rest of the body, then close
 * the connection gracefully; destroy it if the client keeps sending past the caps.
 */
export function discardRestAndClose(request: IncomingMessage): void {
  const socket = request.socket;
  if (request.complete) {
    socket.end();
    return;
  }
  let discarded = 0;
  const timer = setTimeout(() => socket.destroy(), MAX_LINGER_MS);
  timer.unref();
  request.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_DISCARDED_BYTES) socket.destroy();
  });
  request.once("end", () => {
    clearTimeout(timer);
    socket.end();
  });
  request.once("close", () => clearTimeout(timer));
  request.on("error", () => socket.destroy());
  request.resume();
}
