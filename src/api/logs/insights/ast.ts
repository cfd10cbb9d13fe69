// The parsed form of a Logs Insights query: a list of commands, each with its expressions.

export type Value = string | number | boolean | null | undefined;

export type Expr =
  | { readonly type: "literal"; readonly value: Value }
  | { readonly type: "field"; readonly name: string }
  | { readonly type: "period"; readonly ms: number; readonly months: number; readonly text: string }
  | { readonly type: "regex"; readonly source: string }
  | { readonly type: "unary"; readonly op: "not" | "-"; readonly operand: Expr }
  | { readonly type: "binary"; readonly op: BinaryOperator; readonly left: Expr; readonly right: Expr }
  | { readonly type: "like"; readonly negated: boolean; readonly operand: Expr; readonly pattern: Expr }
  | { readonly type: "in"; readonly negated: boolean; readonly operand: Expr; readonly list: readonly Expr[] }
  | { readonly type: "call"; readonly name: string; readonly args: readonly Expr[]; readonly star: boolean };

export type BinaryOperator = "or" | "and" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "=~" | "+" | "-" | "*" | "/" | "%" | "^";

/** An expression with the name its column gets: the `as` alias, else the expression's text. */
export interface NamedExpr {
  readonly expr: Expr;
  readonly name: string;
}

export interface SortKey {
  readonly expr: Expr;
  readonly descending: boolean;
}

export type ParsePattern = { readonly kind: "glob"; readonly text: string } | { readonly kind: "regex"; readonly source: string };

export type Command =
  | { readonly kind: "fields"; readonly items: readonly NamedExpr[] }
  | { readonly kind: "filter"; readonly expr: Expr }
  | { readonly kind: "parse"; readonly source: Expr; readonly pattern: ParsePattern; readonly names: readonly string[] }
  | { readonly kind: "stats"; readonly items: readonly NamedExpr[]; readonly by: readonly NamedExpr[] }
  | { readonly kind: "sort"; readonly keys: readonly SortKey[] }
  | { readonly kind: "limit"; readonly count: number }
  | { readonly kind: "dedup"; readonly fields: readonly string[] }
  | { readonly kind: "display"; readonly fields: readonly string[] };

/** The aggregation functions of `stats` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-operations-functions.html). */
export const AGGREGATE_FUNCTIONS = new Set(["count", "count_distinct", "sum", "avg", "min", "max", "pct", "percentile", "stddev", "earliest", "latest"]);

export const isAggregateCall = (expr: Expr): boolean => expr.type === "call" && AGGREGATE_FUNCTIONS.has(expr.name.toLowerCase());

/** Whether an expression holds an aggregation anywhere inside it. */
export function containsAggregate(expr: Expr): boolean {
  switch (expr.type) {
    case "call":
      return isAggregateCall(expr) || expr.args.some(containsAggregate);
    case "unary":
      return containsAggregate(expr.operand);
    case "binary":
      return containsAggregate(expr.left) || containsAggregate(expr.right);
    case "like":
      return containsAggregate(expr.operand) || containsAggregate(expr.pattern);
    case "in":
      return containsAggregate(expr.operand) || expr.list.some(containsAggregate);
    default:
      return false;
  }
}
