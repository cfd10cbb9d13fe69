// StartLiveTail: the log events of up to 10 log groups as they are ingested, streamed to the caller
// (an event stream: src/api/gateway/event-stream-answer.ts) for up to 3 hours, as AWS does:
//
//   sessionStart     first: the request and session ids, the groups, stream filters and pattern
//   sessionUpdate    every second: the events ingested since the last one that match the stream
//                    names or prefixes and the filter pattern (the full syntax, filter-pattern.ts),
//                    at most 500 and MAX_UPDATE_BYTES of messages (beyond: an even sample of them,
//                    sessionMetadata.sampled true)
//   SessionTimeoutException   after 3 hours, ending the stream
//
// Each second reads each group from where the last read stopped, by (ingestion time, id) through
// the store's index, up to LAG_MS ago: an event is sent once, LAG_MS to 1 s + LAG_MS after it was
// ingested (the lag lets a write still committing, or a replica's clock a little behind, land
// before the cursor passes it). A read takes at most MAX_ROWS_PER_GROUP rows or
// MAX_BYTES_PER_GROUP of messages a group; a group ingesting faster than that is skipped ahead to
// the present (its update marked sampled), so a flood delays nothing and costs a bounded read.
// At most MAX_SESSIONS run at once (AWS's quota: 15 concurrent sessions per account); a session
// ends when its client goes, and its slot is freed once its read in flight has finished.
import { randomUUID } from "node:crypto";
import { SessionTimeoutException } from "@aws-sdk/client-cloudwatch-logs";
import type {
  LiveTailSessionLogEvent,
  LiveTailSessionUpdate,
  StartLiveTailRequest,
  StartLiveTailResponse,
  StartLiveTailResponseStream,
} from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException, limitExceededException } from "../../core/errors.js";
import type { LogEventRecord, LogGroupRecord } from "../../store/logs-repository.js";
import { EVENT_STREAM } from "../event-stream-output.js";
import type { EventStream } from "../event-stream-output.js";
import type { RequestContext } from "../service-module.js";
import { eventView } from "./filter-pattern-json.js";
import { parseFilterPattern } from "./filter-pattern.js";
import type { LogsContext } from "./log-groups.js";
import { logGroupArn, requireLogGroup } from "./log-groups.js";

const MAX_SESSIONS = 15;
const MAX_GROUPS = 10;
const MAX_STREAM_FILTERS = 100;
const MAX_RESULTS_PER_UPDATE = 500;
const MAX_UPDATE_BYTES = 4 * 1024 * 1024;
const MAX_ROWS_PER_GROUP = 2_000;
const MAX_BYTES_PER_GROUP = 8 * 1024 * 1024;
const PAGE_ROWS = 250;
const UPDATE_MS = 1_000;
const LAG_MS = 1_500;
const SESSION_MS = 3 * 3_600_000;

/** The sessions running on this control plane (the quota's count). */
export class LiveTailSessions {
  private running = 0;

  /** A slot for one session, or LimitExceededException. */
  take(): () => void {
    if (this.running >= MAX_SESSIONS) throw limitExceededException(`You have reached the maximum number of concurrent Live Tail sessions (${MAX_SESSIONS}).`); // wording not confirmed
    this.running++;
    let released = false;
    return () => {
      if (!released) this.running--;
      released = true;
    };
  }
}

interface Tail {
  readonly groups: readonly LogGroupRecord[];
  readonly arns: readonly string[];
  readonly streams: (name: string) => boolean;
  readonly matches: (message: string) => boolean;
}

async function tailOf(context: LogsContext, input: StartLiveTailRequest): Promise<Tail> {
  const identifiers = input.logGroupIdentifiers ?? [];
  if (identifiers.length < 1 || identifiers.length > MAX_GROUPS) {
    throw invalidParameterException(`logGroupIdentifiers must name between 1 and ${MAX_GROUPS} log groups.`); // wording not confirmed
  }
  if (input.logStreamNames !== undefined && input.logStreamNamePrefixes !== undefined) {
    throw invalidParameterException("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters."); // wording not confirmed
  }
  const streamFilter = input.logStreamNames ?? input.logStreamNamePrefixes;
  if (streamFilter !== undefined) {
    if (identifiers.length !== 1) throw invalidParameterException("Log stream filters can be specified only with exactly one log group."); // wording not confirmed
    if (streamFilter.length < 1 || streamFilter.length > MAX_STREAM_FILTERS) {
      throw invalidParameterException(`Log stream filters must have between 1 and ${MAX_STREAM_FILTERS} items.`); // wording not confirmed
    }
  }
  const groups: LogGroupRecord[] = [];
  for (const identifier of identifiers) {
    const group = await requireLogGroup(context, { logGroupIdentifier: identifier });
    if (!groups.some((known) => known.id === group.id)) groups.push(group);
  }
  const pattern = parseFilterPattern(input.logEventFilterPattern, "logEventFilterPattern");
  const names = new Set(input.logStreamNames ?? []);
  const prefixes = input.logStreamNamePrefixes ?? [];
  return {
    groups,
    arns: groups.map((group) => logGroupArn(context.scope, group.name)),
    streams: (name) =>
      input.logStreamNames !== undefined
        ? names.has(name)
        : input.logStreamNamePrefixes !== undefined
          ? prefixes.some((prefix) => name.startsWith(prefix))
          : true,
    matches: pattern.kind === "all" ? () => true : (message) => pattern.evaluate(eventView(message)) !== undefined,
  };
}

/** At most `count` of `items`, evenly spread over them (the order kept). */
function evenSample<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, index) => items[Math.floor((index * items.length) / count)]!);
}

