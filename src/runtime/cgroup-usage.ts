// What a task's or a container's cgroup has used, read from the kernel's own counters (cgroup v1,
// this fleet's hosts, and v2), for the task metadata endpoint's stats (src/endpoints). Only what
// the files hold: a counter the hierarchy lacks is left out, never guessed.
//
//   v1: cpuacct.usage, cpuacct.stat (USER_HZ ticks), cpu.stat (throttling), memory.usage_in_bytes,
//       memory.max_usage_in_bytes, memory.limit_in_bytes, memory.stat, pids.current,
//       blkio.throttle.io_service_bytes / io_serviced
//   v2: cpu.stat (µs), memory.current, memory.peak, memory.max, memory.stat, pids.current, io.stat
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface IoEntry {
  readonly major: number;
  readonly minor: number;
  readonly op: string;
  readonly value: number;
}

export interface CgroupUsage {
  readonly cpuTotalNs?: number;
  readonly cpuUserNs?: number;
  readonly cpuSystemNs?: number;
  readonly throttling?: { readonly periods: number; readonly throttledPeriods: number; readonly throttledTimeNs: number };
  readonly memoryUsageBytes?: number;
  readonly memoryMaxUsageBytes?: number;
  readonly memoryLimitBytes?: number;
  readonly memoryStats?: Readonly<Record<string, number>>;
  readonly pids?: number;
  readonly ioServiceBytes?: readonly IoEntry[];
  readonly ioServiced?: readonly IoEntry[];
}

/** USER_HZ: cpuacct.stat counts in ticks of 1/100 s on every Linux architecture Berth runs on. */
const TICK_NS = 10_000_000;

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};
const num = (text: string | undefined): number | undefined => {
  const value = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
};
/** "key value" lines into a record of numbers. */
export function keyedNumbers(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? "").split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    const parsed = Number(value);
    if (key && Number.isFinite(parsed)) out[key] = parsed;
  }
  return out;
}

/** v1 blkio lines "8:0 Read 4096" (the "Total" line dropped). */
export function blkioEntries(text: string | undefined): IoEntry[] {
  const entries: IoEntry[] = [];
  for (const match of (text ?? "").matchAll(/^(\d+):(\d+) (\w+) (\d+)$/gm))
    entries.push({ major: Number(match[1]), minor: Number(match[2]), op: match[3]!, value: Number(match[4]) });
  return entries;
}

/** v2 io.stat lines "8:0 rbytes=1 wbytes=2 rios=3 wios=4 …" as Docker's Read/Write entries. */
export function ioStatEntries(text: string | undefined): { bytes: IoEntry[]; ios: IoEntry[] } {
  const bytes: IoEntry[] = [];
  const ios: IoEntry[] = [];
  for (const match of (text ?? "").matchAll(/^(\d+):(\d+) (.*)$/gm)) {
    const fields = Object.fromEntries([...match[3]!.matchAll(/(\w+)=(\d+)/g)].map((field) => [field[1]!, Number(field[2])]));
    const device = { major: Number(match[1]), minor: Number(match[2]) };
    bytes.push({ ...device, op: "Read", value: fields.rbytes ?? 0 }, { ...device, op: "Write", value: fields.wbytes ?? 0 });
    ios.push({ ...device, op: "Read", value: fields.rios ?? 0 }, { ...device, op: "Write", value: fields.wios ?? 0 });
  }
  return { bytes, ios };
}

/** `relative` is the task's (berth/<task>) or a container's (berth/<task>/<container>) path below each hierarchy. */
export function readCgroupUsage(root: string, unified: boolean, relative: string): CgroupUsage {
  if (unified) {
    const dir = join(root, relative);
    const cpu = keyedNumbers(read(join(dir, "cpu.stat")));
    const limit = read(join(dir, "memory.max"))?.trim();
    const io = ioStatEntries(read(join(dir, "io.stat")));
    return {
      ...(cpu.usage_usec !== undefined
        ? { cpuTotalNs: cpu.usage_usec * 1000, cpuUserNs: (cpu.user_usec ?? 0) * 1000, cpuSystemNs: (cpu.system_usec ?? 0) * 1000 }
        : {}),
      ...(cpu.nr_periods !== undefined
        ? { throttling: { periods: cpu.nr_periods, throttledPeriods: cpu.nr_throttled ?? 0, throttledTimeNs: (cpu.throttled_usec ?? 0) * 1000 } }
        : {}),
      memoryUsageBytes: num(read(join(dir, "memory.current"))),
      memoryMaxUsageBytes: num(read(join(dir, "memory.peak"))),
      memoryLimitBytes: limit === "max" ? undefined : num(limit),
      memoryStats: keyedNumbers(read(join(dir, "memory.stat"))),
      pids: num(read(join(dir, "pids.current"))),
      ioServiceBytes: io.bytes,
      ioServiced: io.ios,
    };
  }
  const at = (controller: string, file: string) => read(join(root, controller, relative, file));
  const ticks = keyedNumbers(at("cpuacct", "cpuacct.stat"));
  const throttle = keyedNumbers(at("cpu", "cpu.stat"));
  const total = num(at("cpuacct", "cpuacct.usage"));
  return {
    ...(total !== undefined ? { cpuTotalNs: total, cpuUserNs: (ticks.user ?? 0) * TICK_NS, cpuSystemNs: (ticks.system ?? 0) * TICK_NS } : {}),
    ...(throttle.nr_periods !== undefined
      ? { throttling: { periods: throttle.nr_periods, throttledPeriods: throttle.nr_throttled ?? 0, throttledTimeNs: throttle.throttled_time ?? 0 } }
      : {}),
    memoryUsageBytes: num(at("memory", "memory.usage_in_bytes")),
    memoryMaxUsageBytes: num(at("memory", "memory.max_usage_in_bytes")),
    memoryLimitBytes: num(at("memory", "memory.limit_in_bytes")),
    memoryStats: keyedNumbers(at("memory", "memory.stat")),
    pids: num(at("pids", "pids.current")),
    ioServiceBytes: blkioEntries(at("blkio", "blkio.throttle.io_service_bytes")),
    ioServiced: blkioEntries(at("blkio", "blkio.throttle.io_serviced")),
  };
}

/** The host's whole CPU time in ns (/proc/stat's first line, in USER_HZ ticks): Docker's system_cpu_usage. */
export function systemCpuNs(): number | undefined {
  const line = read("/proc/stat")?.split("\n")[0];
  if (!line?.startsWith("cpu ")) return undefined;
  return (
    line
      .split(/\s+/)
      .slice(1, 9)
      .reduce((sum, value) => sum + Number(value || 0), 0) * TICK_NS
  );
}
