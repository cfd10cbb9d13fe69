// Which task holds which host uid/gid range (see core/id-range.ts for the ranges themselves). The
// slot a task holds is written in its task directory (`id-range`), so an agent restarted while
// tasks run finds them again and never hands their range to a new task.
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ID_RANGE_SLOTS, idRangeOfSlot } from "../core/id-range.js";
import type { IdRange } from "../core/id-range.js";

export type { IdRange } from "../core/id-range.js";

const FILE = "id-range";

function parseSlot(text: string): number | undefined {
  const slot = Number(text.trim());
  return Number.isInteger(slot) && slot >= 0 && slot < ID_RANGE_SLOTS ? slot : undefined;
}

export class IdRanges {
  private readonly slotOfTask = new Map<string, number>();
  private readonly taskOfSlot = new Map<number, string>();
  private next = 0;

  /** `tasksRoot` holds one directory per task (TaskFilesystems' root). */
  constructor(private readonly tasksRoot: string) {
    let entries: string[] = [];
    try {
      entries = readdirSync(tasksRoot);
    } catch {
      // no task has run here yet
    }
    for (const taskId of entries) {
      let slot: number | undefined;
      try {
        slot = parseSlot(readFileSync(join(tasksRoot, taskId, FILE), "utf8"));
      } catch {
        continue;
      }
      if (slot !== undefined && !this.taskOfSlot.has(slot)) this.hold(taskId, slot);
    }
  }

  private hold(taskId: string, slot: number): void {
    this.slotOfTask.set(taskId, slot);
    this.taskOfSlot.set(slot, taskId);
  }

  /** The task's range, allocated and recorded on first use. Its task directory must exist. */
  async acquire(taskId: string): Promise<IdRange> {
    const held = this.slotOfTask.get(taskId);
    if (held !== undefined) return idRangeOfSlot(held);
    // Round robin from the last slot handed out: a range just released is the last to be reused,
    // so nothing a stopped task left behind (a straggling process) shares ids with a new task.
    for (let tried = 0; tried < ID_RANGE_SLOTS; tried++) {
      const slot = (this.next + tried) % ID_RANGE_SLOTS;
      if (this.taskOfSlot.has(slot)) continue;
      this.next = (slot + 1) % ID_RANGE_SLOTS;
      this.hold(taskId, slot);
      await mkdir(join(this.tasksRoot, taskId), { recursive: true });
      await writeFile(join(this.tasksRoot, taskId, FILE), `${slot}\n`);
      return idRangeOfSlot(slot);
    }
    throw new Error(`no free user namespace range: ${ID_RANGE_SLOTS} tasks hold one on this host`);
  }

  /** The range a task holds, if any (after an agent restart, as recorded in its directory). */
  held(taskId: string): IdRange | undefined {
    const slot = this.slotOfTask.get(taskId);
    return slot === undefined ? undefined : idRangeOfSlot(slot);
  }

  release(taskId: string): void {
    const slot = this.slotOfTask.get(taskId);
    if (slot === undefined) return;
    this.slotOfTask.delete(taskId);
    this.taskOfSlot.delete(slot);
  }
}
