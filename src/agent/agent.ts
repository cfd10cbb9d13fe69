// The Agent façade: owns one TaskRunner per task and the durable state directory. On start it
// loads every saved task and resumes its runner (reconcile: re-attach, collect exits, resume logs
// from saved offsets, continue the state machine).
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { TaskSpec, TaskStatusReport, TaskStopCode } from "../protocol/index.js";
import { SqliteStateStore } from "./sqlite-state.js";
import type { ImagePort, LogSink, NetworkPort, RuntimePort, TaskStateReporter } from "./ports.js";
import { TaskRunner, newTaskRecord } from "./task-runner.js";
import type { TaskRecord } from "./task-runner.js";
import type { TaskSecretsPort } from "./task-secrets-fetch.js";

export interface AgentParts {
  readonly stateDir: string;
  readonly images: ImagePort;
  readonly runtime: RuntimePort;
  readonly networks: NetworkPort;
  readonly logSink: LogSink;
  readonly reporter: TaskStateReporter;
  readonly clock: Clock;
  readonly logger: Pick<Logger, "error" | "info">;
  readonly logPollMs?: number;
  /** Where tasks' secrets come from (the control plane's `secrets` call); absent: a task naming one fails to start. */
  readonly secrets?: TaskSecretsPort;
}

export interface Agent {
  /** Loads saved tasks and resumes them; call once before anything else. */
  start(): Promise<void>;
  /** Idempotent per taskArn: a known task answers its current state. */
  runTask(spec: TaskSpec): Promise<TaskStatusReport>;
  stopTask(taskArn: string, reason: string, stopCode: TaskStopCode): Promise<TaskStatusReport | undefined>;
  describe(taskArn: string): TaskStatusReport | undefined;
  /** The spec of a task this agent runs or ran, by task id (the log sink needs its log configuration). */
  specOf(taskId: string): TaskSpec | undefined;
  list(): TaskStatusReport[];
  /** Resolves when the task reached STOPPED and released every resource. */
  whenStopped(taskArn: string): Promise<void>;
  /**
   * Deletes a STOPPED task's record (its report delivered and every resource released): the
   * agent's state does not grow forever. False (and nothing done) for a task not yet STOPPED.
   */
  forget(taskArn: string): Promise<boolean>;
  /** Stops accepting work; running containers keep running under conmon (they outlive the agent). */
  close(): Promise<void>;
}

export function createAgent(parts: AgentParts): Agent {
  const state = new SqliteStateStore<TaskRecord>(parts.stateDir);
  const runners = new Map<string, TaskRunner>();
  const finished = new Map<string, Promise<void>>();
  let closed = false;
  const pendingWrites = new Set<Promise<void>>();
  const persist = (record: TaskRecord): Promise<void> => {
    if (closed) return Promise.resolve();
    const write = state.write(keyOf(record.spec.taskArn), record);
    pendingWrites.add(write);
    return write.finally(() => pendingWrites.delete(write));
  };
  const keyOf = (taskArn: string) => taskArn.slice(taskArn.lastIndexOf("/") + 1).replace(/[^A-Za-z0-9_-]/g, "_");

  const launch = (record: TaskRecord): TaskRunner => {
    const runner = new TaskRunner(record, {
      images: parts.images,
      runtime: parts.runtime,
      networks: parts.networks,
      logSink: parts.logSink,
      reporter: parts.reporter,
      clock: parts.clock,
      logPollMs: parts.logPollMs,
      ...(parts.secrets ? { secrets: parts.secrets } : {}),
      persist,
      onError: (error, what) => parts.logger.error({ err: error, taskArn: record.spec.taskArn }, what),
    });
    runners.set(record.spec.taskArn, runner);
    finished.set(
      record.spec.taskArn,
      runner.run().catch((error: unknown) => parts.logger.error({ err: error, taskArn: record.spec.taskArn }, "task runner failed")),
    );
    return runner;
  };

  return {
    async start() {
      for (const record of await state.readAll()) {
        if (!runners.has(record.spec.taskArn)) launch(record);
      }
      parts.logger.info({ tasks: runners.size }, "agent started");
    },
    async runTask(spec) {
      if (closed) throw new Error("agent is closed");
      const existing = runners.get(spec.taskArn);
      if (existing) return existing.describe();
      const record = newTaskRecord(spec);
      await persist(record);
      return launch(record).describe();
    },
    async stopTask(taskArn, reason, stopCode) {
      const runner = runners.get(taskArn);
      if (!runner) return undefined;
      await runner.stop(reason, stopCode);
      return runner.describe();
    },
    describe: (taskArn) => runners.get(taskArn)?.describe(),
    specOf: (taskId) => [...runners.values()].find((runner) => runner.spec.taskId === taskId)?.spec,
    list: () => [...runners.values()].map((r) => r.describe()),
    whenStopped: (taskArn) => finished.get(taskArn) ?? Promise.resolve(),
    async forget(taskArn) {
      const runner = runners.get(taskArn);
      if (!runner || runner.describe().lastStatus !== "STOPPED") return false;
      await finished.get(taskArn);
      runners.delete(taskArn);
      finished.delete(taskArn);
      if (!closed) await state.remove(keyOf(taskArn));
      return true;
    },
    async close() {
      closed = true;
      // Each runner lets go of its task and its log reads and exit watches end; only then is the
      // state closed, so nothing reads a log or saves an offset into a closed agent.
      await Promise.allSettled([...runners.values()].map((runner) => runner.detach()));
      await Promise.allSettled([...pendingWrites]);
      state.close();
    },
  };
}
