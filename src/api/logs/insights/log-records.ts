// GetLogRecord: every field of the one event a result row's @ptr points at
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogRecord.html:
// "All fields are retrieved, even if the original query … retrieved only a subset of fields. …
// The full unparsed log event is returned within @message."). A pointer names the event's log
// group and its id in the store; it is opaque to callers and checked as hostile when it comes back.
import type { GetLogRecordRequest, GetLogRecordResponse } from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException, resourceNotFoundException } from "../../../core/errors.js";
import type { InsightsContext } from "./query-operations.js";
import { EventRow } from "./rows.js";

const POINTER = /^([1-9]\d{0,15}):([1-9]\d{0,15})$/;

export function encodeLogRecordPointer(groupId: number, eventId: number): string {
  return Buffer.from(`${groupId}:${eventId}`).toString("base64url");
}

function decodeLogRecordPointer(pointer: unknown): { groupId: number; eventId: number } {
  const match = typeof pointer === "string" && pointer.length <= 64 ? POINTER.exec(Buffer.from(pointer, "base64url").toString("latin1")) : null;
  if (!match) throw invalidParameterException("The specified logRecordPointer is not valid."); // wording not confirmed
  return { groupId: Number(match[1]), eventId: Number(match[2]) };
}

export async function getLogRecord(context: InsightsContext, input: GetLogRecordRequest): Promise<GetLogRecordResponse> {
  const { groupId, eventId } = decodeLogRecordPointer(input.logRecordPointer);
  const found = await context.insights.getEvent(groupId, eventId);
  if (!found) throw resourceNotFoundException("The specified log record does not exist."); // wording not confirmed
  const row = new EventRow(found.event, {
    log: `${context.scope.accountId}:${found.groupName}`,
    streamName: () => found.streamName,
    ptr: () => input.logRecordPointer!,
  });
  const logRecord: Record<string, string> = {};
  // Times as epoch milliseconds, as the event's own timestamp fields are (format not confirmed against AWS).
  for (const [field, value] of row.all()) if (value !== undefined && value !== null) logRecord[field] = String(value);
  return { logRecord };
}
