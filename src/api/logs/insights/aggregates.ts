// The aggregation functions of `stats`
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-operations-functions.html),
// one accumulator per function per group. Memory is charged to the query's MemoryBudget: a
// percentile keeps every value up to PCT_EXACT_VALUES and a uniform sample of that size after
// (the figure is then an estimate); count_distinct counts exactly up to DISTINCT_EXACT_VALUES and
// with a HyperLogLog sketch after, as AWS documents ("if the field has very high cardinality …
// the value returned by count_distinct is just an approximation").
import type { Value } from "./ast.js";
import type { MemoryBudget } from "./memory-budget.js";
import { compareValues, toNumber, toText } from "./expressions.js";
import { QuerySyntaxError } from "./query-syntax-error.js";

export interface Accumulator {
  /** `value` is the function's argument on this row; `timestamp` the row's @timestamp (earliest/latest). */
  add(value: Value, timestamp: number): void;
  result(): Value;
}

export type AccumulatorFactory = (budget: MemoryBudget) => Accumulator;

const PCT_EXACT_VALUES = 10_000;
const DISTINCT_EXACT_VALUES = 10_000;
const HLL_BITS = 12;
const HLL_REGISTERS = 1 << HLL_BITS;

const absent = (value: Value) => value === undefined || value === null;

/** The factory for one aggregate call; `percentile` is the pct's second argument when there is one. */
export function accumulatorFor(name: string, star: boolean, argCount: number, percentile: number | undefined, query: string): AccumulatorFactory {
  const expect = (count: number) => {
    if (argCount !== count) throw QuerySyntaxError.at(query, 0, `${name} takes ${count} argument${count === 1 ? "" : "s"}, not ${argCount}`); // wording not confirmed
  };
  switch (name) {
    case "count":
      if (star || argCount === 0) return () => new CountAll();
      expect(1);
      return () => new CountPresent();
    case "count_distinct":
      expect(1);
      return (budget) => new CountDistinct(budget);
    case "sum":
      expect(1);
      return () => new Sum();
    case "avg":
      expect(1);
      return () => new Average();
    case "min":
      expect(1);
      return () => new Extreme(-1);
    case "max":
      expect(1);
      return () => new Extreme(1);
    case "stddev":
      expect(1);
      return () => new StandardDeviation();
    case "earliest":
      expect(1);
      return () => new AtTime(-1);
    case "latest":
      expect(1);
      return () => new AtTime(1);
    default: {
      expect(2);
      if (percentile === undefined || percentile < 0 || percentile > 100) {
        throw QuerySyntaxError.at(query, 0, `${name} needs a percentile between 0 and 100 as its second argument`); // wording not confirmed
      }
      return (budget) => new Percentile(percentile, budget);
    }
  }
}

class CountAll implements Accumulator {
  private count = 0;
  add(): void {
    this.count++;
  }
  result(): Value {
    return this.count;
  }
}

class CountPresent implements Accumulator {
  private count = 0;
  add(value: Value): void {
    if (!absent(value)) this.count++;
  }
  result(): Value {
    return this.count;
  }
}

class Sum implements Accumulator {
  private sum = 0;
  private seen = false;
  add(value: Value): void {
    const number = toNumber(value);
    if (number === undefined) return;
    this.sum += number;
    this.seen = true;
  }
  result(): Value {
    return this.seen ? this.sum : undefined;
  }
}

class Average implements Accumulator {
  private sum = 0;
  private count = 0;
  add(value: Value): void {
    const number = typeof value === "number" ? value : toNumber(value);
    if (number === undefined) return;
    this.sum += number;
    this.count++;
  }
  result(): Value {
    return this.count === 0 ? undefined : this.sum / this.count;
  }
}

class Extreme implements Accumulator {
  private best: Value;
  constructor(private readonly sign: 1 | -1) {}
  add(value: Value): void {
    if (absent(value)) return;
    if (this.best === undefined || compareValues(value, this.best) * this.sign > 0) this.best = value;
  }
  result(): Value {
    return this.best;
  }
}

