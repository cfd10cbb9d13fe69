// Expressions compiled once into closures over a row (no tree walk per event). Semantics follow
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-operations-functions.html:
// comparisons are numeric when both sides are numbers (or numeric text), textual otherwise, and
// false when a side is missing; `like "text"` is a substring test, `like /re/` and `=~` regex tests
// (RE2); arithmetic on a non-number is missing.
import type { Expr, Value } from "./ast.js";
import { isAggregateCall } from "./ast.js";
import { QuerySyntaxError } from "./query-syntax-error.js";
import { compileRegex } from "./regex.js";
import type { Row } from "./rows.js";

export type Evaluator = (row: Row) => Value;

export interface CompileContext {
  /** The query text, for error positions. */
  readonly query: string;
  /** How an aggregate call inside a stats item is read (its slot in the group's row); absent elsewhere. */
  readonly aggregate?: (call: Expr & { type: "call" }) => Evaluator;
}

/** Longest string a function builds (concat, replace): bounds what one event can make a query allocate. */
const MAX_STRING = 1_048_576;

export function toNumber(value: Value): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && value.trim() !== "") {
    const number = Number(value);
    return Number.isFinite(number) ? number : undefined;
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  return undefined;
}

export function toText(value: Value): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}

export function truthy(value: Value): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") return value.length > 0;
  return false;
}

/** Orders two present values: numerically when both are numbers (or numeric text), else as text. */
export function compareValues(left: Value, right: Value): number {
  const a = toNumber(left);
  const b = toNumber(right);
  if (a !== undefined && b !== undefined) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const x = toText(left)!;
  const y = toText(right)!;
  return x < y ? -1 : x > y ? 1 : 0;
}

const absent = (value: Value) => value === undefined || value === null;

export function compileExpr(expr: Expr, context: CompileContext): Evaluator {
  switch (expr.type) {
    case "literal": {
      const value = expr.value;
      return () => value;
    }
    case "field": {
      const name = expr.name;
      return (row) => row.get(name);
    }
    case "period": {
      // A calendar period as an argument (datefloor) has no fixed length: it is refused there.
      const ms = expr.ms;
      return () => (ms > 0 ? ms : undefined);
    }
    case "regex": {
      const regex = compileRegex(expr.source, context.query, 0);
      return (row) => {
        const text = toText(row.get("@message"));
        return text !== undefined && regex.test(text);
      };
    }
    case "unary": {
      const operand = compileExpr(expr.operand, context);
      if (expr.op === "not") return (row) => !truthy(operand(row));
      return (row) => {
        const number = toNumber(operand(row));
        return number === undefined ? undefined : -number;
      };
    }
    case "binary":
      return compileBinary(expr, context);
    case "like":
      return compileLike(expr.operand, expr.pattern, expr.negated, context);
    case "in": {
      const operand = compileExpr(expr.operand, context);
      const list = expr.list.map((item) => compileExpr(item, context));
      const negated = expr.negated;
      return (row) => {
        const value = operand(row);
        if (absent(value)) return false;
        const found = list.some((item) => {
          const candidate = item(row);
          return !absent(candidate) && compareValues(value, candidate) === 0;
        });
        return negated ? !found : found;
      };
    }
    case "call":
      if (isAggregateCall(expr)) {
        if (!context.aggregate) throw QuerySyntaxError.at(context.query, 0, `aggregate function ${expr.name} is only allowed in stats`); // wording not confirmed
        return context.aggregate(expr);
      }
      return compileFunction(expr, context);
  }
}

function compileBinary(expr: Expr & { type: "binary" }, context: CompileContext): Evaluator {
  const left = compileExpr(expr.left, context);
  if (expr.op === "=~") return compileLike(expr.left, expr.right, false, context);
  const right = compileExpr(expr.right, context);
  switch (expr.op) {
    case "and":
      return (row) => truthy(left(row)) && truthy(right(row));
    case "or":
      return (row) => truthy(left(row)) || truthy(right(row));
    case "=":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=": {
      const test = COMPARISONS[expr.op];
      return (row) => {
        const a = left(row);
        if (absent(a)) return false;
        const b = right(row);
        if (absent(b)) return false;
        return test(compareValues(a, b));
      };
    }
    default: {
      const apply = ARITHMETIC[expr.op];
      return (row) => {
        const a = toNumber(left(row));
        if (a === undefined) return undefined;
        const b = toNumber(right(row));
        if (b === undefined) return undefined;
        const result = apply(a, b);
        return Number.isFinite(result) ? result : undefined;
      };
    }
  }
}

