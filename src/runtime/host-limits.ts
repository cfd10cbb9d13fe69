// The hard resource limits of this process, which bound what a container may ask for: raising a
// hard limit needs CAP_SYS_RESOURCE, which the agent may lack (HOST-NOTES: nofile 20000 here), and
// the runtime fails the whole container on an rlimit it cannot set. So requests are clamped.
import { readFileSync } from "node:fs";

const NAMES: Record<string, string> = {
  "Max cpu time": "RLIMIT_CPU",
  "Max file size": "RLIMIT_FSIZE",
  "Max data size": "RLIMIT_DATA",
  "Max stack size": "RLIMIT_STACK",
  "Max core file size": "RLIMIT_CORE",
  "Max resident set": "RLIMIT_RSS",
  "Max processes": "RLIMIT_NPROC",
  "Max open files": "RLIMIT_NOFILE",
  "Max locked memory": "RLIMIT_MEMLOCK",
  "Max address space": "RLIMIT_AS",
  "Max file locks": "RLIMIT_LOCKS",
  "Max pending signals": "RLIMIT_SIGPENDING",
  "Max msgqueue size": "RLIMIT_MSGQUEUE",
  "Max nice priority": "RLIMIT_NICE",
  "Max realtime priority": "RLIMIT_RTPRIO",
  "Max realtime timeout": "RLIMIT_RTTIME",
};

/** RLIMIT name → hard limit; "unlimited" limits are left out (nothing to clamp to). */
export function parseHardLimits(procLimits: string): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const line of procLimits.split("\n").slice(1)) {
    const name = Object.keys(NAMES).find((candidate) => line.startsWith(candidate));
    if (!name) continue;
    const [, hard] = line.slice(name.length).trim().split(/\s+/);
    if (hard && /^\d+$/.test(hard)) limits[NAMES[name]!] = Number(hard);
  }
  return limits;
}

export function hostHardLimits(): Record<string, number> {
  return parseHardLimits(readFileSync("/proc/self/limits", "utf8"));
}
