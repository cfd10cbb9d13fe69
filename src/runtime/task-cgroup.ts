// The task's cgroup: one budget for all its containers, as Fargate sizes a task. Task cpu units
// become a CFS quota (1024 units = one CPU's worth of period), task memory a hard limit with no
// swap beyond it, plus a pids ceiling. Containers' cgroups (created by runc from their
// cgroupsPath) nest below it, so their own memory/cpu settings apply inside the task's budget.
//
//   cgroup v1 (this fleet's hosts): /sys/fs/cgroup/<controller>/berth/<taskId>/<container>
//   cgroup v2 (unified):            /sys/fs/cgroup/berth/<taskId>/<container>
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { confinedJoin } from "../core/confined-path.js";
import { readCgroupUsage } from "./cgroup-usage.js";
import type { CgroupUsage } from "./cgroup-usage.js";

const CGROUP_ROOT = "/sys/fs/cgroup";
const CFS_PERIOD_US = 100_000;
/** Processes per task: generous for real work, finite so a fork bomb stays inside its task. */
export const TASK_PIDS_LIMIT = 16_384;

export interface TaskBudget {
  readonly cpuUnits: number;
  readonly memoryMiB: number;
}

const isUnified = (root: string) => existsSync(join(root, "cgroup.controllers"));

export class TaskCgroups {
  constructor(private readonly root = CGROUP_ROOT) {}

  /** The cgroupsPath (relative to the hierarchy root) a container of the task runs in. */
  containerPath(taskId: string, containerName: string): string {
    return confinedJoin("/berth", [taskId, containerName], "task id or container name");
  }

  private v1Dir(controller: string, taskId: string): string {
    return confinedJoin(join(this.root, controller, "berth"), [taskId], "task id");
  }

  /** Idempotent. */
  ensure(taskId: string, budget: TaskBudget): void {
    const quotaUs = Math.round((budget.cpuUnits / 1024) * CFS_PERIOD_US);
    const memoryBytes = budget.memoryMiB * 1024 * 1024;
    if (isUnified(this.root)) {
      const berth = join(this.root, "berth");
      mkdirSync(berth, { recursive: true });
      writeFileSync(join(this.root, "cgroup.subtree_control"), "+memory +cpu +pids");
      writeFileSync(join(berth, "cgroup.subtree_control"), "+memory +cpu +pids");
      const dir = confinedJoin(berth, [taskId], "task id");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "cgroup.subtree_control"), "+memory +cpu +pids");
      writeFileSync(join(dir, "memory.max"), String(memoryBytes));
      writeFileSync(join(dir, "memory.swap.max"), "0");
      writeFileSync(join(dir, "cpu.max"), `${quotaUs} ${CFS_PERIOD_US}`);
      writeFileSync(join(dir, "pids.max"), String(TASK_PIDS_LIMIT));
      return;
    }
    const memory = this.v1Dir("memory", taskId);
    mkdirSync(memory, { recursive: true });
    writeFileSync(join(memory, "memory.limit_in_bytes"), String(memoryBytes));
    if (existsSync(join(memory, "memory.memsw.limit_in_bytes"))) writeFileSync(join(memory, "memory.memsw.limit_in_bytes"), String(memoryBytes));
    const cpu = this.v1Dir("cpu", taskId);
    mkdirSync(cpu, { recursive: true });
    writeFileSync(join(cpu, "cpu.cfs_period_us"), String(CFS_PERIOD_US));
    writeFileSync(join(cpu, "cpu.cfs_quota_us"), String(quotaUs));
    const pids = this.v1Dir("pids", taskId);
    mkdirSync(pids, { recursive: true });
    writeFileSync(join(pids, "pids.max"), String(TASK_PIDS_LIMIT));
  }

  /**
   * OOM kills of processes in one container's own memory cgroup (runc makes one per container
   * below the task's, fresh for each container, and it stays until `runc delete`). The kernel
   * counts a kill in the victim's cgroup whichever limit (container or task) was hit, so this
   * names the container that lost a process, not merely "some container of the task".
   */
  containerOomKills(taskId: string, containerName: string): number | undefined {
    const file = isUnified(this.root)
      ? join(confinedJoin(join(this.root, "berth"), [taskId, containerName], "task id or container name"), "memory.events")
      : join(confinedJoin(this.v1Dir("memory", taskId), [containerName], "container name"), "memory.oom_control");
    if (!existsSync(file)) return undefined;
    const match = /^oom_kill (\d+)$/m.exec(readFileSync(file, "utf8"));
    return match ? Number(match[1]) : 0;
  }

  /** What the task's cgroup (or one container's below it) has used (cgroup-usage.ts); names are confined like every path here. */
  usage(taskId: string, containerName?: string): CgroupUsage {
    const relative = confinedJoin("/berth", containerName === undefined ? [taskId] : [taskId, containerName], "task id or container name");
    return readCgroupUsage(this.root, isUnified(this.root), relative.slice(1));
  }

  /** Removes the task's cgroups (children first); tolerates their absence. */
  remove(taskId: string): void {
    // runc creates the container's cgroup in every mounted hierarchy (name=systemd and the hybrid
    // unified one included), so every hierarchy is cleaned, not just the controllers we configure.
    const dirs = isUnified(this.root)
      ? [confinedJoin(join(this.root, "berth"), [taskId], "task id")]
      : readdirSync(this.root).map((hierarchy) => this.v1Dir(hierarchy, taskId));
    for (const dir of dirs) removeTree(dir);
  }

  /** Task ids that still have a cgroup (for leak checks and reconciliation). */
  list(): string[] {
    const base = isUnified(this.root) ? join(this.root, "berth") : join(this.root, "memory", "berth");
    return existsSync(base)
      ? readdirSync(base, { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => entry.name)
      : [];
  }
}

/** cgroup directories are removed with rmdir, deepest first (their files cannot be unlinked). */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeTree(join(dir, entry.name));
  rmdirSync(dir);
}
