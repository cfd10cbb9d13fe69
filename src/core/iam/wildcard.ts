// IAM's wildcards: `*` matches any run of characters (including none), `?` exactly one
// (IAM User Guide, "IAM JSON policy elements: Condition operators", StringLike; and the Action and
// Resource elements). Patterns are compiled once, when the policy is parsed, into segments split at
// `*`; matching anchors the first and last segment and finds each middle one at its earliest place.
// That greedy search is exact for `*`-globs and costs O(text × segment) at worst, never exponential,
// so "a*a*a*…b" against a long string of "a" stays linear. No RegExp is built from policy text.

/** One piece of a pattern: literal text (its `*` and `?` are plain characters) or wildcard text. */
export interface PatternPart {
  readonly text: string;
  /** true: `*` and `?` in `text` are characters (a substituted policy variable, or `${*}`). */
  readonly literal: boolean;
}

interface Segment {
  readonly text: string;
  /** Positions holding `?` (any one character); undefined when the segment has none. */
  readonly any: Uint8Array | undefined;
}

export interface Glob {
  /** Whether `text` (or its range [start, end)) matches the whole pattern. */
  matches(text: string, start?: number, end?: number): boolean;
}

/** The glob of "*": matches everything (callers may skip it). */
export const MATCH_ALL: Glob = { matches: () => true };

class ExactGlob implements Glob {
  constructor(private readonly literal: string) {}
  matches(text: string, start = 0, end = text.length): boolean {
    if (end - start !== this.literal.length) return false;
    return start === 0 && end === text.length ? text === this.literal : text.startsWith(this.literal, start);
  }
}

function segmentAt(segment: Segment, text: string, at: number): boolean {
  const { any } = segment;
  if (any === undefined) return text.startsWith(segment.text, at);
  const length = segment.text.length;
  for (let index = 0; index < length; index++) {
    if (any[index] === 0 && text.charCodeAt(at + index) !== segment.text.charCodeAt(index)) return false;
  }
  return true;
}

class SegmentGlob implements Glob {
  private readonly minLength: number;
  constructor(
    private readonly segments: readonly Segment[],
    private readonly leadingStar: boolean,
    private readonly trailingStar: boolean,
  ) {
    this.minLength = segments.reduce((sum, segment) => sum + segment.text.length, 0);
  }

  matches(text: string, start = 0, end = text.length): boolean {
    if (end - start < this.minLength) return false;
    const segments = this.segments;
    const count = segments.length;
    if (count === 0) return this.leadingStar || end === start;
    let from = 0;
    let last = count;
    let position = start;
    let limit = end;
    if (!this.leadingStar) {
      const first = segments[0] as Segment;
      if (!segmentAt(first, text, start)) return false;
      position += first.text.length;
      from = 1;
      if (count === 1 && !this.trailingStar) return position === end;
    }
    if (!this.trailingStar && from < count) {
      const tail = segments[count - 1] as Segment;
      limit = end - tail.text.length;
      if (limit < position || !segmentAt(tail, text, limit)) return false;
      last = count - 1;
    }
    for (let index = from; index < last; index++) {
      const segment = segments[index] as Segment;
      const found = findSegment(segment, text, position, limit);
      if (found < 0) return false;
      position = found + segment.text.length;
    }
    return position <= limit;
  }
}

function findSegment(segment: Segment, text: string, from: number, limit: number): number {
  const length = segment.text.length;
  if (segment.any === undefined) {
    const found = text.indexOf(segment.text, from);
    return found >= 0 && found + length <= limit ? found : -1;
  }
  for (let at = from; at + length <= limit; at++) if (segmentAt(segment, text, at)) return at;
  return -1;
}

/**
 * Compiles pattern parts into a matcher. `ignoreCase` lower-cases the pattern here; the caller
 * lower-cases the text (once per request, not once per pattern).
 */
export function compileGlob(parts: readonly PatternPart[], ignoreCase = false): Glob {
  const segments: Segment[] = [];
  let text = "";
  let any: number[] = [];
  let leadingStar = false;
  let trailingStar = false;
  const close = () => {
    const mask = any.length === 0 ? undefined : new Uint8Array(text.length);
    for (const index of any) (mask as Uint8Array)[index] = 1;
    segments.push({ text, any: mask });
    text = "";
    any = [];
  };
  let sawStar = false;
  for (const part of parts) {
    const value = ignoreCase ? part.text.toLowerCase() : part.text;
    for (let index = 0; index < value.length; index++) {
      const char = value[index] as string;
      if (!part.literal && char === "*") {
        if (!sawStar && segments.length === 0 && text.length === 0) leadingStar = true;
        if (text.length > 0) close();
        sawStar = true;
        trailingStar = true;
        continue;
      }
      trailingStar = false;
      if (!part.literal && char === "?") any.push(text.length);
      text += char;
    }
  }
  if (text.length > 0) close();
  const only = segments.length === 1 ? (segments[0] as Segment) : undefined;
  if (!sawStar) return only !== undefined && only.any === undefined ? new ExactGlob(only.text) : new SegmentGlob(segments, false, false);
  if (segments.length === 0) return MATCH_ALL;
  return new SegmentGlob(segments, leadingStar, trailingStar);
}

/** A pattern written in a policy with no variables: every `*` and `?` is a wildcard. */
export function compileWildcard(pattern: string, ignoreCase = false): Glob {
  return compileGlob([{ text: pattern, literal: false }], ignoreCase);
}
