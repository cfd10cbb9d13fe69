// The records a query works on. An event row answers the system fields (@timestamp, @message,
// @logStream, @log, @ingestionTime) from the stored event and discovers the fields of a JSON
// message (nested objects flattened with dots, array elements by index, as Logs Insights does:
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html).
// The message is parsed only when a query asks for a field that is not a system field, and at
// most once per event. Fields set by `fields`, `parse` and the like sit in `computed` and take
// precedence over both.
import type { Value } from "./ast.js";

export interface Row {
  get(name: string): Value;
  set(name: string, value: Value): void;
  /** Every field of the row, for a query that names none (`fields`/`display`/`stats` absent). */
  all(): Map<string, Value>;
}

/** What an event row reads from its stored event. */
export interface EventSource {
  readonly id: number;
  readonly streamId: number;
  readonly timestamp: number;
  readonly ingestionTime: number;
  readonly message: string;
}

/** What the events of one log group share (so that no per-event object is made for them). */
export interface EventContext {
  /** "accountId:logGroupName", as Logs Insights shows @log. */
  readonly log: string;
  readonly streamName: (streamId: number) => string;
  /** The event's @ptr: a pointer to it, made only when a result row shows it. */
  readonly ptr: (eventId: number) => string;
}

/** JSON documents deeper than this are not flattened further (hostile nesting). */
const MAX_FLATTEN_DEPTH = 32;
/**
 * At most this many discovered fields are listed for an event (a row without `fields`, GetLogRecord):
 * AWS's parse page speaks of JSON log events of "no more than 200 log event fields" (CWL_QuerySyntax-Parse).
 * A field named by a query is still read however many the event has.
 */
const MAX_DISCOVERED_FIELDS = 200;

const NOT_PARSED = Symbol("not parsed");

export const SYSTEM_FIELDS = ["@timestamp", "@message", "@logStream", "@log", "@ingestionTime"] as const;

export class EventRow implements Row {
  private computed: Map<string, Value> | undefined;
  private json: unknown = NOT_PARSED;

  constructor(
    readonly event: EventSource,
    private readonly context: EventContext,
  ) {}

  get(name: string): Value {
    if (this.computed !== undefined) {
      const value = this.computed.get(name);
      if (value !== undefined || this.computed.has(name)) return value;
    }
    switch (name) {
      case "@timestamp":
        return this.event.timestamp;
      case "@message":
        return this.event.message;
      case "@logStream":
        return this.context.streamName(this.event.streamId);
      case "@log":
        return this.context.log;
      case "@ingestionTime":
        return this.event.ingestionTime;
      case "@ptr":
        return this.context.ptr(this.event.id);
      default:
        return lookup(this.parsed(), name);
    }
  }

  set(name: string, value: Value): void {
    (this.computed ??= new Map()).set(name, value);
  }

  all(): Map<string, Value> {
    const fields = new Map<string, Value>();
    for (const name of SYSTEM_FIELDS) fields.set(name, this.get(name));
    const parsed = this.parsed();
    if (parsed !== undefined) flatten(parsed, "", fields, 0);
    for (const [name, value] of this.computed ?? []) fields.set(name, value);
    return fields;
  }

  private parsed(): unknown {
    if (this.json === NOT_PARSED) this.json = parseJsonObject(this.event.message);
    return this.json;
  }
}

/** A row made by `stats`: only the fields it computed. */
export class MapRow implements Row {
  constructor(private readonly fields: Map<string, Value> = new Map()) {}
  get(name: string): Value {
    return this.fields.get(name);
  }
  set(name: string, value: Value): void {
    this.fields.set(name, value);
  }
  all(): Map<string, Value> {
    return new Map(this.fields);
  }
}

/** Whether the message starts (after JSON whitespace) with "{": plain text costs a character test or two. */
function looksLikeObject(message: string): boolean {
  let start = 0;
  for (;;) {
    const c = message.charCodeAt(start);
    if (c === 32 || c === 9 || c === 10 || c === 13) start++;
    else return c === 123;
  }
}

function parseJsonObject(message: string): unknown {
  if (!looksLikeObject(message)) return undefined;
  try {
    const value: unknown = JSON.parse(message);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The value at a flattened name ("a.b.0.c"); keys that themselves hold dots are tried whole first. */
function lookup(document: unknown, name: string): Value {
  if (document === undefined) return undefined;
  let node: unknown = document;
  let rest = name;
  for (let depth = 0; depth <= MAX_FLATTEN_DEPTH; depth++) {
    if (typeof node !== "object" || node === null) return undefined;
    const record = node as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(record, rest)) return scalar(record[rest]);
    const dot = rest.indexOf(".");
    if (dot < 0) return undefined;
    const head = rest.slice(0, dot);
    if (!Object.prototype.hasOwnProperty.call(record, head)) return undefined;
    node = record[head];
    rest = rest.slice(dot + 1);
  }
  return undefined;
}

function scalar(value: unknown): Value {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  // null is present but empty; objects and arrays are not fields themselves (their members are).
  return value === null ? null : undefined;
}

function flatten(node: unknown, prefix: string, into: Map<string, Value>, depth: number): void {
  if (typeof node !== "object" || node === null || depth > MAX_FLATTEN_DEPTH) return;
  for (const [key, value] of Object.entries(node)) {
    if (into.size >= MAX_DISCOVERED_FIELDS) return;
    const name = prefix === "" ? key : `${prefix}.${key}`;
    if (typeof value === "object" && value !== null) flatten(value, name, into, depth + 1);
    else into.set(name, scalar(value));
  }
}

/** "2019-01-01 00:00:00.000": how Logs Insights prints @timestamp and other times. */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
