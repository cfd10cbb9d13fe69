// What one query may hold in memory at once (stats groups and their accumulators, dedup keys,
// rows kept for sort): every structure that grows with the events scanned charges this budget,
// and a query that would pass it fails (status Failed) instead of exhausting the server.

/** Thrown when a query passes a bound the server sets (memory, groups): the query ends as Failed. */
export class QueryResourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryResourceError";
  }
}

export class MemoryBudget {
  private used = 0;
  constructor(readonly limitBytes: number) {}

  /** Counts `bytes` more (an estimate of what the structure costs in V8), failing the query past the limit. */
  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limitBytes) {
      // Berth's own bound (the status is Failed; GetQueryResults has no member for why).
      throw new QueryResourceError(
        `the query needs more than ${Math.round(this.limitBytes / 1_048_576)} MiB of memory; narrow it (fewer groups or fields, a shorter time range, a lower limit)`,
      );
    }
  }

  get usedBytes(): number {
    return this.used;
  }
}
