// The commands that work row by row or hold rows: fields, filter, parse, sort, limit, dedup
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html). Each is a
// stage that pushes rows to the next; `end` flushes what a stage holds. Stats is stats-stage.ts.
import type RE2 from "re2";
import type { Value } from "./ast.js";
import type { Evaluator } from "./expressions.js";
import { toText, truthy } from "./expressions.js";
import type { MemoryBudget } from "./memory-budget.js";
import type { Row } from "./rows.js";

export interface Stage {
  push(row: Row): void;
  end(): void;
}

export class FieldsStage implements Stage {
  constructor(
    private readonly items: readonly { name: string; evaluate: Evaluator }[],
    private readonly next: Stage,
  ) {}
  push(row: Row): void {
    // Computed first, set after: `fields a + 1 as a, a * 2 as b` reads the original a twice.
    const values = this.items.map((item) => item.evaluate(row));
    this.items.forEach((item, index) => row.set(item.name, values[index]));
    this.next.push(row);
  }
  end(): void {
    this.next.end();
  }
}

export class FilterStage implements Stage {
  constructor(
    private readonly test: Evaluator,
    private readonly next: Stage,
  ) {}
  push(row: Row): void {
    if (truthy(this.test(row))) this.next.push(row);
  }
  end(): void {
    this.next.end();
  }
}

/** `parse`: a row the pattern does not match still passes, without the fields (as in Logs Insights). */
export class ParseStage implements Stage {
  constructor(
    private readonly source: Evaluator,
    private readonly regex: RE2,
    private readonly names: readonly string[],
    /** Named groups (regex patterns) rather than positional captures (globs). */
    private readonly named: boolean,
    private readonly next: Stage,
  ) {}
  push(row: Row): void {
    const text = toText(this.source(row));
    const match = text === undefined ? null : this.regex.exec(text);
    if (match) {
      this.names.forEach((name, index) => {
        const value = this.named ? match.groups?.[name] : match[index + 1];
        if (value !== undefined) row.set(name, value);
      });
    }
    this.next.push(row);
  }
  end(): void {
    this.next.end();
  }
}

export class LimitStage implements Stage {
  private passed = 0;
  constructor(
    private readonly count: number,
    private readonly next: Stage,
  ) {}
  push(row: Row): void {
    if (this.passed < this.count) {
      this.passed++;
      this.next.push(row);
    }
  }
  end(): void {
    this.next.end();
  }
}

/** Keeps the first row of each combination of values; rows missing a field are never duplicates. */
export class DedupStage implements Stage {
  private readonly seen = new Set<string>();
  constructor(
    private readonly fields: readonly string[],
    private readonly budget: MemoryBudget,
    private readonly next: Stage,
  ) {}
  push(row: Row): void {
    const values = this.fields.map((field) => row.get(field));
    if (values.some((value) => value === undefined || value === null)) {
      this.next.push(row);
      return;
    }
    const key = groupKey(values);
    if (this.seen.has(key)) return;
    this.budget.charge(64 + key.length * 2);
    this.seen.add(key);
    this.next.push(row);
  }
  end(): void {
    this.next.end();
  }
}

export interface SortKeyEvaluator {
  readonly evaluate: Evaluator;
  readonly descending: boolean;
}

/**
 * Holds rows until the input ends, then sends them on in order. When only `keep` rows can matter
 * (the stages after it drop or reorder nothing before a limit), it keeps just the best `keep`:
 * whenever twice that many are held, it sorts and cuts back.
 */
