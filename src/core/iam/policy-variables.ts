// Policy variables (IAM User Guide, "IAM policy elements: Variables and tags"): in a policy whose
// Version is 2012-10-17, `${key}` in a Resource or in a String/Arn/Bool condition value is replaced
// by the request's value of that condition key; `${key, 'default'}` gives a value for a missing key;
// `${*}`, `${?}` and `${$}` are the literal characters. A variable whose key is missing (and has no
// default) or is multi-valued makes that value match nothing. Version 2008-10-17 predates variables:
// there `${aws:username}` is plain text.

import type { PatternPart } from "./wildcard.js";

/** A request's condition keys, lower-cased (condition key names are case-insensitive). */
export type ContextValue = string | readonly string[] | undefined;
export type ConditionContext = ReadonlyMap<string, ContextValue>;

export type TemplatePart = { readonly kind: "text"; readonly text: string } | { readonly kind: "variable"; readonly key: string; readonly fallback?: string };

export interface Template {
  readonly parts: readonly TemplatePart[];
  /** true when some part is a variable resolved per request. */
  readonly dynamic: boolean;
}

const ESCAPES: Readonly<Record<string, string>> = { "*": "*", "?": "?", $: "$" };
const DEFAULT_VALUE = /^\s*'([^']*)'\s*$/;

function variablePart(body: string): TemplatePart | undefined {
  const escape = ESCAPES[body];
  if (escape !== undefined) return { kind: "text", text: escape };
  const comma = body.indexOf(",");
  const key = (comma < 0 ? body : body.slice(0, comma)).trim();
  if (key.length === 0) return undefined;
  if (comma < 0) return { kind: "variable", key: key.toLowerCase() };
  const fallback = DEFAULT_VALUE.exec(body.slice(comma + 1));
  return fallback ? { kind: "variable", key: key.toLowerCase(), fallback: fallback[1] as string } : undefined;
}

/** Splits a policy string into text and `${…}` variables (a malformed `${` stays text). */
export function parseTemplate(value: string, variablesAllowed: boolean): Template {
  if (!variablesAllowed || !value.includes("${")) return { parts: [{ kind: "text", text: value }], dynamic: false };
  const parts: TemplatePart[] = [];
  let text = "";
  let index = 0;
  while (index < value.length) {
    const open = value.indexOf("${", index);
    const close = open < 0 ? -1 : value.indexOf("}", open + 2);
    const part = close < 0 ? undefined : variablePart(value.slice(open + 2, close));
    if (open < 0 || part === undefined) {
      const stop = open < 0 ? value.length : open + 2;
      text += value.slice(index, stop);
      index = stop;
      continue;
    }
    text += value.slice(index, open);
    if (part.kind === "text") {
      // An escape is literal: kept as its own part so `${*}` is not a wildcard.
      if (text.length > 0) parts.push({ kind: "text", text });
      parts.push({ kind: "variable", key: "", fallback: part.text });
    } else {
      if (text.length > 0) parts.push({ kind: "text", text });
      parts.push(part);
    }
    text = "";
    index = close + 1;
  }
  if (text.length > 0) parts.push({ kind: "text", text });
  return { parts, dynamic: parts.some((part) => part.kind === "variable" && part.key !== "") };
}

/**
 * The pattern parts of a template for this request: variables become literal text. Undefined when
 * a variable cannot be resolved (the element then matches nothing).
 */
export function resolveTemplate(template: Template, context: ConditionContext): PatternPart[] | undefined {
  const out: PatternPart[] = [];
  for (const part of template.parts) {
    if (part.kind === "text") {
      out.push({ text: part.text, literal: false });
      continue;
    }
    const value = part.key === "" ? undefined : context.get(part.key);
    if (typeof value === "string") out.push({ text: value, literal: true });
    else if (value === undefined && part.fallback !== undefined) out.push({ text: part.fallback, literal: true });
    else return undefined;
  }
  return out;
}

/** A template resolved to plain text (for exact comparisons); undefined when unresolvable. */
export function resolveText(template: Template, context: ConditionContext): string | undefined {
  const parts = resolveTemplate(template, context);
  return parts?.map((part) => part.text).join("");
}

/** The parts of a template that has no variables (its escapes are literal). */
export function staticParts(template: Template): PatternPart[] {
  return template.parts.map((part) => (part.kind === "text" ? { text: part.text, literal: false } : { text: part.fallback ?? "", literal: true }));
}

/**
 * A request context with lower-cased keys, built once per request. Values: a string, a list of
 * strings (multi-valued keys such as aws:TagKeys), or undefined (absent).
 */
export function conditionContext(entries: Iterable<readonly [string, ContextValue]> | Readonly<Record<string, ContextValue>>): ConditionContext {
  const map = new Map<string, ContextValue>();
  const list = Symbol.iterator in entries ? (entries as Iterable<readonly [string, ContextValue]>) : Object.entries(entries);
  for (const [key, value] of list) if (value !== undefined) map.set(key.toLowerCase(), value);
  return map;
}

/** Compiled forms remembered per dynamic template; a bound, not an eviction policy (callers repeat). */
const MAX_CACHED_RESOLUTIONS = 64;

/**
 * What a template with variables compiles to for a request, remembered by the variables' values
 * (the callers of one policy are few, and each repeats its own values on every call).
 */
export class ResolvedTemplateCache<Compiled> {
  private readonly cache = new Map<string, Compiled>();

  constructor(
    readonly template: Template,
    private readonly compile: (parts: PatternPart[]) => Compiled,
  ) {}

  /** The compiled form for `context`; undefined when a variable cannot be resolved. */
  get(context: ConditionContext): Compiled | undefined {
    let key = "";
    for (const part of this.template.parts) {
      if (part.kind !== "variable" || part.key === "") continue;
      const value = context.get(part.key);
      const text = typeof value === "string" ? value : value === undefined ? part.fallback : undefined;
      if (text === undefined) return undefined;
      // Length-prefixed: no two different lists of values share a key.
      key += `${text.length}:${text}`;
    }
    let compiled = this.cache.get(key);
    if (compiled !== undefined) return compiled;
    const parts = resolveTemplate(this.template, context);
    if (parts === undefined) return undefined;
    compiled = this.compile(parts);
    if (this.cache.size >= MAX_CACHED_RESOLUTIONS) this.cache.clear();
    this.cache.set(key, compiled);
    return compiled;
  }
}
