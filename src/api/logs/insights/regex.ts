// Regular expressions from query text, compiled with RE2 (linear-time matching: no pattern a
// caller writes can make a query backtrack exponentially over a log line), and `parse`'s glob
// patterns turned into RE2 expressions.
import RE2 from "re2";
import { QuerySyntaxError } from "./query-syntax-error.js";

/** Logs Insights accepts inline flags ((?i) …) inside the pattern; nothing after the closing slash. */
export function compileRegex(source: string, query: string, offset: number): RE2 {
  try {
    return new RE2(source, "u");
  } catch (error) {
    throw QuerySyntaxError.at(query, offset, `invalid regular expression /${source}/: ${(error as Error).message}`, source.length + 2); // wording not confirmed
  }
}

/**
 * A `parse` glob: `*` captures (as little as possible, except a trailing one, which takes the rest
 * of the line); everything else is literal. The match may start anywhere in the field.
 */
export function globToRegex(glob: string): RE2 {
  const parts = glob.split("*").map((literal) => literal.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&"));
  let source = parts[0]!;
  for (let index = 1; index < parts.length; index++) {
    const last = index === parts.length - 1 && parts[index] === "";
    source += (last ? "(.*)" : "(.*?)") + parts[index]!;
  }
  return new RE2(source, "su");
}

/** The names of the named groups ((?<name>…)) of a `parse` regex, in order. */
export function namedGroups(source: string): string[] {
  const names: string[] = [];
  for (const match of source.matchAll(/\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/g)) names.push(match[1]!);
  return names;
}
