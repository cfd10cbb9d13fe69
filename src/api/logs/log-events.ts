// CloudWatch Logs events: PutLogEvents, GetLogEvents and FilterLogEvents, with AWS's batch rules
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html) and
// its token semantics (GetLogEvents returns the token you passed in once you reach the end).
import type {
  FilterLogEventsRequest,
  FilterLogEventsResponse,
  FilteredLogEvent,
  GetLogEventsRequest,
  GetLogEventsResponse,
  PutLogEventsRequest,
  PutLogEventsResponse,
  RejectedLogEventsInfo,
} from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException } from "../../core/errors.js";
import type { EventCursor, EventRange, LogEventRecord, NewLogEvent } from "../../store/logs-repository.js";
import type { EventMatcher } from "./filter-pattern.js";
import { compileFilterPattern } from "./filter-pattern.js";
import type { LogsContext } from "./log-groups.js";
import { requireLogGroup, requireLogStream } from "./log-groups.js";
import { decodeEventToken, decodeOpaqueToken, encodeEventToken, encodeOpaqueToken } from "./log-tokens.js";

const MAX_BATCH_EVENTS = 10_000;
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD_BYTES = 26;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_RESPONSE_BYTES = 1_048_576;
/** FilterLogEvents scans at most this many events per call and returns a nextToken to go on. */
const FILTER_SCAN_BUDGET = 50_000;
/**
 * Matching runs synchronously on the event loop, so each FilterLogEvents call matches for at most
 * about this long, then answers with what it found and a nextToken that resumes after the last
 * event it scanned (AWS, too, may return fewer events, or none, with a nextToken). The clock is
 * read every FILTER_CHECK_EVERY events, and sooner once FILTER_CHECK_CHARS characters were matched
 * since the last reading (so after every large event). One event's match cannot be interrupted:
 * what bounds it is the pattern's size limits in filter-pattern.ts and the event's size.
 */
const FILTER_MATCH_BUDGET_MS = 100;
const FILTER_CHECK_EVERY = 256;
const FILTER_CHECK_CHARS = 16_384;

export async function putLogEvents(context: LogsContext, input: PutLogEventsRequest): Promise<PutLogEventsResponse> {
  const group = await requireLogGroup(context, { logGroupName: input.logGroupName });
  const stream = await requireLogStream(context, group, input.logStreamName);
  const events = input.logEvents ?? [];
  if (events.length < 1 || events.length > MAX_BATCH_EVENTS) {
    throw invalidParameterException(
      `1 validation error detected: Value '[…]' at 'logEvents' failed to satisfy constraint: Member must have length ${events.length < 1 ? "greater than or equal to 1" : `less than or equal to ${MAX_BATCH_EVENTS}`}`,
    );
  }
  let batchBytes = 0;
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    if (typeof event.timestamp !== "number" || typeof event.message !== "string" || event.message.length < 1) {
      throw invalidParameterException(`Log event ${index} needs a timestamp and a non-empty message.`);
    }
    // A Long: a fraction would be stored as one by SQLite (and break the event tokens) and refused by PostgreSQL's bigint.
    if (!Number.isInteger(event.timestamp)) throw notWholeMilliseconds(event.timestamp, `logEvents.${index + 1}.member.timestamp`);
    if (index > 0 && event.timestamp < events[index - 1]!.timestamp!) {
      throw invalidParameterException("Log events in a single PutLogEvents request must be in chronological order.");
    }
    batchBytes += Buffer.byteLength(event.message) + EVENT_OVERHEAD_BYTES;
  }
  if (batchBytes > MAX_BATCH_BYTES) {
    throw invalidParameterException(`Upload too large: ${batchBytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
  }
  if (events.at(-1)!.timestamp! - events[0]!.timestamp! > DAY_MS) {
    throw invalidParameterException("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
  }

  // Events too far in the future, older than 14 days or older than the retention are skipped and
  // reported by index range, like AWS does; the rest are stored.
  const now = context.clock.now();
  const tooOldBefore = now - 14 * DAY_MS;
  const expiredBefore = group.retentionDays === null ? Number.NEGATIVE_INFINITY : now - group.retentionDays * DAY_MS;
  const tooNewAfter = now + 2 * HOUR_MS;
  const accepted: NewLogEvent[] = [];
  const rejected: RejectedLogEventsInfo = {};
  events.forEach((event, index) => {
    const timestamp = event.timestamp!;
    if (timestamp > tooNewAfter) {
      rejected.tooNewLogEventStartIndex ??= index;
    } else if (timestamp < expiredBefore) {
      rejected.expiredLogEventEndIndex = index;
    } else if (timestamp < tooOldBefore) {
      rejected.tooOldLogEventEndIndex = index;
    } else {
      accepted.push({ timestamp, message: event.message! });
    }
  });
  await context.logs.appendEvents(stream, accepted, now);
  return {
    // Sequence tokens are no longer enforced by AWS; one is still returned for older clients.
    nextSequenceToken: String(now).padStart(56, "0"),
    ...(Object.keys(rejected).length > 0 ? { rejectedLogEventsInfo: rejected } : {}),
  };
}

function notWholeMilliseconds(value: number, member: string): Error {
  return invalidParameterException(
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must be a whole number of milliseconds`,
  );
}

