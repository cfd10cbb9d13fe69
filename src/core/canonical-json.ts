// JSON that is the same for equal documents whatever order their keys were built in: object keys
// sorted at every depth, undefined members left out (as JSON.stringify leaves them), Dates as their
// ISO strings (toJSON runs before the replacer sees them). Used to compare documents as stored
// (the service scheduler's no-op check) and to digest requests (CreateService's clientToken).

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) =>
    member !== null && typeof member === "object" && !Array.isArray(member)
      ? Object.fromEntries(Object.entries(member as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : member,
  );
}
