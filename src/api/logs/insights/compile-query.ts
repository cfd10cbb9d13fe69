// A query string turned into a pipeline of stages, and the rule for which fields each result row
// shows: the `display` fields when there is one; after a `stats`, its `by` and items (and fields
// set later); after `fields`, the fields named (and those `parse` adds); else every field of the
// event. Rows that come from events (no stats) also carry @ptr. Times print as Logs Insights
// prints @timestamp.
import type { Command, Value } from "./ast.js";
import type { CompileContext } from "./expressions.js";
import { compileExpr, isTimeExpr } from "./expressions.js";
import { MemoryBudget } from "./memory-budget.js";
import { parseQuery } from "./parser.js";
import { compileRegex, globToRegex, namedGroups } from "./regex.js";
import type { Row } from "./rows.js";
import { formatTime } from "./rows.js";
import type { Stage } from "./stages.js";
import { CollectStage, DedupStage, FieldsStage, FilterStage, LimitStage, MatchCounter, ParseStage, SortStage } from "./stages.js";
import { StatsStage } from "./stats-stage.js";
import { QuerySyntaxError } from "./query-syntax-error.js";

export interface ResultField {
  readonly field: string;
  readonly value: string;
}

export interface CompileOptions {
  /** StartQuery's limit: the most rows the results hold. */
  readonly limit: number;
  readonly memoryLimitBytes: number;
}

export interface CompiledQuery {
  /** Sends one event's row through the pipeline. */
  push(row: Row): void;
  /** Ends the input and returns the result rows. */
  finish(): ResultField[][];
  /** Rows that got through every filter so far (recordsMatched). */
  readonly matched: number;
}

/** At most this much of result rows per query: 10,000 rows of 256 KB events would be 2.5 GB to store. */
const RESULTS_LIMIT_BYTES = 64 * 1_048_576;

type Projection = { readonly kind: "all" } | { readonly kind: "named"; readonly names: string[] };

/** Throws QuerySyntaxError for a query that does not parse or compile. */
export function compileQuery(query: string, options: CompileOptions): CompiledQuery {
  const commands = parseQuery(query);
  const budget = new MemoryBudget(options.memoryLimitBytes);
  const context: CompileContext = { query };
  const { projection, timeFields, fromEvents } = describeOutput(commands);
  // The rows kept for the results (stored with the query) have a budget of their own.
  const collect = new CollectStage(options.limit, new MemoryBudget(RESULTS_LIMIT_BYTES));
  let next: Stage = collect;
  let counter: MatchCounter | undefined;
  // recordsMatched counts the rows that get through the per-event commands, before the first that groups, orders or cuts.
  const found = commands.findIndex((command) => ["stats", "sort", "limit", "dedup"].includes(command.kind));
  const boundary = found < 0 ? commands.length : found;
  for (let index = commands.length - 1; index >= 0; index--) {
    if (index + 1 === boundary) {
      counter = new MatchCounter(next);
      next = counter;
    }
    next = stageFor(commands[index]!, index, commands, next, { context, budget, limit: options.limit });
  }
  if (!counter) {
    counter = new MatchCounter(next);
    next = counter;
  }
  const head = next;
  const matchCounter = counter;
  return {
    push: (row) => head.push(row),
    finish: () => {
      head.end();
      return collect.rows.map((row) => resultRow(row, projection, timeFields, fromEvents));
    },
    get matched() {
      return matchCounter.matched;
    },
  };
}

interface StageOptions {
  readonly context: CompileContext;
  readonly budget: MemoryBudget;
  readonly limit: number;
}

