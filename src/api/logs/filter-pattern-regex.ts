// The %regex% part of a CloudWatch Logs filter pattern: AWS's restricted regex syntax, checked
// before anything runs, then compiled to RE2.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
// ("Supported regular expressions (regex) syntax"): a regex may contain only ASCII letters and
// digits, the symbols : _ # = @ / ; , - and the operators ^ $ ? [ ] { } | \ * + . ; "(" and ")"
// are not supported (no subpatterns), nor are multi-byte characters. A JSON or space-delimited
// pattern may hold at most 2 regexes.
//
// RE2 (the re2 package, Google's engine) matches in time linear in the event's length whatever the
// pattern, so a caller's regex cannot stall the event loop as a backtracking engine would. Linear
// is not cheap, though: RE2's cost per byte grows with the pattern once its DFA cache overflows
// and it falls back to the NFA. Measured on 1 MiB of "é" (RE2 from re2 1.22): [\s\S]{1000} 8.6 s,
// "." × 1000 9.6 s, \pL × 100 2.3 s, \pL{30} 0.4 s, while [\s\S]{100}, "." × 250 and \pL{10} take
// under 10 ms. So, besides AWS's 1024-character limit on the pattern, a regex is refused when its
// counted repeats ({n}, {n,}, {n,m}) add up to more than MAX_COUNTED_REPEATS, or when its "width"
// (each character-matching atom other than a literal — ".", a class, \s, \w, … — counted once, a
// Unicode property class \p/\P as UNICODE_CLASS_WIDTH, multiplied by the counted repeats around
// it) passes MAX_REGEX_WIDTH. The re2 package does not expose RE2's program size, hence this
// estimate from the source.
import RE2 from "re2";
import { invalidParameterException } from "../../core/errors.js";

export const MAX_COUNTED_REPEATS = 100;
export const MAX_REGEX_WIDTH = 256;
/** AWS: "There is a limit of 2 regex for each filter pattern when creating a delimited or JSON filter pattern". */
export const MAX_REGEXES_PER_PATTERN = 2;
const UNICODE_CLASS_WIDTH = 25;

/** The characters AWS allows in a regex: letters, digits, its listed symbols and operators. */
const ALLOWED_REGEX_CHARACTERS = /^[A-Za-z0-9:_#=@/;,\-^$?[\]{}|\\*+.]*$/;

export const invalidFilterPattern = () => invalidParameterException("Invalid filter pattern");

/** Compiles the text between the two "%" of a %regex%, or throws InvalidParameterException. */
export function compileFilterRegex(regex: string): RE2 {
  if (regex === "" || !ALLOWED_REGEX_CHARACTERS.test(regex)) throw invalidFilterPattern();
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
  try {
    return new RE2(regex, "u");
  } catch {
    throw invalidFilterPattern();
  }
}

export interface RegexCost {
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