const COMPARISONS: Record<"=" | "!=" | "<" | "<=" | ">" | ">=", (order: number) => boolean> = {
  "=": (order) => order === 0,
  "!=": (order) => order !== 0,
  "<": (order) => order < 0,
  "<=": (order) => order <= 0,
  ">": (order) => order > 0,
  ">=": (order) => order >= 0,
};

const ARITHMETIC: Record<"+" | "-" | "*" | "/" | "%" | "^", (a: number, b: number) => number> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  "/": (a, b) => a / b,
  "%": (a, b) => a % b,
  "^": (a, b) => a ** b,
};

function compileLike(operandExpr: Expr, pattern: Expr, negated: boolean, context: CompileContext): Evaluator {
  const operand = compileExpr(operandExpr, context);
  let test: (text: string) => boolean;
  if (pattern.type === "regex") {
    const regex = compileRegex(pattern.source, context.query, 0);
    test = (text) => regex.test(text);
  } else if (pattern.type === "literal" && typeof pattern.value === "string") {
    const needle = pattern.value;
    test = (text) => text.includes(needle);
  } else {
    throw QuerySyntaxError.at(context.query, 0, "like needs a string or a /regular expression/"); // wording not confirmed
  }
  return (row) => {
    const text = toText(operand(row));
    if (text === undefined) return false;
    return test(text) !== negated;
  };
}

type Fn = (args: Value[]) => Value;

const text1 =
  (f: (text: string) => Value): Fn =>
  ([value]) => {
    const text = toText(value);
    return text === undefined ? undefined : f(text);
  };
const number1 =
  (f: (number: number) => number): Fn =>
  ([value]) => {
    const number = toNumber(value);
    if (number === undefined) return undefined;
    const result = f(number);
    return Number.isFinite(result) ? result : undefined;
  };
const bounded = (text: string): string => (text.length > MAX_STRING ? text.slice(0, MAX_STRING) : text);

/** Non-aggregate functions by name, with how many arguments each takes ([min, max]). */
const FUNCTIONS: Record<string, { arity: [number, number]; fn: Fn }> = {
  strlen: { arity: [1, 1], fn: text1((text) => text.length) },
  tolower: { arity: [1, 1], fn: text1((text) => text.toLowerCase()) },
  toupper: { arity: [1, 1], fn: text1((text) => text.toUpperCase()) },
  trim: { arity: [1, 1], fn: text1((text) => text.trim()) },
  ltrim: { arity: [1, 1], fn: text1((text) => text.trimStart()) },
  rtrim: { arity: [1, 1], fn: text1((text) => text.trimEnd()) },
  concat: { arity: [1, 128], fn: (args) => bounded(args.map((value) => toText(value) ?? "").join("")) },
  substr: {
    arity: [2, 3],
    fn: ([value, start, length]) => {
      const text = toText(value);
      const from = toNumber(start);
      if (text === undefined || from === undefined) return undefined;
      const count = length === undefined ? undefined : toNumber(length);
      return count === undefined ? text.slice(Math.max(0, from)) : text.substr(Math.max(0, from), Math.max(0, count));
    },
  },
  replace: {
    arity: [3, 3],
    fn: ([value, search, replacement]) => {
      const text = toText(value);
      const find = toText(search);
      if (text === undefined || find === undefined || find === "") return text;
      return bounded(text.split(find).join(toText(replacement) ?? ""));
    },
  },
  strcontains: {
    arity: [2, 2],
    fn: ([value, search]) => {
      const text = toText(value);
      const find = toText(search);
      return text === undefined || find === undefined ? undefined : text.includes(find) ? 1 : 0;
    },
  },
  ispresent: { arity: [1, 1], fn: ([value]) => !absent(value) },
  isempty: { arity: [1, 1], fn: ([value]) => absent(value) || toText(value) === "" },
  isblank: { arity: [1, 1], fn: ([value]) => absent(value) || toText(value)!.trim() === "" },
  coalesce: { arity: [1, 128], fn: (args) => args.find((value) => !absent(value)) },
  abs: { arity: [1, 1], fn: number1(Math.abs) },
  ceil: { arity: [1, 1], fn: number1(Math.ceil) },
  floor: { arity: [1, 1], fn: number1(Math.floor) },
  sqrt: { arity: [1, 1], fn: number1(Math.sqrt) },
  log: { arity: [1, 1], fn: number1(Math.log) },
  greatest: { arity: [1, 128], fn: (args) => extreme(args, 1) },
  least: { arity: [1, 128], fn: (args) => extreme(args, -1) },
  frommillis: { arity: [1, 1], fn: number1((ms) => ms) },
  tomillis: { arity: [1, 1], fn: number1((ms) => ms) },
  datefloor: { arity: [2, 2], fn: ([time, period]) => roundTime(time, period, Math.floor) },
  dateceil: { arity: [2, 2], fn: ([time, period]) => roundTime(time, period, Math.ceil) },
};

