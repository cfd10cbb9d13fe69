// CloudWatch Logs filter patterns for unstructured log events, as FilterLogEvents applies them.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
//
//   ""                      every event
//   ERROR                   events containing the term (terms are case-sensitive)
//   ERROR ARGUMENTS         events containing every term
//   "Exception occurred"    a quoted phrase, matched exactly (also how terms with symbols are given)
//   ?ERROR ?WARN            events containing any of the ?-terms
//   ERROR -Exiting          "-" excludes events containing the term
//   %[0-9]{3}%              a regular expression (the %…% form)
//
// JSON ({ $.field = … }) and space-delimited ([a, b, …]) patterns are not implemented; they are
// refused with InvalidParameterException rather than matched wrongly.
//
// %regex% runs on RE2 (the re2 package, Google's engine, built from source at install): matching
// takes time linear in the event's length whatever the pattern, so a caller's pattern such as
// %(a+)+$% cannot stall the event loop (heartbeats, every other request) as a backtracking engine
// would. RE2 has no backreferences or lookaround; neither does CloudWatch's regex syntax, and such
// a pattern is refused as invalid.
//
// Linear is not cheap, though: RE2's cost per byte grows with the pattern once its DFA cache
// overflows and it falls back to the NFA. Measured on 1 MiB of "é" (RE2 from re2 1.22):
// [\s\S]{1000} 8.6 s, "." × 1000 9.6 s, \pL × 100 2.3 s, \pL{30} 0.4 s, while [\s\S]{100},
// "." × 250 and \pL{10} take under 10 ms. So, besides AWS's 1024-character limit on the pattern,
// a regex is refused when its counted repeats ({n}, {n,}, {n,m}, nested ones multiplied) add up to
// more than MAX_COUNTED_REPEATS, or when its "width" (each character-matching atom other than a
// literal — ".", a class, \s, \w, … — counted once, a Unicode property class \p/\P as
// UNICODE_CLASS_WIDTH, multiplied by the counted repeats around it) passes MAX_REGEX_WIDTH. The
// re2 package does not expose RE2's program size, hence this estimate from the source. The
// caller (FilterLogEvents) also bounds the matching time of each call.
import RE2 from "re2";
import { invalidParameterException } from "../../core/errors.js";

export type EventMatcher = (message: string) => boolean;

interface Term {
  readonly text: string;
  readonly kind: "required" | "optional" | "excluded";
}

const invalidPattern = () => invalidParameterException("Invalid filter pattern");

/** AWS's limit on FilterPattern (the logs service model: min 0, max 1024). */
export const MAX_FILTER_PATTERN_LENGTH = 1024;
export const MAX_COUNTED_REPEATS = 100;
export const MAX_REGEX_WIDTH = 256;
const UNICODE_CLASS_WIDTH = 25;

export function compileFilterPattern(pattern: string | undefined): EventMatcher {
  if (pattern !== undefined && pattern.length > MAX_FILTER_PATTERN_LENGTH) {
    throw invalidParameterException(
      `1 validation error detected: Value '${pattern}' at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to ${MAX_FILTER_PATTERN_LENGTH}`,
    );
  }
  const source = (pattern ?? "").trim();
  if (source === "") return () => true;
  if (source.startsWith("{") || source.startsWith("[")) {
    throw invalidParameterException("JSON and space-delimited filter patterns are not supported by Berth yet");
  }
  if (source.length >= 2 && source.startsWith("%") && source.endsWith("%")) {
    const regex = source.slice(1, -1);
    const cost = regexCost(regex);
    if (cost.countedRepeats > MAX_COUNTED_REPEATS) {
      throw invalidParameterException(
        `Invalid filter pattern: the counted repetitions ({n}, {n,}, {n,m}) of a regular expression may add up to at most ${MAX_COUNTED_REPEATS}; this one adds up to ${cost.countedRepeats}`,
      );
    }
    if (cost.width > MAX_REGEX_WIDTH) {
      throw invalidParameterException(
        `Invalid filter pattern: the regular expression is too complex (it matches ${cost.width} character classes or wildcards, counting repeats and ${UNICODE_CLASS_WIDTH} for each \\p or \\P class; at most ${MAX_REGEX_WIDTH})`,
      );
    }
    let expression: RE2;
    try {
      expression = new RE2(regex, "u");
    } catch {
      throw invalidPattern();
    }
    return (message) => expression.test(message);
  }
  const terms = tokenize(source);
  const required = terms.filter((t) => t.kind === "required").map((t) => t.text);
  const optional = terms.filter((t) => t.kind === "optional").map((t) => t.text);
  const excluded = terms.filter((t) => t.kind === "excluded").map((t) => t.text);
  return (message) =>
    required.every((t) => message.includes(t)) &&
    (optional.length === 0 || optional.some((t) => message.includes(t))) &&
    !excluded.some((t) => message.includes(t));
}

function tokenize(source: string): Term[] {
  const terms: Term[] = [];
  let index = 0;
  while (index < source.length) {
    while (source[index] === " " || source[index] === "\t") index++;
    if (index >= source.length) break;
    let kind: Term["kind"] = "required";
    if (source[index] === "?" || source[index] === "-") {
      kind = source[index] === "?" ? "optional" : "excluded";
      index++;
    }
    let text: string;
    if (source[index] === '"') {
      const close = source.indexOf('"', index + 1);
      if (close < 0) throw invalidPattern();
      text = source.slice(index + 1, close);
      index = close + 1;
    } else {
      const start = index;
      while (index < source.length && source[index] !== " " && source[index] !== "\t") index++;
      text = source.slice(start, index);
    }
    if (text === "") throw invalidPattern();
    terms.push({ text, kind });
  }
  return terms;
}

