// Which processes of the host are a load balancer node's HAProxy: read from /proc, for
// haproxy-node.ts. A process is trusted only by the pid recorded when we launched it, and only
// while that pid still has the recorded start time (pids are reused), runs the haproxy binary
// (/proc/<pid>/exe: what was executed, which the process cannot change, unlike its arguments) and
// names the node's config. The master must be root's too; its workers drop to their account.
// Nothing is found by scanning command lines: any user can start a process with our arguments.
import { readFileSync, readlinkSync } from "node:fs";

/** A process as recorded at launch: its pid and its start time (clock ticks after boot, /proc/<pid>/stat field 22). */
export interface ProcessRecord {
  readonly pid: number;
  readonly startTime: string;
}

export interface MasterRecord extends ProcessRecord {
  /** The workers seen under the master (at launch and after each reload): stopped with it. */
  readonly workers?: readonly ProcessRecord[] | undefined;
}

/** Fields of /proc/<pid>/stat after "(comm)" (comm may hold spaces and parentheses): [state, ppid, …]. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

export function processStartTime(pid: number): string | undefined {
  // Field 22 overall is the 20th after "pid (comm)".
  return statFields(pid)?.[19];
}

export function parentPid(pid: number): number {
  return Number(statFields(pid)?.[1] ?? 0);
}

export function isAlive(pid: number): boolean {
  const state = statFields(pid)?.[0];
  // A zombie holds nothing but its pid: it counts as gone.
  return state !== undefined && state !== "Z";
}

/** Real and effective uid (/proc/<pid>/status "Uid: real effective saved fs"). */
function uids(pid: number): number[] {
  try {
    const line = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "";
    return line.trim().split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** Whether pid runs the haproxy binary (realpath given), started with `-f <config>`; `root`: its real and effective uid are 0. */
export function isHaproxyOf(pid: number, haproxy: string, config: string, root: boolean): boolean {
  if (!isAlive(pid)) return false;
  try {
    // A package upgrade replaces the binary under a running master: its exe then reads "(deleted)".
    const exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
    if (exe !== haproxy) return false;
    if (
      root &&
      !uids(pid)
        .slice(0, 2)
        .every((uid) => uid === 0)
    )
      return false;
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return args.some((arg, index) => arg === "-f" && args[index + 1] === config);
  } catch {
    return false;
  }
}

/** Whether the recorded process is still the one recorded (same start time) and an haproxy of this config. */
export function stillRuns(record: ProcessRecord, haproxy: string, config: string, root: boolean): boolean {
  return Number.isInteger(record.pid) && record.pid > 1 && processStartTime(record.pid) === record.startTime && isHaproxyOf(record.pid, haproxy, config, root);
}

/** The live children of pid that run haproxy of this config (its workers, whatever their account). */
export function workersOf(pid: number, haproxy: string, config: string): ProcessRecord[] {
  const children = (() => {
    try {
      // Threads' children files list each thread's children; HAProxy forks from its main thread.
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  })();
  return children
    .filter((child) => isHaproxyOf(child, haproxy, config, false))
    .flatMap((child) => {
      const startTime = processStartTime(child);
      return startTime === undefined ? [] : [{ pid: child, startTime }];
    });
}

/** The open-file hard limit this process (and so the HAProxy it launches) has: /proc/self/limits. */
export function openFileHardLimit(): number {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  const hard = line?.[2];
  return hard === undefined || hard === "unlimited" ? 1_048_576 : Number(hard);
}
