import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { fromUtf8, toUtf8 } from "@smithy/core/serde";
import { EVENT_STREAM } from "../event-stream-output.js";
import type { EventStream } from "../event-stream-output.js";
import { eventStreamOf, writeEventStream } from "./event-stream-answer.js";

type Event = Record<string, unknown>;

/** A marked stream of `events` (a function throws where it stands), recording whether return() was called. */
function streamOf(events: (Event | (() => never))[]): EventStream<Event> & { returned: boolean } {
  let index = 0;
  const stream = {
    [EVENT_STREAM]: true as const,
    returned: false,
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<Event, undefined>> {
      if (index >= events.length) return { done: true, value: undefined };
      const event = events[index++]!;
      return { done: false, value: typeof event === "function" ? event() : event };
    },
    async return(): Promise<IteratorResult<Event, undefined>> {
      stream.returned = true;
      return { done: true, value: undefined };
    },
  };
  return stream;
}

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The messages of a body: [message type, event or exception type, payload]. */
function decode(body: Buffer): [string, string, unknown][] {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const messages: [string, string, unknown][] = [];
  for (let at = 0; at < body.length;) {
    const length = body.readUInt32BE(at);
    const message = codec.decode(body.subarray(at, at + length));
    const kind = String(message.headers[":message-type"]?.value);
    const type = String(message.headers[kind === "event" ? ":event-type" : ":exception-type"]?.value);
    messages.push([kind, type, JSON.parse(toUtf8(message.body))]);
    at += length;
  }
  return messages;
}

test("only a member marked as an event stream is one: an answer that merely looks iterable is not", () => {
  const marked = streamOf([]);
  assert.equal(eventStreamOf({ responseStream: marked }), marked);
  assert.equal(eventStreamOf({ body: { async *[Symbol.asyncIterator]() {} } }), undefined);
  assert.equal(eventStreamOf({ items: [] }), undefined);
  assert.equal(eventStreamOf(null), undefined);
});

test("events are framed as the SDK reads them; a stream that fails ends with a SessionStreamingException and is closed", async () => {
  const errors: unknown[] = [];
  const stream = streamOf([
    { sessionStart: { sessionId: "s-1" } },
    () => {
      throw new Error("the store went away");
    },
  ]);
  const server = await serve((req, res) => writeEventStream(req, res, "r-1", stream, (error) => errors.push(error)));
  const body = await new Promise<{ type: string | undefined; body: Buffer }>((resolve, reject) => {
    request({ host: "127.0.0.1", port: server.port, method: "POST" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ type: res.headers["content-type"], body: Buffer.concat(chunks) }));
    })
      .on("error", reject)
      .end();
  });
  await server.close();
  assert.equal(body.type, "application/vnd.amazon.eventstream");
  assert.deepEqual(decode(body.body), [
    ["event", "sessionStart", { sessionId: "s-1" }],
    ["exception", "SessionStreamingException", { message: "Internal error" }],
  ]);
  assert.equal((errors[0] as Error).message, "the store went away");
  assert.equal(stream.returned, true);
});

test("a client gone before the stream is written: nothing is read from the stream, and it is closed", async () => {
  const stream = streamOf([{ sessionStart: {} }]);
  let reached!: () => void;
  const done = new Promise<void>((resolve) => (reached = resolve));
  const server = await serve(async (req, res) => {
    // The handler's own work (authorization, reads) outlasts the client.
    await new Promise((resolve) => req.socket.once("close", resolve));
    await writeEventStream(req, res, "r-2", stream, () => undefined);
    reached();
  });
  const client = request({ host: "127.0.0.1", port: server.port, method: "POST" });
  client.on("error", () => undefined);
  client.end();
  setTimeout(() => client.destroy(), 50);
  await done;
  await server.close();
  assert.equal(stream.returned, true);
});