function extreme(args: Value[], sign: 1 | -1): Value {
  let best: Value;
  for (const value of args) {
    if (absent(value)) continue;
    if (best === undefined || compareValues(value, best) * sign > 0) best = value;
  }
  return best;
}

function roundTime(time: Value, period: Value, round: (x: number) => number): Value {
  const ms = toNumber(time);
  const step = toNumber(period);
  if (ms === undefined || step === undefined || step <= 0) return undefined;
  return round(ms / step) * step;
}

/** Functions whose result is a time (printed as Logs Insights prints @timestamp). */
export const TIME_FUNCTIONS = new Set(["bin", "datefloor", "dateceil", "frommillis"]);

function compileFunction(expr: Expr & { type: "call" }, context: CompileContext): Evaluator {
  const name = expr.name.toLowerCase();
  if (name === "bin") {
    const period = expr.args[0];
    if (expr.args.length !== 1 || period?.type !== "period" || (period.ms <= 0 && (period.months <= 0 || !Number.isInteger(period.months)))) {
      throw QuerySyntaxError.at(context.query, 0, "bin() takes one time period, such as bin(5m)"); // wording not confirmed
    }
    const step = period.ms;
    if (step > 0) {
      return (row) => {
        const ms = row.get("@timestamp");
        return typeof ms === "number" ? Math.floor(ms / step) * step : undefined;
      };
    }
    // Calendar bins (UTC): the first month of the n-month span holding the time.
    const months = period.months;
    return (row) => {
      const ms = row.get("@timestamp");
      if (typeof ms !== "number") return undefined;
      const date = new Date(ms);
      const index = Math.floor((date.getUTCFullYear() * 12 + date.getUTCMonth()) / months) * months;
      return Date.UTC(Math.floor(index / 12), index % 12, 1);
    };
  }
  const known = FUNCTIONS[name];
  if (!known) throw QuerySyntaxError.at(context.query, 0, `unknown function ${expr.name}`); // wording not confirmed
  const [min, max] = known.arity;
  if (expr.args.length < min || expr.args.length > max) {
    throw QuerySyntaxError.at(context.query, 0, `${expr.name} takes ${min === max ? min : `${min} to ${max}`} arguments, not ${expr.args.length}`); // wording not confirmed
  }
  const args = expr.args.map((arg) => compileExpr(arg, context));
  const fn = known.fn;
  if (args.length === 1) {
    const only = args[0]!;
    return (row) => fn([only(row)]);
  }
  return (row) => fn(args.map((arg) => arg(row)));
}

/** Whether an expression's value is a time (an epoch in milliseconds printed as a date). */
export function isTimeExpr(expr: Expr, timeFields: ReadonlySet<string>): boolean {
  if (expr.type === "field") return timeFields.has(expr.name);
  if (expr.type !== "call") return false;
  const name = expr.name.toLowerCase();
  if (TIME_FUNCTIONS.has(name)) return true;
  if (["min", "max", "earliest", "latest"].includes(name)) return expr.args[0] !== undefined && isTimeExpr(expr.args[0], timeFields);
  return false;
}
