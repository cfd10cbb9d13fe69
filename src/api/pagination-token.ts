// The nextToken of every paginated operation: the position to resume from, as base64url JSON. A
// token comes back from the caller, so it is parsed defensively and checked by the service's own
// guard; each service words the refusal of a bad token its own way (the `invalid` error).

export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** The position a token holds, undefined for no token; `invalid()` is thrown for anything else. */
export function decodeToken<T>(token: string | undefined, valid: (value: unknown) => value is T, invalid: () => Error): T | undefined {
  if (token === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (valid(value)) return value;
  } catch {
    // not base64url JSON: refused below like a token of the wrong shape
  }
  throw invalid();
}
