// Which task holds which host uid/gid range (see core/id-range.ts for the ranges themselves).
//
// A slot is claimed host-wide with an exclusive file /run/berth/id-ranges/<slot> naming its holder,
// so two agents (or servers) with different data dirs on one host never hand out the same uids. The
// slot a task holds is also written in its task directory (`id-range`), so an agent restarted while
// tasks run finds them again (and claims them again after a reboot cleared /run). A new task's slot
// is searched from a random start: a range just released is unlikely to be handed out again soon,
// so nothing a stopped task left behind shares ids with a new task.
import { randomInt } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ID_RANGE_SLOTS, idRangeOfSlot } from "../core/id-range.js";
import type { IdRange } from "../core/id-range.js";

export type { IdRange } from "../core/id-range.js";

const FILE = "id-range";
export const HOST_ID_RANGE_CLAIMS = "/run/berth/id-ranges";

function parseSlot(text: string): number | undefined {
  const slot = Number(text.trim());
  return Number.isInteger(slot) && slot >= 0 && slot < ID_RANGE_SLOTS ? slot : undefined;
}

export class IdRanges {
  private readonly slotOfTask = new Map<string, number>();
  private readonly taskOfSlot = new Map<number, string>();

  /** `tasksRoot` holds one directory per task (TaskFilesystems' root); `claimsDir` is host-wide. */
  constructor(
    private readonly tasksRoot: string,
    private readonly claimsDir: string = HOST_ID_RANGE_CLAIMS,
  ) {
    mkdirSync(claimsDir, { recursive: true, mode: 0o700 });
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
      if (slot === undefined || this.taskOfSlot.has(slot)) continue;
      // Claimed already by this holder (an agent restart), or again after a reboot emptied /run.
      this.claim(slot, taskId);
      this.hold(taskId, slot);
    }
  }

  private holder(taskId: string): string {
    return `${join(this.tasksRoot, taskId)}\n`;
  }

  /** True when the slot is now this task's (claimed now, or already by it). */
  private claim(slot: number, taskId: string): boolean {
    const path = join(this.claimsDir, String(slot));
    try {
      writeFileSync(path, this.holder(taskId), { flag: "wx", mode: 0o600 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    try {
      return readFileSync(path, "utf8") === this.holder(taskId);
    } catch {
      return false;
    }
  }

  private hold(taskId: string, slot: number): void {
    this.slotOfTask.set(taskId, slot);
    this.taskOfSlot.set(slot, taskId);
  }

  /** The task's range, allocated and recorded on first use. */
  async acquire(taskId: string): Promise<IdRange> {
    const held = this.slotOfTask.get(taskId);
    if (held !== undefined) return idRangeOfSlot(held);
    const start = randomInt(ID_RANGE_SLOTS);
    for (let tried = 0; tried < ID_RANGE_SLOTS; tried++) {
      const slot = (start + tried) % ID_RANGE_SLOTS;
      if (this.taskOfSlot.has(slot) || !this.claim(slot, taskId)) continue;
      // Held before the first await, so a concurrent acquire for the same task finds it.
      this.hold(taskId, slot);
      await mkdir(join(this.tasksRoot, taskId), { recursive: true });
      await writeFile(join(this.tasksRoot, taskId, FILE), `${slot}\n`);
      return idRangeOfSlot(slot);
    }
    throw new Error(`no free user namespace range: all ${ID_RANGE_SLOTS} are held on this host`);
  }

  /** The range a task holds, if any (after an agent restart, as recorded in its directory). */
  held(taskId: string): IdRange | undefined {
    const slot = this.slotOfTask.get(taskId);
    return slot === undefined ? undefined : idRangeOfSlot(slot);
  }

  /** Call once the task has no process left: its range may then go to another task. */
  release(taskId: string): void {
    const slot = this.slotOfTask.get(taskId);
    if (slot === undefined) return;
    this.slotOfTask.delete(taskId);
    this.taskOfSlot.delete(slot);
    if (this.claim(slot, taskId)) rmSync(join(this.claimsDir, String(slot)), { force: true });
  }
}
