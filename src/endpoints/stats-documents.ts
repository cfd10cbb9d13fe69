// Docker-style stats (Docker Engine API v1.30 ContainerStats, as the task metadata endpoint answers
// /stats and /task/stats) from a cgroup's counters (pure). The counters come from the runtime
// (src/runtime/cgroup-usage.ts); their shape is declared again here, structurally identical, since
// this folder may not import the runtime. Only measured numbers appear: a counter the host's
// cgroup hierarchy lacks is left out. Not measured at all: `networks` (per-interface counters live
// in the task's network namespace, which the agent does not enter per request) and `storage_stats`.
// `precpu_stats`/`preread` are the previous sample the endpoint took of the same container.

export interface IoCounter {
  readonly major: number;
  readonly minor: number;
  readonly op: string;
  readonly value: number;
}

export interface UsageCounters {
  readonly cpuTotalNs?: number;
  readonly cpuUserNs?: number;
  readonly cpuSystemNs?: number;
  readonly throttling?: { readonly periods: number; readonly throttledPeriods: number; readonly throttledTimeNs: number };
  readonly memoryUsageBytes?: number;
  readonly memoryMaxUsageBytes?: number;
  readonly memoryLimitBytes?: number;
  readonly memoryStats?: Readonly<Record<string, number>>;
  readonly pids?: number;
  readonly ioServiceBytes?: readonly IoCounter[];
  readonly ioServiced?: readonly IoCounter[];
}

export interface UsageSample {
  readonly readAtMs: number;
  readonly usage: UsageCounters;
  /** The host's CPU time in ns (/proc/stat), Docker's system_cpu_usage. */
  readonly systemCpuNs?: number | undefined;
  readonly onlineCpus: number;
}

type Json = Record<string, unknown>;
const defined = (object: Json): Json => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));

function cpuStats(sample: UsageSample | undefined): Json {
  if (!sample) return {};
  const { usage } = sample;
  return defined({
    cpu_usage:
      usage.cpuTotalNs === undefined
        ? undefined
        : { total_usage: usage.cpuTotalNs, usage_in_kernelmode: usage.cpuSystemNs, usage_in_usermode: usage.cpuUserNs },
    system_cpu_usage: sample.systemCpuNs,
    online_cpus: sample.onlineCpus,
    throttling_data: usage.throttling
      ? { periods: usage.throttling.periods, throttled_periods: usage.throttling.throttledPeriods, throttled_time: usage.throttling.throttledTimeNs }
      : undefined,
  });
}

const ioList = (entries: readonly IoCounter[] | undefined) =>
  entries?.map((entry) => ({ major: entry.major, minor: entry.minor, op: entry.op, value: entry.value }));

/** One container's stats document; `previous` is the sample before (absent on the first read). */
export function statsDocument(identity: { readonly id: string; readonly name: string }, sample: UsageSample, previous: UsageSample | undefined): Json {
  const { usage } = sample;
  return defined({
    read: new Date(sample.readAtMs).toISOString(),
    preread: new Date(previous?.readAtMs ?? 0).toISOString(),
    pids_stats: usage.pids === undefined ? {} : { current: usage.pids },
    blkio_stats: {
      io_service_bytes_recursive: ioList(usage.ioServiceBytes) ?? [],
      io_serviced_recursive: ioList(usage.ioServiced) ?? [],
    },
    num_procs: 0,
    cpu_stats: cpuStats(sample),
    precpu_stats: cpuStats(previous),
    memory_stats: defined({
      usage: usage.memoryUsageBytes,
      max_usage: usage.memoryMaxUsageBytes,
      stats: usage.memoryStats,
      limit: usage.memoryLimitBytes,
    }),
    name: identity.name,
    id: identity.id,
  });
}
