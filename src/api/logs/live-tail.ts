// StartLiveTail: the log events of up to 10 log groups as they are ingested, streamed to the caller
// (an event stream: src/api/gateway/event-stream-answer.ts) for up to 3 hours, as AWS does:
//
//   sessionStart     first: the request and session ids, the groups, stream filters and pattern
//   sessionUpdate    every second: the events ingested since the last one that match the stream
//                    names or prefixes and the filter pattern (the full syntax, filter-pattern.ts),
//                    at most 500 (then an even sample of them, sessionMetadata.sampled true)
//   SessionTimeoutException   after 3 hours, ending the stream
//
// Each second reads each group's events by ingestion time (the store's index on it) from a window
// reaching OVERLAP_MS back, so an event whose write committed late is still seen; the ids already
// sent are remembered for that window, so none is sent twice. At most MAX_SESSIONS run at once
// (AWS's quota: 15 concurrent sessions per account); a session ends when its client goes.
import { randomUUID } from "node:crypto";
import { SessionTimeoutException } from "@aws-sdk/client-cloudwatch-logs";
import type { LiveTailSessionLogEvent, StartLiveTailRequest, StartLiveTailResponse, StartLiveTailResponseStream } from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException, limitExceededException } from "../../core/errors.js";
import type { LogGroupRecord } from "../../store/logs-repository.js";
import type { RequestContext } from "../service-module.js";
import { eventView } from "./filter-pattern-json.js";
import { parseFilterPattern } from "./filter-pattern.js";
import type { LogsContext } from "./log-groups.js";
import { logGroupArn, requireLogGroup } from "./log-groups.js";

export const MAX_SESSIONS = 15;
const MAX_GROUPS = 10;
const MAX_STREAM_FILTERS = 100;
const MAX_RESULTS_PER_UPDATE = 500;
/** Events read per group per second at most: far above what 500 results need, bounded against a flood. */
const MAX_READ_PER_GROUP = 10_000;
const UPDATE_MS = 1_000;
const OVERLAP_MS = 5_000;
export const SESSION_MS = 3 * 3_600_000;

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

/** One second's events of the session: those ingested since the window's start, not sent before. */
async function nextResults(context: LogsContext, tail: Tail, sent: Map<number, number>, since: number): Promise<LiveTailSessionLogEvent[]> {
  const results: (LiveTailSessionLogEvent & { id: number })[] = [];
  for (const [index, group] of tail.groups.entries()) {
    const events = (await context.logs.eventsIngestedSince(group.id, since, MAX_READ_PER_GROUP)).filter((event) => !sent.has(event.id));
    if (events.length === 0) continue;
    const names = await context.logs.streamNames([...new Set(events.map((event) => event.streamId))]);
    for (const event of events) {
      sent.set(event.id, event.ingestionTime);
      const logStreamName = names.get(event.streamId);
      if (logStreamName === undefined || !tail.streams(logStreamName) || !tail.matches(event.message)) continue;
      const { timestamp, ingestionTime, message, id } = event;
      results.push({ id, logStreamName, logGroupIdentifier: tail.arns[index]!, message, timestamp, ingestionTime });
    }
  }
  return results.sort((a, b) => a.ingestionTime! - b.ingestionTime! || a.id - b.id).map(({ id: _id, ...event }) => event);
}

/**
 * A session's events, one step per next(); return() (the gateway's, when the client goes) ends it
 * at once: its wait is aborted and its quota slot freed, even while a next() is pending.
 */
class LiveTailStream implements AsyncIterableIterator<StartLiveTailResponseStream> {
  private readonly stop = new AbortController();
  private readonly sent = new Map<number, number>();
  private startedAt: number | undefined;
  private since = 0;
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
      this.startedAt = this.since = clock.now();
      return { done: false, value: this.start };
    }
    if (clock.now() - this.startedAt >= SESSION_MS) {
      this.close();
      const timeout = new SessionTimeoutException({ message: "Session timed out after 3 hours.", $metadata: {} }); // wording not confirmed
      return this.timedOut ? { done: true, value: undefined } : ((this.timedOut = true), { done: false, value: { SessionTimeoutException: timeout } });
    }
    try {
      await clock.sleep(UPDATE_MS, this.stop.signal);
    } catch {
      return { done: true, value: undefined };
    }
    const readAt = clock.now();
    const results = await nextResults(this.context, this.tail, this.sent, this.since - OVERLAP_MS);
    this.since = readAt;
    for (const [id, ingestedAt] of this.sent) if (ingestedAt < this.since - OVERLAP_MS) this.sent.delete(id);
    const sessionResults = evenSample(results, MAX_RESULTS_PER_UPDATE);
    return { done: false, value: { sessionUpdate: { sessionMetadata: { sampled: results.length > MAX_RESULTS_PER_UPDATE }, sessionResults } } };
  }

  async return(): Promise<IteratorResult<StartLiveTailResponseStream, undefined>> {
    this.close();
    return { done: true, value: undefined };
  }

  private close(): void {
    this.stop.abort();
    this.release();
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
