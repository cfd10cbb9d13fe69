// The mark of an operation answer that is an event stream (StartLiveTail's responseStream): the
// gateway streams an answer's member only when it carries this mark, never because of its shape, so
// no other handler's answer can be taken for a stream (src/api/gateway/event-stream-answer.ts).

export const EVENT_STREAM = Symbol("berth.eventStream");

/** Union values ({ sessionStart: {…} }, { SessionStreamingException: { message } }), one message each. */
export interface EventStream<Event extends object> extends AsyncIterableIterator<Event> {
  readonly [EVENT_STREAM]: true;
}

export const isEventStream = (value: unknown): value is EventStream<Readonly<Record<string, unknown>>> =>
  typeof value === "object" && value !== null && (value as { [EVENT_STREAM]?: unknown })[EVENT_STREAM] === true;
