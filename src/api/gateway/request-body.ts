// Reading a request body with a size limit, and what happens to the rest of a body the gateway
// refused. A refused upload is answered at once (413), then the remaining bytes are read and thrown
// away before the connection is closed: closing a socket with unread data makes the kernel send a
// TCP RST, which can destroy the answer in the client's buffers before the client reads it
// ("lingering close", as nginx and Apache do it). The draining is capped in bytes and time so a
// client cannot hold the connection open by streaming forever.
import type { IncomingMessage } from "node:http";
import { AwsError, serializationException } from "../../core/errors.js";

const MAX_DISCARDED_BYTES = 64 * 1024 * 1024;
const MAX_LINGER_MS = 5_000;

export class BodyTooLargeError extends AwsError {
  constructor(limit: number) {
    // AWS's front end answers an oversized body with 413; the code and wording here are ours.
    super("RequestEntityTooLargeException", `Request body exceeds the limit of ${limit} bytes.`, { httpStatus: 413 });
  }
}

/** The whole body, or a rejection: BodyTooLargeError past `limit`, SerializationException if the client went away mid-body. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = request.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.off("data", onData);
        chunks.length = 0;
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    request.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    // "aborted"/"error": the client closed the connection before sending the declared body.
    const incomplete = () => reject(serializationException("The request body ended before its declared length."));
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
