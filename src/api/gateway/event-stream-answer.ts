// An operation's answer as an AWS event stream (application/vnd.amazon.eventstream), as
// StartLiveTail answers: the answer's one member is an async iterable of union values
// ({ sessionStart: {…} }, { sessionUpdate: {…} }, { SessionTimeoutException: { message } }); each
// becomes one message of the SDK's own framing (@smithy/core's EventStreamCodec: prelude, headers,
// payload, CRCs) with its :event-type (or :exception-type) header and a JSON payload, written as it
// comes. A member named …Exception is an error event (the SDK raises it from the stream) and ends
// the stream. When the client goes away, the iterable is closed (its finally runs) at its next step.
import type { ServerResponse } from "node:http";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { fromUtf8, toUtf8 } from "@smithy/core/serde";
import { toWireJson } from "../wire-json.js";

type StreamEvent = Readonly<Record<string, unknown>>;

/** The event stream an operation's answer carries (its only member an async iterable), or undefined. */
export function eventStreamOf(output: unknown): AsyncIterable<StreamEvent> | undefined {
  if (typeof output !== "object" || output === null) return undefined;
  const values = Object.values(output);
  const stream = values.length === 1 ? values[0] : undefined;
  return typeof stream === "object" && stream !== null && Symbol.asyncIterator in stream ? (stream as AsyncIterable<StreamEvent>) : undefined;
}

const string = (value: string) => ({ type: "string" as const, value });

/** One event as a framed message: an event, or an exception (which ends the stream). */
function encodeEvent(codec: EventStreamCodec, event: StreamEvent): { message: Uint8Array; last: boolean } {
  const [member, value] = Object.entries(event)[0] ?? ["", {}];
  if (member.endsWith("Exception")) {
    const message = String((value as { message?: unknown }).message ?? "");
    const headers = { ":message-type": string("exception"), ":exception-type": string(member), ":content-type": string("application/json") };
    return { message: codec.encode({ headers, body: fromUtf8(JSON.stringify({ message })) }), last: true };
  }
  const headers = { ":message-type": string("event"), ":event-type": string(member), ":content-type": string("application/json") };
  return { message: codec.encode({ headers, body: fromUtf8(toWireJson(value)) }), last: false };
}

/** Writes the stream's events as they come, until it ends, raises an exception event, or the client goes. */
export async function writeEventStream(response: ServerResponse, requestId: string, stream: AsyncIterable<StreamEvent>): Promise<void> {
  response.writeHead(200, { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": requestId });
  response.flushHeaders();
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const gone = new Promise<"gone">((resolve) => response.once("close", () => resolve("gone")));
  const iterator = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), gone]);
      if (next === "gone" || next.done === true) break;
      const { message, last } = encodeEvent(codec, next.value);
      if (!response.write(message)) {
        const drained = new Promise<"drained">((resolve) => response.once("drain", () => resolve("drained")));
        if ((await Promise.race([drained, gone])) === "gone") break;
      }
      if (last) break;
    }
  } finally {
    // The iterable's own cleanup (a session's registration, its timers) whatever ended the stream.
    void iterator.return?.(undefined)?.catch(() => undefined);
    if (!response.writableEnded) response.end();
  }
}
