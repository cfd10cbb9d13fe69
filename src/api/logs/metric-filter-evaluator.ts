// Metric filters applied on ingest: every event stored in a log group (PutLogEvents, and the
// agents' awslogs lines through control/log-ingest.ts — both go through LogsRepository.appendEvents,
// which `wrap` extends) is matched against the group's metric filters, and the values added to
// per-minute aggregates in the store (sum, count, min, max per metric, dimension values and minute
// of the event's timestamp). A CloudWatch metrics service will publish them; nothing reads them yet.
//
// AWS (FilterAndPatternSyntax, "Setting how the metric value changes"): a matching event adds the
// metric value (a number, or the number a `$.selector` / `$field` yields); an event that does not
// match adds the default value, when the filter has one. An event whose value or dimension is
// missing or not a number adds nothing.
//
// The hot path stays cheap: a group's filters are compiled once and cached; Put/DeleteMetricFilter
// on this replica drop the group's entry at once, and entries expire after CACHE_TTL_MS so that a
// change made through another replica (PostgreSQL) applies within that time. Each event's JSON is
// parsed at most once for all the filters of its group.
import type { LogMetricFiltersRepository, MetricAggregate, StoredMetricTransformation } from "../../store/index.js";
import type { LogsRepository, NewLogEvent } from "../../store/logs-repository.js";
import type { CompiledFilterPattern } from "./filter-pattern.js";
import { eventView, parseFilterPattern } from "./filter-pattern.js";

export const CACHE_TTL_MS = 5_000;
/** CloudWatch's limit on a dimension value's length; a longer one (or an empty one) is not recorded. */
export const MAX_DIMENSION_VALUE_LENGTH = 1024;

interface CompiledMetricFilter {
  readonly pattern: CompiledFilterPattern;
  readonly transformation: StoredMetricTransformation;
  /** The metric value when it is a number; otherwise `reference` names where to read it. */
  readonly constantValue: number | undefined;
  readonly dimensions: readonly (readonly [name: string, reference: string])[];
}

interface CacheEntry {
  readonly loadedAt: number;
  readonly filters: Promise<CompiledMetricFilter[]>;
}

export class MetricFilterEvaluator {
  private readonly cache = new Map<number, CacheEntry>();

  constructor(
    private readonly repository: LogMetricFiltersRepository,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Forgets a group's compiled filters (after a Put or Delete of one of them). */
  invalidate(groupId: number): void {
    this.cache.delete(groupId);
  }

  /** `logs` with appendEvents also recording the stored events' metrics. */
  wrap(logs: LogsRepository): LogsRepository {
    return {
      ...logs,
      appendEvents: async (stream, events, ingestionTime) => {
        const stored = await logs.appendEvents(stream, events, ingestionTime);
        // The events are stored: a failure to record their metrics must not fail the ingest (a
        // retried PutLogEvents would store them twice), so it is reported, not thrown.
        await this.record(stream.groupId, stored).catch(this.onError);
        return stored;
      },
    };
  }

  async record(groupId: number, events: readonly NewLogEvent[]): Promise<void> {
    if (events.length === 0) return;
    const filters = await this.filtersOf(groupId);
    if (filters.length === 0) return;
    await this.repository.addAggregates(aggregate(filters, events));
  }

  private filtersOf(groupId: number): Promise<CompiledMetricFilter[]> {
    const now = this.now();
    const cached = this.cache.get(groupId);
    if (cached && now - cached.loadedAt < CACHE_TTL_MS) return cached.filters;
    const filters = this.repository.ofGroup(groupId).then((records) => records.flatMap((record) => compileStored(record.filterPattern, record.transformation)));
    // A failed read is not cached: the next batch tries again.
    filters.catch(() => this.cache.delete(groupId));
    this.cache.set(groupId, { loadedAt: now, filters });
    return filters;
  }
}

function compileStored(filterPattern: string, transformation: StoredMetricTransformation): CompiledMetricFilter[] {
  let pattern: CompiledFilterPattern;
  try {
    pattern = parseFilterPattern(filterPattern);
  } catch {
    return []; // PutMetricFilter checked it; a pattern a later version refuses records nothing
  }
  const constant = Number(transformation.metricValue);
  return [
    {
      pattern,
      transformation,
      constantValue: transformation.metricValue.startsWith("$") || !Number.isFinite(constant) ? undefined : constant,
      dimensions: Object.entries(transformation.dimensions ?? {}),
    },
  ];
}

/**
 * The batch's samples, summed per filter, dimension values and minute (the store adds rows of one
 * metric from several filters together). The key is built without JSON or sorting: this loop runs
 * once per event and filter.
 */
export function aggregate(filters: readonly CompiledMetricFilter[], events: readonly NewLogEvent[]): MetricAggregate[] {
  const byKey = new Map<string, { -readonly [K in keyof MetricAggregate]: MetricAggregate[K] }>();
  for (const event of events) {
    const view = eventView(event.message);
    const minute = Math.floor(event.timestamp / 60_000) * 60_000;
    for (let index = 0; index < filters.length; index++) {
      const filter = filters[index]!;
      const sample = sampleOf(filter, view);
      if (!sample) continue;
      const key = sample.dimensionValues.length === 0 ? `${index} ${minute}` : `${index} ${minute} ${sample.dimensionValues.join("\u0000")}`;
      const row = byKey.get(key);
      if (row) {
        row.sum += sample.value;
        row.count += 1;
        if (sample.value < row.min) row.min = sample.value;
        if (sample.value > row.max) row.max = sample.value;
      } else {
        const t = filter.transformation;
        byKey.set(key, {
          metricNamespace: t.metricNamespace,
          metricName: t.metricName,
          dimensions: Object.fromEntries(filter.dimensions.map(([name], i) => [name, sample.dimensionValues[i]!])),
          minute,
          ...(t.unit === undefined ? {} : { unit: t.unit }),
          sum: sample.value,
          count: 1,
          min: sample.value,
          max: sample.value,
        });
      }
    }
  }
  return [...byKey.values()];
}

const NO_DIMENSIONS: readonly string[] = [];

function sampleOf(filter: CompiledMetricFilter, view: ReturnType<typeof eventView>): { value: number; dimensionValues: readonly string[] } | undefined {
  const match = filter.pattern.evaluate(view);
  if (!match) {
    // A filter with dimensions has no default value (PutMetricFilter refuses both).
    const fallback = filter.transformation.defaultValue;
    return fallback === undefined ? undefined : { value: fallback, dimensionValues: NO_DIMENSIONS };
  }
  const value = filter.constantValue ?? match.numberAt(filter.transformation.metricValue);
  if (value === undefined || !Number.isFinite(value)) return undefined;
  if (filter.dimensions.length === 0) return { value, dimensionValues: NO_DIMENSIONS };
  const dimensionValues: string[] = [];
  for (const [, reference] of filter.dimensions) {
    const text = match.textAt(reference);
    if (text === undefined || text === "" || text.length > MAX_DIMENSION_VALUE_LENGTH) return undefined;
    dimensionValues.push(text);
  }
  return { value, dimensionValues };
}