interface RegexCost {
  /** Sum of the bounds of counted repeats, each multiplied by the bounds of the repeats around it. */
  readonly countedRepeats: number;
  /** Non-literal character-matching atoms (Unicode property classes weighing more), repeats expanded. */
  readonly width: number;
}

interface Frame {
  counted: number;
  width: number;
  /** The last atom (or group) of the frame, which a following quantifier repeats. */
  lastCounted: number;
  lastWidth: number;
}

const COUNTED_REPEAT = /^\{(\d{1,9})(,(\d{0,9}))?\}/;
const WIDE_ESCAPES = new Set(["d", "D", "s", "S", "w", "W", "C"]);
const ZERO_WIDTH_ESCAPES = new Set(["b", "B", "A", "z", "Z"]);

/**
 * An upper estimate of what a regex costs RE2, from its source: counted repeats and non-literal
 * atoms, with repeats expanded as RE2 expands them (x{3} compiles to xxx). Anything the scan does
 * not understand counts as a literal; RE2 itself then refuses what is malformed.
 */
export function regexCost(source: string): RegexCost {
  // One frame per open group; a group closes into one atom of the frame around it.
  const stack: Frame[] = [newFrame()];
  let index = 0;
  while (index < source.length) {
    const char = source[index]!;
    const frame = stack.at(-1)!;
    if (char === "\\" || char === "[") {
      const scanned = char === "\\" ? scanEscape(source, index) : scanClass(source, index);
      addAtom(frame, 0, scanned.width);
      index = scanned.end;
      continue;
    }
    if (char === "(") {
      stack.push(newFrame());
      index++;
      continue;
    }
    if (char === ")") {
      const group = stack.length > 1 ? stack.pop()! : newFrame();
      addAtom(stack.at(-1)!, group.counted, group.width);
      index++;
      continue;
    }
    const repeat = char === "{" ? COUNTED_REPEAT.exec(source.slice(index, index + 24)) : null;
    if (repeat) {
      repeatLastAtom(frame, repeatBound(repeat));
      index += repeat[0].length;
      continue;
    }
    // Operators and anchors cost nothing themselves; every other character is a one-char atom.
    if (!OPERATORS.has(char)) addAtom(frame, 0, char === "." ? 1 : 0);
    index++;
  }
  // Groups left open count as if closed at the end.
  while (stack.length > 1) {
    const group = stack.pop()!;
    const frame = stack.at(-1)!;
    frame.counted += group.counted;
    frame.width += group.width;
  }
  return { countedRepeats: stack[0]!.counted, width: stack[0]!.width };
}

const OPERATORS = new Set(["*", "+", "?", "|", "^", "$"]);

const newFrame = (): Frame => ({ counted: 0, width: 0, lastCounted: 0, lastWidth: 0 });

function addAtom(frame: Frame, counted: number, width: number): void {
  frame.counted += counted;
  frame.width += width;
  frame.lastCounted = counted;
  frame.lastWidth = width;
}

/** The highest count a matched {n}, {n,} or {n,m} allows ({n,} is costed as n+1). */
function repeatBound(repeat: RegExpExecArray): number {
  const low = Number(repeat[1]);
  return repeat[2] === undefined ? low : repeat[3] === "" ? low + 1 : Number(repeat[3]);
}

/** Replaces the frame's last atom by `bound` copies of it, as RE2 expands a counted repeat. */
function repeatLastAtom(frame: Frame, bound: number): void {
  const counted = frame.lastCounted * bound + bound;
  const width = frame.lastWidth * bound;
  frame.counted += counted - frame.lastCounted;
  frame.width += width - frame.lastWidth;
  frame.lastCounted = counted;
  frame.lastWidth = width;
}

/** An atom the scan stepped over: the index after it and its width. */
interface ScannedAtom {
  readonly end: number;
  readonly width: number;
}

/** An escape at `index` (a backslash): \p{…}, \Q…\E, \x{…} or a two-character escape. */
function scanEscape(source: string, index: number): ScannedAtom {
  const next = source[index + 1] ?? "";
  if (next === "p" || next === "P") {
    const close = source[index + 2] === "{" ? source.indexOf("}", index + 3) : index + 2;
    return { end: (close < 0 ? source.length : close) + 1, width: UNICODE_CLASS_WIDTH };
  }
  if (next === "Q") {
    const end = source.indexOf("\\E", index + 2);
    return { end: end < 0 ? source.length : end + 2, width: 0 };
  }
  if (next === "x" && source[index + 2] === "{") {
    const close = source.indexOf("}", index + 3);
    return { end: (close < 0 ? source.length : close) + 1, width: 0 };
  }
  if (ZERO_WIDTH_ESCAPES.has(next)) return { end: index + 2, width: 0 };
  return { end: index + 2, width: WIDE_ESCAPES.has(next) ? 1 : 0 };
}

/** A class at `index`: up to the "]" that closes it ("]" first, escapes and [:name:] are part of it). */
function scanClass(source: string, index: number): ScannedAtom {
  let end = index + 1;
  if (source[end] === "^") end++;
  if (source[end] === "]") end++;
  let unicode = false;
  while (end < source.length && source[end] !== "]") {
    if (source[end] === "\\") {
      if (source[end + 1] === "p" || source[end + 1] === "P") unicode = true;
      end += 2;
    } else if (source.startsWith("[:", end)) {
      const close = source.indexOf(":]", end + 2);
      end = close < 0 ? end + 1 : close + 2;
    } else {
      end++;
    }
  }
  return { end: end + 1, width: unicode ? UNICODE_CLASS_WIDTH : 1 };
}