/** The first of `events` whose messages fit in `bytes` (UTF-16 length as the measure: a bound, not an exact size). */
function withinBytes(events: readonly LiveTailSessionLogEvent[], bytes: number): LiveTailSessionLogEvent[] {
  let used = 0;
  const kept: LiveTailSessionLogEvent[] = [];
  for (const event of events) {
    used += event.message?.length ?? 0;
    if (used > bytes) break;
    kept.push(event);
  }
  return kept;
}

type Cursor = { ingestionTime: number; id: number };

/** One group's events after its cursor up to `until`, within the read's bounds; the cursor moves past them (to `until` when it fell behind). */
async function readGroup(
  context: LogsContext,
  groupId: number,
  cursor: Cursor,
  until: number,
): Promise<{ events: LogEventRecord[]; behind: boolean; cursor: Cursor }> {
  const events: LogEventRecord[] = [];
  let bytes = 0;
  let at = cursor;
  for (;;) {
    const page = await context.logs.eventsIngestedAfter(groupId, at, until, PAGE_ROWS);
    for (const event of page) bytes += event.message.length;
    events.push(...page);
    if (page.length > 0) at = { ingestionTime: page.at(-1)!.ingestionTime, id: page.at(-1)!.id };
    if (page.length < PAGE_ROWS) return { events, behind: false, cursor: at };
    // Faster than a session reads: what is left before `until` is skipped, the update is a sample.
    if (events.length >= MAX_ROWS_PER_GROUP || bytes >= MAX_BYTES_PER_GROUP)
      return { events, behind: true, cursor: { ingestionTime: until, id: Number.MAX_SAFE_INTEGER } };
  }
}

/**
 * A session's events, one step per next(); return() (the gateway's, when the stream ends or the
 * client goes) ends it at once: its wait is aborted, and its quota slot is freed once a read in
 * flight has finished.
 */
class LiveTailStream implements EventStream<StartLiveTailResponseStream> {
  readonly [EVENT_STREAM] = true as const;
  private readonly stop = new AbortController();
  private readonly cursors = new Map<number, Cursor>();
  private startedAt: number | undefined;
  private reading: Promise<unknown> = Promise.resolve();
  private timedOut = false;

  constructor(
    private readonly context: LogsContext,
    private readonly tail: Tail,
    private readonly start: StartLiveTailResponseStream,
    private readonly release: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StartLiveTailResponseStream, undefined>> {
    const { clock } = this.context;
    if (this.stop.signal.aborted) return { done: true, value: undefined };
    if (this.startedAt === undefined) {
      this.startedAt = clock.now();
      for (const group of this.tail.groups) this.cursors.set(group.id, { ingestionTime: this.startedAt, id: 0 });
      return { done: false, value: this.start };
    }
    if (clock.now() - this.startedAt >= SESSION_MS) {
      if (this.timedOut) return { done: true, value: undefined };
      this.timedOut = true;
      return { done: false, value: { SessionTimeoutException: new SessionTimeoutException({ message: "Session timed out after 3 hours.", $metadata: {} }) } }; // wording not confirmed
    }
    try {
      await clock.sleep(UPDATE_MS, this.stop.signal);
    } catch {
      return { done: true, value: undefined };
    }
    const read = this.update(clock.now() - LAG_MS);
    this.reading = read.catch(() => undefined);
    return { done: false, value: { sessionUpdate: await read } };
  }

  async return(): Promise<IteratorResult<StartLiveTailResponseStream, undefined>> {
    this.stop.abort();
    void this.reading.finally(() => this.release());
    return { done: true, value: undefined };
  }

  /** The update of the events ingested up to `until` that the session has not sent. */
  private async update(until: number): Promise<LiveTailSessionUpdate> {
    const results: (LiveTailSessionLogEvent & { id: number })[] = [];
    let sampled = false;
    for (const [index, group] of this.tail.groups.entries()) {
      const read = await readGroup(this.context, group.id, this.cursors.get(group.id)!, until);
      this.cursors.set(group.id, read.cursor);
      sampled ||= read.behind;
      if (read.events.length === 0) continue;
      const names = await this.context.logs.streamNames([...new Set(read.events.map((event) => event.streamId))]);
      for (const { streamId, timestamp, ingestionTime, message, id } of read.events) {
        const logStreamName = names.get(streamId);
        if (logStreamName === undefined || !this.tail.streams(logStreamName) || !this.tail.matches(message)) continue;
        results.push({ id, logStreamName, logGroupIdentifier: this.tail.arns[index]!, message, timestamp, ingestionTime });
      }
    }
    const ordered = results.sort((a, b) => a.ingestionTime! - b.ingestionTime! || a.id - b.id).map(({ id: _id, ...event }) => event);
    const sessionResults = withinBytes(evenSample(ordered, MAX_RESULTS_PER_UPDATE), MAX_UPDATE_BYTES);
    return { sessionMetadata: { sampled: sampled || sessionResults.length < ordered.length }, sessionResults };
  }
}

export async function startLiveTail(
  context: LogsContext,
  sessions: LiveTailSessions,
  input: StartLiveTailRequest,
  request: Pick<RequestContext, "requestId">,
): Promise<StartLiveTailResponse> {
  const tail = await tailOf(context, input);
  const release = sessions.take();
  const start: StartLiveTailResponseStream = {
    sessionStart: {
      requestId: request.requestId,
      sessionId: randomUUID(),
      logGroupIdentifiers: [...tail.arns],
      ...(input.logStreamNames !== undefined ? { logStreamNames: input.logStreamNames } : {}),
      ...(input.logStreamNamePrefixes !== undefined ? { logStreamNamePrefixes: input.logStreamNamePrefixes } : {}),
      ...(input.logEventFilterPattern !== undefined ? { logEventFilterPattern: input.logEventFilterPattern } : {}),
    },
  };
  return { responseStream: new LiveTailStream(context, tail, start, release) };
}