/**
 * startTime and endTime are Longs of at least 0 (AWS's constraint). Checked here, before the store:
 * PostgreSQL's bigint refuses a fraction or a value past 2^63 (a 500), where SQLite compared it.
 */
function checkTimeRange(input: EventRange): EventRange {
  for (const member of ["startTime", "endTime"] as const) {
    const value = input[member];
    if (value === undefined) continue;
    if (!Number.isInteger(value)) throw notWholeMilliseconds(value, member);
    if (value < 0 || value > Number.MAX_SAFE_INTEGER) {
      throw invalidParameterException(
        `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value ${value < 0 ? "greater than or equal to 0" : `less than or equal to ${Number.MAX_SAFE_INTEGER}`}`,
      );
    }
  }
  return { startTime: input.startTime, endTime: input.endTime };
}

function checkEventLimit(limit: number | undefined): number {
  if (limit === undefined) return MAX_BATCH_EVENTS;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BATCH_EVENTS) {
    throw invalidParameterException(
      `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value ${limit < 1 ? "greater than or equal to 1" : "less than or equal to 10000"}`,
    );
  }
  return limit;
}

/** Keeps events (in the given order) until the response would pass AWS's 1 MB page size. */
function capResponseBytes(rows: LogEventRecord[]): LogEventRecord[] {
  let bytes = 0;
  for (let index = 0; index < rows.length; index++) {
    bytes += Buffer.byteLength(rows[index]!.message) + EVENT_OVERHEAD_BYTES;
    if (bytes > MAX_RESPONSE_BYTES) return rows.slice(0, Math.max(index, 1));
  }
  return rows;
}

const STREAM_START: EventCursor = { timestamp: Number.MIN_SAFE_INTEGER, id: 0 };
const cursorOf = (row: LogEventRecord): EventCursor => ({ timestamp: row.timestamp, id: row.id });

export async function getLogEvents(context: LogsContext, input: GetLogEventsRequest): Promise<GetLogEventsResponse> {
  const group = await requireLogGroup(context, input);
  const stream = await requireLogStream(context, group, input.logStreamName);
  const limit = checkEventLimit(input.limit);
  const range = checkTimeRange(input);
  const token = input.nextToken === undefined ? undefined : decodeEventToken(input.nextToken);
  const direction = token?.direction ?? (input.startFromHead ? "forward" : "backward");

  let rows = await context.logs.streamEvents({
    streamId: stream.id,
    range,
    ...(token?.direction === "forward" ? { after: token.cursor } : {}),
    ...(token?.direction === "backward" ? { before: token.cursor } : {}),
    direction,
    limit,
  });
  rows = capResponseBytes(rows);
  if (direction === "backward") rows.reverse();

  const first = rows[0];
  const last = rows.at(-1);
  if (!first || !last) {
    // Nothing (more) to read: hand back the caller's position (AWS returns the token you passed
    // in at the end of the stream) so that polling goes on from it.
    const here = token?.cursor ?? STREAM_START;
    return { events: [], nextForwardToken: encodeEventToken("forward", here), nextBackwardToken: encodeEventToken("backward", here) };
  }
  return {
    events: rows.map((row) => ({ timestamp: row.timestamp, message: row.message, ingestionTime: row.ingestionTime })),
    nextForwardToken: encodeEventToken("forward", cursorOf(last)),
    nextBackwardToken: encodeEventToken("backward", cursorOf(first)),
  };
}

type FilterPage = { t: number; i: number };
// The position goes to bigint columns: whole numbers only, or it is not a token Berth issued.
const isFilterPage = (value: unknown): value is FilterPage => Number.isSafeInteger((value as FilterPage)?.t) && Number.isSafeInteger((value as FilterPage)?.i);

