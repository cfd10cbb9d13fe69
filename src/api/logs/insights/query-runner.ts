// Runs a started query after StartQuery has answered: reads the groups' events in the time range
// from the store in batches, pushes them through the compiled pipeline, and writes the status,
// statistics and results back to the store, where any replica's GetQueryResults reads them.
//
//   Scheduled ──first batch──▶ Running ──input ends──▶ Complete
//       │                        │ ├──────────────────▶ Failed    (a bound passed: memory, groups)
//       │                        │ └──60 minutes──────▶ Timeout   (AWS's limit on a query's runtime)
//       └──────StopQuery─────────┴───────────────────▶ Cancelled (any replica; seen by the runner
//                                                                  at its next progress write)
//
// The engine is synchronous, so queries work in slices of about SLICE_MS, one slice per turn of
// the event loop across all the queries of this replica, taken in turn (round robin): between two
// slices the loop serves API requests, however many queries run.
import type { LogEventRecord, LogsRepository } from "../../../store/logs-repository.js";
import type { InsightsQueryStatistics, LogsInsightsRepository } from "../../../store/logs-insights-repository.js";
import type { Clock } from "../../../core/clock.js";
import type { CompiledQuery } from "./compile-query.js";
import { encodeLogRecordPointer } from "./log-records.js";
import { QueryResourceError } from "./memory-budget.js";
import type { EventContext } from "./rows.js";
import { EventRow } from "./rows.js";

/** AWS: "Queries time out after 60 minutes of runtime." */
export const QUERY_TIMEOUT_MS = 60 * 60_000;
const SLICE_MS = 20;
const BATCH_EVENTS = 5_000;
/** How often the figures are written while a query runs (and a stop by another replica noticed). */
const PROGRESS_EVERY_MS = 500;

export interface RunnerPorts {
  readonly logs: LogsRepository;
  readonly insights: LogsInsightsRepository;
  readonly clock: Clock;
  /** Where a query that fails for a reason of the server's is reported. */
  readonly onError?: (queryId: string, error: unknown) => void;
}

export interface QueryToRun {
  readonly queryId: string;
  readonly groups: readonly { readonly id: number; readonly name: string }[];
  /** Milliseconds, start inclusive, end exclusive. */
  readonly startMs: number;
  readonly endMs: number;
  readonly accountId: string;
  readonly compiled: CompiledQuery;
}

/** The queries this replica runs, so a StopQuery that lands here stops one at its next slice. */
export class QueryRunner {
  private readonly running = new Map<string, { stopped: boolean }>();
  /** When the slice being worked now began. */
  private sliceStart = Number.NEGATIVE_INFINITY;
  /** Queries waiting for a slice, in order; one is woken per turn of the event loop. */
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly ports: RunnerPorts) {}

  get activeCount(): number {
    return this.running.size;
  }

  /** Starts the run in the background; the returned promise (for tests) settles when it has ended. */
  start(query: QueryToRun): Promise<void> {
    const handle = { stopped: false };
    this.running.set(query.queryId, handle);
    return this.run(query, handle)
      .catch((error: unknown) => this.fail(query.queryId, error))
      .finally(() => this.running.delete(query.queryId));
  }

  stop(queryId: string): void {
    const handle = this.running.get(queryId);
    if (handle) handle.stopped = true;
  }

  /** Waits for a slice when this one is spent: the caller's turn comes after every query waiting now. */
  private async pace(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length === 1) setImmediate(() => this.wakeNext());
    });
  }

  private wakeNext(): void {
    const next = this.waiting.shift();
    if (!next) return;
    this.sliceStart = performance.now();
    next();
    // The next waiter's slice is in a later turn, after the loop has polled for I/O.
    if (this.waiting.length > 0) setImmediate(() => this.wakeNext());
  }

  private async fail(queryId: string, error: unknown): Promise<void> {
    const resource = error instanceof QueryResourceError;
    if (!resource) this.ports.onError?.(queryId, error);
    await this.ports.insights.endQuery(queryId, { status: "Failed", failure: resource ? error.message : "internal error" }).catch(() => undefined);
  }

  private async run(query: QueryToRun, handle: { stopped: boolean }): Promise<void> {
    const { logs, insights, clock } = this.ports;
    const started = clock.now();
    const statistics = { recordsMatched: 0, recordsScanned: 0, bytesScanned: 0 };
    const figures = (): InsightsQueryStatistics => ({ ...statistics, recordsMatched: query.compiled.matched });
    let lastProgress = Number.NEGATIVE_INFINITY;
    this.sliceStart = Number.NEGATIVE_INFINITY; // StartQuery answers before the first slice
    await this.pace();
    for (const group of query.groups) {
      const streamNames = new Map<number, string>();
      const context: EventContext = {
        log: `${query.accountId}:${group.name}`,
        streamName: (id) => streamNames.get(id) ?? "",
        ptr: (eventId) => encodeLogRecordPointer(group.id, eventId),
      };
      let after: { timestamp: number; id: number } | undefined;
      for (;;) {
        if (handle.stopped) return;
        const now = clock.now();
        if (now - started > QUERY_TIMEOUT_MS) {
          await insights.endQuery(query.queryId, { status: "Timeout", statistics: figures() });
          return;
        }
        if (now - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = now;
          if (!(await insights.recordProgress(query.queryId, figures()))) return; // stopped elsewhere
        }
        await this.pace();
        const batch = await logs.groupEvents({
          groupId: group.id,
          range: { startTime: query.startMs, endTime: query.endMs },
          ...(after ? { after } : {}),
          limit: BATCH_EVENTS,
        });
        if (batch.length === 0) break;
        await this.learnStreams(batch, streamNames);
        await this.scan(batch, context, query.compiled, statistics);
        const last = batch.at(-1)!;
        after = { timestamp: last.timestamp, id: last.id };
        if (batch.length < BATCH_EVENTS) break;
      }
    }
    if (handle.stopped) return;
    const results = query.compiled.finish();
    await insights.endQuery(query.queryId, { status: "Complete", statistics: figures(), results });
  }

  private async learnStreams(batch: readonly LogEventRecord[], names: Map<number, string>): Promise<void> {
    const unknown = new Set<number>();
    for (const event of batch) if (!names.has(event.streamId)) unknown.add(event.streamId);
    if (unknown.size === 0) return;
    for (const [id, name] of await this.ports.logs.streamNames([...unknown])) names.set(id, name);
  }

  /** Pushes a batch through the pipeline, waiting for a new slice whenever this one is spent. */
  private async scan(
    batch: readonly LogEventRecord[],
    context: EventContext,
    compiled: CompiledQuery,
    statistics: { recordsScanned: number; bytesScanned: number },
  ): Promise<void> {
    for (let index = 0; index < batch.length; index++) {
      const event = batch[index]!;
      statistics.recordsScanned++;
      statistics.bytesScanned += Buffer.byteLength(event.message);
      compiled.push(new EventRow(event, context));
      if ((index & 255) === 255) await this.pace();
    }
  }
}