function stageFor(command: Command, index: number, commands: readonly Command[], next: Stage, options: StageOptions): Stage {
  const { context, budget } = options;
  switch (command.kind) {
    case "fields":
      return new FieldsStage(
        command.items.map((item) => ({ name: item.name, evaluate: compileExpr(item.expr, context) })),
        next,
      );
    case "filter":
      return new FilterStage(compileExpr(command.expr, context), next);
    case "parse": {
      const source = compileExpr(command.source, context);
      if (command.pattern.kind === "glob") return new ParseStage(source, globToRegex(command.pattern.text), command.names, false, next);
      const regex = compileRegex(command.pattern.source, context.query, 0);
      const groups = namedGroups(command.pattern.source);
      if (command.names.length > 0) return new ParseStage(source, regex, command.names, false, next);
      if (groups.length === 0) throw QuerySyntaxError.at(context.query, 0, "parse with a regular expression needs named groups (?<name>…) or 'as' field names"); // wording not confirmed
      return new ParseStage(source, regex, groups, true, next);
    }
    case "stats":
      return new StatsStage(command.items, command.by, context.query, budget, next);
    case "sort":
      return new SortStage(
        command.keys.map((key) => ({ evaluate: compileExpr(key.expr, context), descending: key.descending })),
        rowsThatMatter(commands.slice(index + 1), options.limit),
        budget,
        next,
      );
    case "limit":
      return new LimitStage(command.count, next);
    case "dedup":
      return new DedupStage(command.fields, budget, next);
    case "display":
      return next;
  }
}

/** How many rows out of a sort can reach the results: the limit, when nothing after it filters or regroups. */
function rowsThatMatter(after: readonly Command[], limit: number): number {
  let keep = limit;
  for (const command of after) {
    if (command.kind === "limit") keep = Math.min(keep, command.count);
    else if (command.kind !== "fields" && command.kind !== "display" && command.kind !== "sort") return Number.POSITIVE_INFINITY;
  }
  return keep;
}

function describeOutput(commands: readonly Command[]): { projection: Projection; timeFields: Set<string>; fromEvents: boolean } {
  let projection: Projection = { kind: "all" };
  let timeFields = new Set<string>(["@timestamp", "@ingestionTime"]);
  let fromEvents = true;
  const add = (names: readonly string[]) => {
    if (projection.kind === "all") projection = { kind: "named", names: [] };
    for (const name of names) if (!projection.names.includes(name)) projection.names.push(name);
  };
  for (const command of commands) {
    if (command.kind === "fields") {
      for (const item of command.items) {
        if (isTimeExpr(item.expr, timeFields)) timeFields.add(item.name);
        else timeFields.delete(item.name);
      }
      add(command.items.map((item) => item.name));
    } else if (command.kind === "parse" && projection.kind === "named") {
      add(command.names.length > 0 ? command.names : command.pattern.kind === "regex" ? namedGroups(command.pattern.source) : []);
    } else if (command.kind === "stats") {
      const next = new Set<string>();
      for (const item of [...command.by, ...command.items]) if (isTimeExpr(item.expr, timeFields)) next.add(item.name);
      timeFields = next;
      projection = { kind: "named", names: [...command.by, ...command.items].map((item) => item.name) };
      fromEvents = false;
    } else if (command.kind === "display") {
      projection = { kind: "named", names: [...command.fields] };
    }
  }
  return { projection, timeFields, fromEvents };
}

function resultRow(row: Row, projection: Projection, timeFields: ReadonlySet<string>, fromEvents: boolean): ResultField[] {
  const fields: ResultField[] = [];
  const entries: Iterable<[string, Value]> = projection.kind === "all" ? row.all() : projection.names.map((name) => [name, row.get(name)] as [string, Value]);
  for (const [field, value] of entries) {
    const text = printValue(value, timeFields.has(field));
    if (text !== undefined) fields.push({ field, value: text });
  }
  if (fromEvents) {
    const ptr = row.get("@ptr");
    if (typeof ptr === "string") fields.push({ field: "@ptr", value: ptr });
  }
  return fields;
}

function printValue(value: Value, isTime: boolean): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (isTime && typeof value === "number") return formatTime(value);
  return String(value);
}