export interface FilterOptions {
  /** Turns the filterPattern into a matcher; tests pass a slower one to exercise the time budget. */
  readonly compile?: (pattern: string | undefined) => EventMatcher;
}

export async function filterLogEvents(context: LogsContext, input: FilterLogEventsRequest, options: FilterOptions = {}): Promise<FilterLogEventsResponse> {
  const group = await requireLogGroup(context, input);
  if (input.logStreamNames !== undefined && input.logStreamNamePrefix !== undefined) {
    throw invalidParameterException("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
  }
  const limit = checkEventLimit(input.limit);
  const matches = (options.compile ?? compileFilterPattern)(input.filterPattern);
  const streamIds = await selectStreams(context, group.id, input);
  const range = checkTimeRange(input);
  let after: EventCursor | undefined;
  if (input.nextToken !== undefined) {
    const page = decodeOpaqueToken(input.nextToken, isFilterPage);
    after = { timestamp: page.t, id: page.i };
  }

  const found: LogEventRecord[] = [];
  let scanned = 0;
  let exhausted = false;
  let bytes = 0;
  let matchingMs = 0;
  let outOfTime = false;
  // Events may be up to ~1 MiB each: the first batches are small, so that a call which stops on
  // its time budget has not read thousands of events it will not scan.
  let batchSize = FILTER_CHECK_EVERY;
  while (!outOfTime && found.length < limit && scanned < FILTER_SCAN_BUDGET && bytes < MAX_RESPONSE_BYTES) {
    const batch = await context.logs.groupEvents({
      groupId: group.id,
      ...(streamIds ? { streamIds } : {}),
      range,
      ...(after ? { after } : {}),
      limit: Math.min(batchSize, FILTER_SCAN_BUDGET - scanned),
    });
    batchSize = Math.min(batchSize * 4, 5_000);
    if (batch.length === 0) {
      exhausted = true;
      break;
    }
    let mark = performance.now();
    let eventsSinceCheck = 0;
    let charsSinceCheck = 0;
    for (const row of batch) {
      scanned++;
      after = cursorOf(row);
      const matched = matches(row.message);
      if (matched) {
        found.push(row);
        bytes += Buffer.byteLength(row.message) + EVENT_OVERHEAD_BYTES;
      }
      charsSinceCheck += row.message.length;
      if (++eventsSinceCheck >= FILTER_CHECK_EVERY || charsSinceCheck >= FILTER_CHECK_CHARS) {
        const now = performance.now();
        matchingMs += now - mark;
        mark = now;
        eventsSinceCheck = 0;
        charsSinceCheck = 0;
        // Stops after the event just scanned (never before it), so every call moves on.
        if (matchingMs >= FILTER_MATCH_BUDGET_MS) outOfTime = true;
      }
      if (outOfTime || (matched && (found.length >= limit || bytes >= MAX_RESPONSE_BYTES))) break;
    }
    matchingMs += performance.now() - mark;
    if (matchingMs >= FILTER_MATCH_BUDGET_MS) outOfTime = true;
  }
  const names = await context.logs.streamNames([...new Set(found.map((row) => row.streamId))]);
  const events: FilteredLogEvent[] = found.map((row) => ({
    logStreamName: names.get(row.streamId) ?? "",
    timestamp: row.timestamp,
    message: row.message,
    ingestionTime: row.ingestionTime,
    eventId: String(row.id).padStart(20, "0"),
  }));
  return {
    events,
    searchedLogStreams: [],
    ...(!exhausted && after ? { nextToken: encodeOpaqueToken({ t: after.timestamp, i: after.id }) } : {}),
  };
}

async function selectStreams(context: LogsContext, groupId: number, input: FilterLogEventsRequest): Promise<number[] | undefined> {
  if (input.logStreamNames !== undefined) {
    const ids: number[] = [];
    for (const name of input.logStreamNames) {
      const stream = await context.logs.getStream(groupId, name);
      if (stream) ids.push(stream.id);
    }
    return ids;
  }
  if (input.logStreamNamePrefix !== undefined) {
    const streams = await context.logs.listStreams({
      groupId,
      namePrefix: input.logStreamNamePrefix,
      orderBy: "LogStreamName",
      descending: false,
      limit: 100_000,
    });
    return streams.map((stream) => stream.id);
  }
  return undefined;
}
