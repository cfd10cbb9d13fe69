// An operation's answer as an AWS event stream (application/vnd.amazon.eventstream), as
// StartLiveTail answers: the answer's member marked as an event stream (src/api/event-stream-output.ts)
// yields union values ({ sessionStart: {…} }, { sessionUpdate: {…} }, { SessionTimeoutException:
// { message } }); each becomes one message of the SDK's own framing (@smithy/core's
// EventStreamCodec: prelude, headers, payload, CRCs) with its :event-type (or :exception-type)
// header and a JSON payload, written as it comes. A member named …Exception is an error event (the
// SDK raises it from the stream) and ends the stream. The stream is closed (its return(), which
// frees what it holds) when it ends, when the client has gone (before or while it is written), when
// the client stops reading for DRAIN_DEADLINE_MS, and when it fails (a SessionStreamingException
// event says so, then the stream ends; the error goes to `onError`, the gateway's log).
import type { IncomingMessage, ServerResponse } from "node:http";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { fromUtf8, toUtf8 } from "@smithy/core/serde";
import { isEventStream } from "../event-stream-output.js";
import type { EventStream } from "../event-stream-output.js";
import { toWireJson } from "../wire-json.js";

type StreamEvent = Readonly<Record<string, unknown>>;

/** A client that reads nothing for this long is cut off (its buffers full: it holds a session otherwise). */
export const DRAIN_DEADLINE_MS = 30_000;

/** The event stream an operation's answer carries (a member marked as one), or undefined. */
export function eventStreamOf(output: unknown): EventStream<StreamEvent> | undefined {
  if (typeof output !== "object" || output === null) return undefined;
  return Object.values(output).find(isEventStream);
}

const string = (value: string) => ({ type: "string" as const, value });

function exceptionMessage(codec: EventStreamCodec, type: string, message: string): Uint8Array {
  const headers = { ":message-type": string("exception"), ":exception-type": string(type), ":content-type": string("application/json") };
  return codec.encode({ headers, body: fromUtf8(JSON.stringify({ message })) });
}

/** One event as a framed message: an event, or an exception (which ends the stream). */
function encodeEvent(codec: EventStreamCodec, event: StreamEvent): { message: Uint8Array; last: boolean } {
  const [member, value] = Object.entries(event)[0] ?? ["", {}];
  if (member.endsWith("Exception")) return { message: exceptionMessage(codec, member, String((value as { message?: unknown }).message ?? "")), last: true };
  const headers = { ":message-type": string("event"), ":event-type": string(member), ":content-type": string("application/json") };
  return { message: codec.encode({ headers, body: fromUtf8(toWireJson(value)) }), last: false };
}

/** "gone" once the client's connection is closed (at once if it already is); `stop` takes the listeners off a socket kept alive. */
function whenGone(request: IncomingMessage, response: ServerResponse): { gone: Promise<"gone">; stop: () => void } {
  const socket = request.socket;
  if (response.destroyed || socket.destroyed) return { gone: Promise.resolve("gone"), stop: () => undefined };
  let resolve!: (value: "gone") => void;
  const gone = new Promise<"gone">((settle) => (resolve = settle));
  const closed = () => resolve("gone");
  response.once("close", closed);
  socket.once("close", closed);
  return {
    gone,
    stop: () => {
      response.off("close", closed);
      socket.off("close", closed);
    },
  };
}

/** Waits until the response may take more, the client goes, or DRAIN_DEADLINE_MS pass: true when it may. */
async function drained(response: ServerResponse, gone: Promise<"gone">): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), DRAIN_DEADLINE_MS)));
  const ready = new Promise<"drained">((resolve) => response.once("drain", () => resolve("drained")));
  try {
    return (await Promise.race([ready, gone, late])) === "drained";
  } finally {
    clearTimeout(timer);
  }
}

/** Writes the stream's events as they come, until it ends, raises an exception event, fails, or the client goes or stalls. */
export async function writeEventStream(
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  stream: EventStream<StreamEvent>,
  onError: (error: unknown) => void,
): Promise<void> {
  const { gone, stop } = whenGone(request, response);
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  let open = true;
  try {
    if (response.destroyed || request.socket.destroyed) return;
    response.writeHead(200, { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": requestId });
    response.flushHeaders();
    while (open) {
      const next = await Promise.race([stream.next(), gone]);
      if (next === "gone" || next.done === true) break;
      const { message, last } = encodeEvent(codec, next.value);
      if (!response.write(message) && !(await drained(response, gone))) {
        open = false;
        response.destroy();
      }
      if (last) break;
    }
  } catch (error) {
    onError(error);
    if (!response.headersSent) response.writeHead(200, { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": requestId });
    if (!response.destroyed) response.write(exceptionMessage(codec, "SessionStreamingException", "Internal error"));
  } finally {
    // What the stream holds (a live tail's quota slot, its read) is let go whatever ended it.
    void stream.return?.(undefined)?.catch(() => undefined);
    if (!response.destroyed && !response.writableEnded) response.end();
    stop();
  }
}