export class SortStage implements Stage {
  private held: { row: Row; keys: Value[] }[] = [];
  constructor(
    private readonly keys: readonly SortKeyEvaluator[],
    private readonly keep: number,
    private readonly budget: MemoryBudget,
    private readonly next: Stage,
  ) {}
  push(row: Row): void {
    if (this.held.length >= this.keep * 2 && this.keep < Number.POSITIVE_INFINITY) this.cut();
    else if (this.keep === Number.POSITIVE_INFINITY) this.budget.charge(rowCost(row));
    this.held.push({ row, keys: this.keys.map((key) => key.evaluate(row)) });
  }
  end(): void {
    this.cut();
    for (const { row } of this.held) this.next.push(row);
    this.held = [];
    this.next.end();
  }
  private cut(): void {
    const compare = (a: Value[], b: Value[]) => {
      for (let index = 0; index < this.keys.length; index++) {
        const order = orderValues(a[index], b[index], this.keys[index]!.descending);
        if (order !== 0) return order;
      }
      return 0;
    };
    this.held.sort((a, b) => compare(a.keys, b.keys));
    if (this.held.length > this.keep) this.held.length = this.keep;
  }
}

/**
 * Logs Insights' order (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Sort.html,
 * ascending): "All non-number values come before all number values"; numbers by value; other values
 * in chunks of digits, of letters and single other characters, digit chunks "by their length first
 * and then by their numerical value", the rest by Unicode value. Descending is the reverse. Missing
 * values sort after present ones in either direction.
 */
function orderValues(a: Value, b: Value, descending: boolean): number {
  const aMissing = a === undefined || a === null;
  const bMissing = b === undefined || b === null;
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
  const order = naturalOrder(a, b);
  return descending ? -order : order;
}

const NUMBER_VALUE = /^-?\d+(\.\d+)?$/;
const CHUNK = /\d+|\p{L}+|[^\d\p{L}]/gu;

function naturalOrder(a: Value, b: Value): number {
  const aText = String(a);
  const bText = String(b);
  const aNumber = typeof a === "number" || NUMBER_VALUE.test(aText);
  const bNumber = typeof b === "number" || NUMBER_VALUE.test(bText);
  if (aNumber !== bNumber) return aNumber ? 1 : -1;
  if (aNumber) {
    const difference = Number(aText) - Number(bText);
    if (difference !== 0) return difference < 0 ? -1 : 1;
    return aText < bText ? -1 : aText > bText ? 1 : 0;
  }
  const aChunks = aText.match(CHUNK) ?? [];
  const bChunks = bText.match(CHUNK) ?? [];
  for (let index = 0; index < Math.min(aChunks.length, bChunks.length); index++) {
    const x = aChunks[index]!;
    const y = bChunks[index]!;
    if (x === y) continue;
    const xDigits = x.charCodeAt(0) >= 48 && x.charCodeAt(0) <= 57;
    const yDigits = y.charCodeAt(0) >= 48 && y.charCodeAt(0) <= 57;
    if (xDigits && yDigits && x.length !== y.length) return x.length - y.length;
    return x < y ? -1 : 1;
  }
  return aChunks.length - bChunks.length;
}

function rowCost(row: Row): number {
  const message = row.get("@message");
  return 256 + (typeof message === "string" ? message.length * 2 : 0);
}

/** A key for a combination of values (type-tagged, so 1 and "1" differ). */
export function groupKey(values: readonly Value[]): string {
  if (values.length === 1) return keyPart(values[0]);
  return values.map(keyPart).join("\u0000");
}

function keyPart(value: Value): string {
  if (value === undefined || value === null) return "";
  return typeof value === "number" ? `n${value}` : typeof value === "boolean" ? `b${value}` : `s${value}`;
}

/** Counts the rows that got through every filter (GetQueryResults' recordsMatched) and passes them on. */
export class MatchCounter implements Stage {
  matched = 0;
  constructor(private readonly next: Stage) {}
  push(row: Row): void {
    this.matched++;
    this.next.push(row);
  }
  end(): void {
    this.next.end();
  }
}

/** The end of the pipeline: the result rows, up to the query's limit, charged to their own budget (the results are stored). */
export class CollectStage implements Stage {
  readonly rows: Row[] = [];
  ended = false;
  constructor(
    private readonly limit: number,
    private readonly budget: MemoryBudget,
  ) {}
  push(row: Row): void {
    if (this.rows.length < this.limit) {
      this.budget.charge(rowCost(row));
      this.rows.push(row);
    }
  }
  end(): void {
    this.ended = true;
  }
}
