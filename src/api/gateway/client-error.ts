// Requests node's HTTP parser refuses before the gateway sees them (malformed framing, a body
// shorter than its Content-Length, headers too large, a request that took too long) still get an
// AWS-style answer: {"__type","message"} with x-amzn-ErrorType, written straight to the socket, as
// node's 'clientError' event requires. Node's own handler would answer with an empty body.
import type { Socket } from "node:net";

interface ParserError extends Error {
  readonly code?: string;
}

function answerFor(error: ParserError): { status: number; reason: string; code: string; message: string } {
  switch (error.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, reason: "Request Timeout", code: "RequestTimeoutException", message: "The request was not received in time." };
    case "HPE_HEADER_OVERFLOW":
      return {
        status: 431,
        reason: "Request Header Fields Too Large",
        code: "RequestHeaderFieldsTooLargeException",
        message: "The request headers are too large.",
      };
    default:
      return { status: 400, reason: "Bad Request", code: "SerializationException", message: "The request is not valid HTTP/1.1." };
  }
}

export function answerClientError(error: ParserError, socket: Socket): void {
  // A reset connection has no one to answer; a response already under way cannot be replaced.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = answerFor(error);
  const body = JSON.stringify({ __type: answer.code, message: answer.message });
  socket.end(
    `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: ${answer.code}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // end() flushes first; destroy once flushed so a client that never reads cannot hold the socket.
  socket.once("finish", () => socket.destroy());
}
