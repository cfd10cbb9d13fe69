// `stats`: groups rows by the `by` expressions and runs each aggregate call of each item over
// them; at the end, one row per group holds the `by` values and the items (each item an
// expression over its aggregates: `sum(bytes) / count(*) as mean` works). The number of groups is
// bounded by the query's memory budget.
import type { Expr, NamedExpr, Value } from "./ast.js";
import type { Accumulator, AccumulatorFactory } from "./aggregates.js";
import { accumulatorFor } from "./aggregates.js";
import type { Evaluator } from "./expressions.js";
import { compileExpr, toNumber } from "./expressions.js";
import type { MemoryBudget } from "./memory-budget.js";
import { QueryResourceError } from "./memory-budget.js";
import type { Row } from "./rows.js";
import { MapRow } from "./rows.js";
import type { Stage } from "./stages.js";
import { groupKey } from "./stages.js";

/** Logs Insights answers at most 10,000 rows; more groups than this is a query to narrow. */
export const MAX_GROUPS = 100_000;
const GROUP_COST_BYTES = 256;

interface AggregateSlot {
  readonly slot: string;
  readonly argument: Evaluator | undefined;
  readonly create: AccumulatorFactory;
}

interface Group {
  readonly by: Value[];
  readonly accumulators: Accumulator[];
}

export class StatsStage implements Stage {
  private readonly slots: AggregateSlot[] = [];
  private readonly items: { name: string; evaluate: Evaluator }[];
  private readonly by: { name: string; evaluate: Evaluator }[];
  /** Keyed by the `by` value itself when there is one (no string made per event), else by groupKey. */
  private readonly groups = new Map<Value, Group>();
  private readonly timestamp: Evaluator = (row) => row.get("@timestamp");

  constructor(
    items: readonly NamedExpr[],
    by: readonly NamedExpr[],
    query: string,
    private readonly budget: MemoryBudget,
    private readonly next: Stage,
  ) {
    const aggregate = (call: Expr & { type: "call" }): Evaluator => {
      const name = call.name.toLowerCase();
      const percentileArg = call.args[1];
      const percentile = percentileArg?.type === "literal" ? toNumber(percentileArg.value) : undefined;
      const create = accumulatorFor(name, call.star, call.args.length, percentile, query);
      const slot = `\u0000${this.slots.length}`;
      const argument = call.args[0] === undefined ? undefined : compileExpr(call.args[0], { query });
      this.slots.push({ slot, argument, create });
      return (row) => row.get(slot);
    };
    this.items = items.map((item) => ({ name: item.name, evaluate: compileExpr(item.expr, { query, aggregate }) }));
    this.by = by.map((item) => ({ name: item.name, evaluate: compileExpr(item.expr, { query }) }));
  }

  push(row: Row): void {
    const by = this.by.length === 0 ? [] : this.by.map((item) => item.evaluate(row));
    const key = by.length === 1 ? by[0] : groupKey(by);
    let group = this.groups.get(key);
    if (group === undefined) {
      if (this.groups.size >= MAX_GROUPS) throw new QueryResourceError(`stats made more than ${MAX_GROUPS} groups; group by fewer values`); // wording not confirmed
      this.budget.charge(GROUP_COST_BYTES + (typeof key === "string" ? key.length * 2 : 16));
      group = { by, accumulators: this.slots.map((slot) => slot.create(this.budget)) };
      this.groups.set(key, group);
    }
    const timestamp = this.timestamp(row);
    const at = typeof timestamp === "number" ? timestamp : 0;
    const accumulators = group.accumulators;
    for (let index = 0; index < accumulators.length; index++) {
      const argument = this.slots[index]!.argument;
      accumulators[index]!.add(argument === undefined ? undefined : argument(row), at);
    }
  }

  end(): void {
    for (const group of this.groups.values()) {
      const row = new MapRow();
      this.by.forEach((item, index) => row.set(item.name, group.by[index]));
      const results = new MapRow();
      group.accumulators.forEach((accumulator, index) => results.set(this.slots[index]!.slot, accumulator.result()));
      for (const item of this.items) row.set(item.name, item.evaluate(results));
      this.next.push(row);
    }
    this.groups.clear();
    this.next.end();
  }
}
