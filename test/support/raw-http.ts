// Byte-exact HTTP/1.1 requests over a raw TCP socket, for tests that must send what no well-behaved
// client would: a Content-Length that lies, malformed percent-escapes in the path, headers changed
// after signing, a chunked body streamed past the server's limit. Reads back the first response.
import { connect } from "node:net";

export interface RawRequest {
  readonly method: string;
  /** Path and query exactly as they go on the request line. */
  readonly target: string;
  /** Header lines in order; nothing is added (no Host, no Content-Length) unless given here. */
  readonly headers: readonly (readonly [string, string])[];
  /** Written after the headers as is, or chunk by chunk (chunked framing is the caller's). */
  readonly body?: Buffer | string | readonly (Buffer | string)[];
  /** Half-close the connection after writing (a client that stops sending). */
  readonly endAfterWrite?: boolean;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** True when the server reset or closed the connection before a complete response arrived. */
  readonly incomplete: boolean;
}

export function rawRequest(port: number, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms to ${request.method} ${request.target}`)), timeoutMs);
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) return reject(error);
      resolve(parse(received, request.method === "HEAD"));
    };
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (isComplete(received, request.method === "HEAD")) finish();
    });
    socket.on("error", () => finish()); // a reset: whatever arrived is the answer (maybe none)
    socket.on("close", () => finish());
    socket.on("connect", () => {
      const head = `${request.method} ${request.target} HTTP/1.1\r\n${request.headers.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`;
      socket.write(head);
      const parts = request.body === undefined ? [] : typeof request.body === "string" || Buffer.isBuffer(request.body) ? [request.body] : request.body;
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
      }
      if (request.endAfterWrite && !socket.destroyed) socket.end();
    });
  });
}

function headerEnd(data: Buffer): number {
  return data.indexOf("\r\n\r\n");
}

function isComplete(data: Buffer, head: boolean): boolean {
  const end = headerEnd(data);
  if (end < 0) return false;
  if (head) return true;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(data.subarray(0, end).toString("latin1"));
  return length !== null && data.length - (end + 4) >= Number(length[1]);
}

function parse(data: Buffer, head: boolean): RawResponse {
  const end = headerEnd(data);
  if (end < 0) return { status: 0, headers: {}, body: "", incomplete: true };
  const [statusLine = "", ...lines] = data.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"] ?? 0);
  const body = head ? "" : data.subarray(end + 4, end + 4 + length).toString("utf8");
  return { status: Number(statusLine.split(" ")[1] ?? 0), headers, body, incomplete: !isComplete(data, head) };
}
