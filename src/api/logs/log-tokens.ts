// Pagination tokens of the Logs API. GetLogEvents hands out "f/…" (forward) and "b/…" (backward)
// tokens as AWS does; FilterLogEvents and the Describe* calls use opaque tokens. Each encodes a
// position, never a page number, so pages stay stable while events keep arriving.
import { invalidParameterException } from "../../core/errors.js";
import type { EventCursor } from "../../store/logs-repository.js";

export type Direction = "forward" | "backward";

export function encodeEventToken(direction: Direction, cursor: EventCursor): string {
  return `${direction === "forward" ? "f" : "b"}/${cursor.timestamp}/${cursor.id}`;
}

export function decodeEventToken(token: string): { direction: Direction; cursor: EventCursor } {
  const match = /^([fb])\/(-?\d{1,16})\/(\d{1,16})$/.exec(token);
  if (!match) throw invalidParameterException("The specified nextToken is invalid.");
  return {
    direction: match[1] === "f" ? "forward" : "backward",
    cursor: { timestamp: Number(match[2]), id: Number(match[3]) },
  };
}

export function encodeOpaqueToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeOpaqueToken<T>(token: string, isValid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalidParameterException("The specified nextToken is invalid.");
  }
  if (!isValid(value)) throw invalidParameterException("The specified nextToken is invalid.");
  return value;
}
