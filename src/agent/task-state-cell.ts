// The one place a task's record changes (DESIGN.md rule 3, one owner per task): every change goes
// through one serial queue that applies it, bumps the sequence, persists the record, wakes whoever
// waits on a condition, then reports the new state (at-least-once). The task runner, its health
// checks and its log shipping all write through the same cell, so their changes never interleave.
//
// Detaching (agent shutdown) stops the cell: a change queued after it is refused with Detached,
// and every wait ends with it, so nothing more is written for a task the next agent will resume.
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import type { Clock } from "../core/clock.js";
import type { TaskLastStatus, TaskStatusReport } from "../protocol/index.js";
import { taskLifecycle } from "../protocol/index.js";
import type { TaskStateReporter } from "./ports.js";
import type { ContainerRecord, TaskRecord } from "./task-record.js";
import { describeTask } from "./task-record.js";

/** Thrown out of every step once the runner is detached (agent shutdown): nothing more is done. */
export class Detached extends Error {}

export const lifecycleIndex = (status: TaskLastStatus): number => taskLifecycle.indexOf(status);

export interface TaskStateCellParts {
  readonly reporter: TaskStateReporter;
  readonly clock: Clock;
  readonly persist: (record: TaskRecord) => Promise<void>;
  readonly onError: (error: unknown, what: string) => void;
}

export class TaskStateCell {
  private queue: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];
  /** Aborted by detach(): nothing more is written; containers keep running. */
  private readonly detachment = new AbortController();
  readonly definitions: ReadonlyMap<string, ContainerDefinition>;

  constructor(
    /** Read freely; changed only through change()/changeContainer(). */
    readonly record: TaskRecord,
    private readonly parts: TaskStateCellParts,
  ) {
    this.definitions = new Map((record.spec.taskDefinition.containerDefinitions ?? []).map((c) => [c.name ?? "", c]));
  }

  /** Aborted with a Detached once the agent lets go of the task, so every wait it ends ends as "detached". */
  get detachedSignal(): AbortSignal {
    return this.detachment.signal;
  }

  get detached(): boolean {
    return this.detachment.signal.aborted;
  }

  detach(): void {
    this.detachment.abort(new Detached("the agent detached from this task"));
    // Wake every waitFor so its caller notices and ends instead of waiting forever.
    this.wakeAll();
  }

  throwIfDetached(): void {
    if (this.detached) throw new Detached("the agent detached from this task");
  }

  describe(): TaskStatusReport {
    return describeTask(this.record, this.definitions);
  }

  container(name: string): ContainerRecord {
    const c = this.record.containers.find((x) => x.name === name);
    if (!c) throw new Error(`internal: unknown container ${name}`);
    return c;
  }

  /** The serial queue: one change at a time, persisted, then reported unless `report` is false. */
  change(apply: (r: TaskRecord) => void, report = true): Promise<void> {
    const next = this.queue.then(async () => {
      this.throwIfDetached();
      apply(this.record);
      this.record.sequence += 1;
      await this.parts.persist(this.record);
      this.wakeAll();
      if (report) await this.parts.reporter.report(this.describe()).catch((e: unknown) => this.parts.onError(e, "reporting task state"));
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  changeContainer(name: string, apply: (c: ContainerRecord) => void, report = true): Promise<void> {
    return this.change(() => apply(this.container(name)), report);
  }

  /** Moves the task forward to `status`; never back. */
  advance(status: TaskLastStatus): Promise<void> {
    return this.change((rec) => {
      if (lifecycleIndex(rec.lastStatus) < lifecycleIndex(status)) rec.lastStatus = status;
    });
  }

  /** Resolves true once `condition` holds (re-checked after every change), false on timeout; Detached once detached. */
  async waitFor(condition: () => boolean, timeoutMs?: number): Promise<boolean> {
    const timeout = new AbortController();
    let timedOut = false;
    if (timeoutMs !== undefined) {
      this.parts.clock.sleep(timeoutMs, timeout.signal).then(
        () => {
          timedOut = true;
          this.wakeAll();
        },
        () => undefined,
      );
    }
    try {
      while (!condition()) {
        this.throwIfDetached();
        if (timedOut) return false;
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
      return true;
    } finally {
      timeout.abort();
    }
  }

  private wakeAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