/** Welford's running variance: stable without keeping the values. Sample standard deviation. */
class StandardDeviation implements Accumulator {
  private count = 0;
  private mean = 0;
  private squares = 0;
  add(value: Value): void {
    const number = toNumber(value);
    if (number === undefined) return;
    this.count++;
    const delta = number - this.mean;
    this.mean += delta / this.count;
    this.squares += delta * (number - this.mean);
  }
  result(): Value {
    if (this.count === 0) return undefined;
    return this.count === 1 ? 0 : Math.sqrt(this.squares / (this.count - 1));
  }
}

/** The argument's value on the row with the earliest (sign -1) or latest (1) @timestamp. */
class AtTime implements Accumulator {
  private at = 0;
  private value: Value;
  private seen = false;
  constructor(private readonly sign: 1 | -1) {}
  add(value: Value, timestamp: number): void {
    if (absent(value)) return;
    if (!this.seen || (timestamp - this.at) * this.sign > 0) {
      this.at = timestamp;
      this.value = value;
      this.seen = true;
    }
  }
  result(): Value {
    return this.value;
  }
}

class Percentile implements Accumulator {
  private values: number[] = [];
  private seen = 0;
  private random = 0x9e3779b9;
  constructor(
    private readonly percentile: number,
    private readonly budget: MemoryBudget,
  ) {}
  add(value: Value): void {
    const number = toNumber(value);
    if (number === undefined) return;
    this.seen++;
    if (this.values.length < PCT_EXACT_VALUES) {
      this.budget.charge(8);
      this.values.push(number);
      return;
    }
    // Reservoir sampling (Vitter's algorithm R) with a small deterministic generator (xorshift32).
    this.random ^= this.random << 13;
    this.random ^= this.random >>> 17;
    this.random ^= this.random << 5;
    const slot = (this.random >>> 0) % this.seen;
    if (slot < PCT_EXACT_VALUES) this.values[slot] = number;
  }
  result(): Value {
    if (this.values.length === 0) return undefined;
    const sorted = Float64Array.from(this.values).sort();
    // Nearest rank.
    const rank = Math.max(1, Math.ceil((this.percentile / 100) * sorted.length));
    return sorted[rank - 1];
  }
}

class CountDistinct implements Accumulator {
  private exact: Set<string> | undefined = new Set();
  private registers: Uint8Array | undefined;
  constructor(private readonly budget: MemoryBudget) {}
  add(value: Value): void {
    const text = toText(value);
    if (text === undefined) return;
    const key = `${typeof value === "number" ? "n" : "s"}${text}`;
    if (this.exact) {
      if (this.exact.has(key)) return;
      this.budget.charge(64 + key.length * 2);
      this.exact.add(key);
      if (this.exact.size > DISTINCT_EXACT_VALUES) {
        this.budget.charge(HLL_REGISTERS);
        this.registers = new Uint8Array(HLL_REGISTERS);
        for (const seen of this.exact) this.sketch(seen);
        this.exact = undefined;
      }
      return;
    }
    this.sketch(key);
  }
  private sketch(key: string): void {
    const hash = hash32(key);
    const index = hash >>> (32 - HLL_BITS);
    const rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1));
    const rank = Math.clz32(rest) + 1;
    if (rank > this.registers![index]!) this.registers![index] = rank;
  }
  result(): Value {
    if (this.exact) return this.exact.size;
    const registers = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (const register of registers) {
      sum += 2 ** -register;
      if (register === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_REGISTERS);
    const estimate = (alpha * HLL_REGISTERS * HLL_REGISTERS) / sum;
    if (estimate <= 2.5 * HLL_REGISTERS && zeros > 0) return Math.round(HLL_REGISTERS * Math.log(HLL_REGISTERS / zeros));
    return Math.round(estimate);
  }
}

/** FNV-1a with a final avalanche (murmur3's fmix32), so the top bits are well mixed. */
function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
