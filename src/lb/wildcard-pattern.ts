// ELBv2's wildcard patterns (`*` any run, `?` one character) as PCRE2 regexes HAProxy can run on
// hostile input in time linear in the subject.
//
// The naive form (each `*` as a backtracking `.*`) is exponential in the number of stars: on a
// subject that almost matches, PCRE retries every split of the subject between the stars, and one
// request can hold a worker past HAProxy's watchdog (which aborts it, and the master then exits).
//
// The form here: split the pattern on `*` into fixed-length pieces p0 … pk (`?` is one "any"
// character inside a piece; consecutive stars give empty pieces, dropped). Then
//   ^ p0 (?>ANY*?p1) (?>ANY*?p2) … ANY* pk $
// - p0 must start the subject and pk end it (anchored);
// - each middle piece is taken at its first occurrence after the previous one, inside an atomic
//   group, so PCRE never returns into it to try a later occurrence. Taking the earliest
//   occurrence is enough: pieces have fixed lengths, so if any placement of p1 … pk matches, the
//   one with every piece moved to its earliest possible position matches too (it leaves each
//   later piece at least as much room). Each group scans forward once: O(n · |piece|);
// - the tail `ANY* pk $` backs off from the end once: O(n · |pk|), and when it fails nothing
//   before it can be retried (atomic groups, anchored start), so the whole match fails.
// A pattern is at most 128 characters, so a match costs O(n · 128) — linear in the subject.
// For query strings ANY is `[^&]`: a value never runs across a pair, and the unanchored `(^|&)`
// start is retried once per pair, each attempt bounded by its own pair (still linear overall).

/** Every character that is not a letter or digit as a \xHH escape: no user text reaches the config as itself. */
export function escapeRegexChar(char: string): string {
  return /[A-Za-z0-9]/.test(char) ? char : `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

export interface WildcardRegexOptions {
  /** What must come before the pattern (default `^`). */
  readonly start?: string | undefined;
  /** What must come after it (default `$`). */
  readonly end?: string | undefined;
  /** The class `*` and `?` stand for (default `.`, any character). */
  readonly any?: string | undefined;
}

/** An ELBv2 wildcard pattern as a regex in single quotes, linear to match (see above). */
export function wildcardRegex(pattern: string, options: WildcardRegexOptions = {}): string {
  const any = options.any ?? ".";
  const piece = (text: string) => [...text].map((char) => (char === "?" ? any : escapeRegexChar(char))).join("");
  const pieces = pattern.split("*");
  let body = piece(pieces[0]!);
  if (pieces.length > 1) {
    for (const middle of pieces.slice(1, -1)) if (middle !== "") body += `(?>${any}*?${piece(middle)})`;
    body += `${any}*${piece(pieces[pieces.length - 1]!)}`;
  }
  return `'${options.start ?? "^"}${body}${options.end ?? "$"}'`;
}

/** How many wildcards (`*`, `?`) a value has: AWS allows 5 per rule. */
export const wildcardCount = (value: string) => [...value].filter((char) => char === "*" || char === "?").length;
