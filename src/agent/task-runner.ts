// One TaskRunner per task: the only writer of that task's state, one change at a time.
//
//   PROVISIONING ──network namespace──▶ PENDING ──pull──▶ ACTIVATING ──rootfs, containers in dependsOn order──▶ RUNNING
//                  (plugged into the subnet meanwhile; no container starts before that is done)
//        │                      │                   │                                                   │
//        └──────── any failure (TaskFailedToStart) or stop request ───────────────────────────┬─────────┘
//                                                                                              ▼
//   STOPPED ◀──stoppedAt── DEPROVISIONING ◀──remove containers, rootfs, network── STOPPING ◀── DEACTIVATING
//                                              (stop signal in reverse dependency order, SIGKILL after stopTimeout)
//
// Containers: NONE → PULLED → CREATED → RUNNING → STOPPED. Every step is idempotent and recorded
// before and after it runs, so after an agent restart the same driver replays from saved state
// (reconcile): finished steps are skipped, running containers are re-attached.
//
// The runner drives; its parts do one job each: task-state-cell.ts (the serial writer of the
// record), dependency-order.ts (dependsOn), health-checker.ts, task-log-shipping.ts.
import type { Clock } from "../core/clock.js";
import type { TaskSpec, TaskStatusReport, TaskStopCode } from "../protocol/index.js";
import { maxStopTimeoutMs } from "../protocol/index.js";
import { conditionVerdict, remainingStartTimeoutMs, startOrder } from "./dependency-order.js";
import { TaskStartError, describeError, oomExitCode, oomReason } from "./errors.js";
import { runHealthChecks } from "./health-checker.js";
import type { ContainerExit, ImagePort, LogSink, NetworkPort, RuntimePort, TaskStateReporter } from "./ports.js";
import type { ContainerRecord, TaskRecord } from "./task-record.js";
import { Detached, TaskStateCell, lifecycleIndex } from "./task-state-cell.js";
import { shipTaskContainerLogs } from "./task-log-shipping.js";
import { retryCleanup } from "./cleanup-retry.js";
import { fetchTaskSecrets, secretEnvironment } from "./task-secrets-fetch.js";
import type { ResolvedSecrets, TaskSecretsPort } from "./task-secrets-fetch.js";

export { newTaskRecord } from "./task-record.js";
export type { ContainerPhase, ContainerRecord, TaskRecord } from "./task-record.js";

export interface TaskRunnerParts {
  readonly images: ImagePort;
  readonly runtime: RuntimePort;
  readonly networks: NetworkPort;
  readonly logSink: LogSink;
  readonly reporter: TaskStateReporter;
  readonly clock: Clock;
  readonly persist: (record: TaskRecord) => Promise<void>;
  readonly onError: (error: unknown, what: string) => void;
  /** How often log shipping polls the runtime's log files. */
  readonly logPollMs?: number;
  /** Where a task's secrets come from (the control plane); absent: a task that names one fails to start. */
  readonly secrets?: TaskSecretsPort;
}

const networkError = (error: unknown) =>
  new TaskStartError("ResourceInitializationError", `failed to set up the task network: ${describeError(error)}`, { cause: error });

export class TaskRunner {
  private readonly cell: TaskStateCell;
  private readonly record: TaskRecord;
  private readonly watched = new Set<string>();
  /** Exit watchers and log shipping: awaited before the task's resources go. */
  private readonly background: Promise<void>[] = [];
  /** Log reads in flight: detach() waits for them, so no read outlives the agent that started it. */
  private readonly reads = new Set<Promise<unknown>>();
  /**
   * Health checks: not awaited by detach(), since a check may run for its whole timeout (up to
   * 60 s) and its verdict is refused by the detached cell anyway.
   */
  private readonly healthChecks: Promise<void>[] = [];
  private driver: Promise<void> | undefined;
  /** Plugging the task's namespace into its subnet, alongside the pull and container creation. */
  private connecting: Promise<void> | undefined;
  /** Why plugging in failed, once it has: the start stops at its next step instead of going on. */
  private connectFailure: Error | undefined;
  /** The task's secrets, once asked for: memory only, never in the record. */
  private secrets: Promise<ResolvedSecrets> | undefined;

  constructor(
    record: TaskRecord,
    private readonly parts: TaskRunnerParts,
  ) {
    this.cell = new TaskStateCell(record, parts);
    this.record = record;
  }

  private get definitions() {
    return this.cell.definitions;
  }

  get taskArn(): string {
    return this.record.spec.taskArn;
  }

  get spec(): TaskSpec {
    return this.record.spec;
  }

  /** Runs (or, after a restart, resumes) the task's state machine; resolves once STOPPED. */
  run(): Promise<void> {
    this.driver ??= this.drive();
    return this.driver;
  }

  describe(): TaskStatusReport {
    return this.cell.describe();
  }

  /**
   * Stops every action of this runner without touching the containers (agent shutdown), and
   * resolves once the log reads it started have ended, so the agent closes its state with none
   * of them still running. A sink write in flight is not waited for (it may hang on an
   * unreachable control plane); its offset is not saved, so the next agent sends those lines again
   * and the control plane drops what it already stored.
   */
  async detach(): Promise<void> {
    this.cell.detach();
    await Promise.allSettled([...this.reads]);
  }

  /** The runtime's log reads, counted in `reads` while they run. */
  private readonly trackedLogReads: Pick<RuntimePort, "readLogs"> = {
    readLogs: (runtimeId, offset, options) => {
      const read = this.parts.runtime.readLogs(runtimeId, offset, options);
      this.reads.add(read);
      const done = () => void this.reads.delete(read);
      read.then(done, done);
      return read;
    },
  };

  private get detached(): boolean {
    return this.cell.detached;
  }

  /** Asks the task to stop; the first reason wins (ECS keeps the first stoppedReason). */
  stop(reason: string, stopCode: TaskStopCode): Promise<void> {
    return this.cell.change((r) => {
      if (r.desiredStatus === "STOPPED") return;
      r.desiredStatus = "STOPPED";
      r.stopCode ??= stopCode;
      r.stoppedReason ??= reason;
    });
  }

  // --- the driver -----------------------------------------------------------------------------

  private async drive(): Promise<void> {
    try {
      await this.reattach();
      if (lifecycleIndex(this.record.lastStatus) <= lifecycleIndex("RUNNING")) {
        try {
          await this.startPhase();
        } catch (error) {
          if (error instanceof Detached) throw error;
          await this.failStart(error);
        }
        if (this.record.desiredStatus === "RUNNING") await this.waitFor(() => this.record.desiredStatus === "STOPPED" || this.detached);
      }
      this.throwIfDetached();
      await this.stopPhase();
    } catch (error) {
      // Detached: the next agent resumes from the saved record; anything else is the caller's.
      if (!(error instanceof Detached)) throw error;
    } finally {
      if (!this.detached) await Promise.allSettled([...this.background, ...this.healthChecks]);
    }
  }

  /** A failed connect ends the start at the next step (not after every pull and create). */
  private throwIfConnectFailed(): void {
    if (this.connectFailure) throw this.connectFailure;
  }

  private throwIfDetached(): void {
    this.cell.throwIfDetached();
  }

  /**
   * After a restart: containers that run are re-attached; exits that happened meanwhile are
   * collected and their remaining log lines shipped; a container started just before the crash
   * (recorded CREATED) is recognised as running.
   */
  private async reattach(): Promise<void> {
    for (const c of this.record.containers) {
      if (!c.runtimeId) continue;
      if (c.phase === "RUNNING" || c.phase === "CREATED") {
        const state = await this.parts.runtime.state(c.runtimeId);
        if (state.kind === "created") continue; // startContainer starts it
        if (state.kind === "missing" && c.phase === "CREATED") {
          // Its creation never finished: create it again (create cleans up what is left).
          await this.mutateContainer(c.name, (rc) => {
            rc.phase = "PULLED";
          });
          continue;
        }
        if (state.kind === "running") {
          if (c.phase === "CREATED") {
            await this.mutateContainer(c.name, (rc) => {
              rc.phase = "RUNNING";
            });
          }
          this.watch(c);
          continue;
        }
        await this.recordExit(c.name, state.kind === "exited" ? state.exit : { exitCode: oomExitCode, oomKilled: false }, state.kind === "missing");
        this.shipRemainingLogs(c);
      } else if (c.phase === "STOPPED" && !c.logsShipped) {
        this.shipRemainingLogs(c);
      }
    }
  }

  /** The final log pass of a container that exited while no agent watched it. */
  private shipRemainingLogs(c: ContainerRecord): void {
    if (this.watched.has(c.name) || !c.runtimeId) return;
    this.watched.add(c.name);
    this.background.push(this.shipLogs(c.name, c.runtimeId, AbortSignal.abort()));
  }

  private async startPhase(): Promise<void> {
    const r = this.record;
    const { spec } = r;
    const stopped = () => r.desiredStatus === "STOPPED";

    // The task's storage (ext4 mkfs + mount) and cgroups need nothing from the network or the
    // pull, so they are made while those run; recorded first so a stop or crash cleans them up.
    let storage: Promise<void> | undefined;
    if (!r.rootfsPrepared) {
      if (!r.storageRequested) {
        await this.mutate((rec) => {
          rec.storageRequested = true;
        }, false);
      }
      storage = this.parts.runtime.prepareTask(spec);
      storage.catch(() => undefined); // awaited (and reported) at ACTIVATING
    }
    try {
      try {
        await this.networkPullAndStorage(storage);
      } finally {
        // Never leave preparation running behind a failure: cleanup must not race it.
        await storage?.catch(() => undefined);
      }
      if (stopped()) return;

      for (const name of startOrder(spec.taskDefinition.containerDefinitions ?? [])) {
        const c = this.container(name);
        if (c.phase === "RUNNING" || c.phase === "STOPPED") continue;
        const ready = await this.waitForDependencies(name);
        if (!ready || stopped()) return;
        await this.startContainer(c);
        if (stopped()) return;
      }
    } finally {
      // Nor the network being plugged in: teardown must not race it either.
      await this.connecting?.catch(() => undefined);
    }
    // Usually already done with the last container's start (see markRunningIfStarted); this covers
    // a task whose containers were all running before (a resumed start).
    if (this.record.desiredStatus === "RUNNING" && lifecycleIndex(this.record.lastStatus) < lifecycleIndex("RUNNING")) {
      await this.mutate((rec) => this.markRunningIfStarted(rec));
    }
  }

  /**
   * The task is RUNNING once every container has started (those that already exited count). Set
   * in the same change as the last container's start, so the control plane hears of both at once.
   */
  private markRunningIfStarted(rec: TaskRecord): void {
    if (rec.desiredStatus !== "RUNNING" || lifecycleIndex(rec.lastStatus) >= lifecycleIndex("RUNNING")) return;
    if (!rec.containers.every((c) => c.phase === "RUNNING" || c.phase === "STOPPED")) return;
    rec.lastStatus = "RUNNING";
    rec.startedAtMs ??= this.parts.clock.now();
  }

  /** PROVISIONING (network) → PENDING (pull) → ACTIVATING (storage ready). */
  private async networkPullAndStorage(storage: Promise<void> | undefined): Promise<void> {
    const r = this.record;
    const { spec } = r;
    const stopped = () => r.desiredStatus === "STOPPED";
    if (!r.network) {
      try {
        // The network namespace belongs to the task's user namespace, which maps the task's id range.
        const ids = await this.parts.runtime.idRange(spec.taskId);
        const network = await this.parts.networks.reserve(spec.taskId, spec.network, ids);
        await this.mutate((rec) => {
          rec.network = network;
          rec.networkConnected = false;
        });
      } catch (error) {
        throw networkError(error);
      }
    }
    if (r.networkConnected === false && !this.connecting) {
      this.connecting = this.connectNetwork();
      this.connecting.catch(() => undefined); // awaited before the first container starts
    }
    await this.advance("PENDING");
    if (stopped()) return;

    if (r.containers.some((c) => c.phase === "NONE")) {
      await this.mutate((rec) => {
        rec.pullStartedAtMs ??= this.parts.clock.now();
      });
      const secrets = await this.taskSecrets(); // before the pulls: a private registry's credentials are among them
      for (const c of r.containers) {
        if (c.phase !== "NONE") continue;
        this.throwIfConnectFailed();
        const definition = this.definitions.get(c.name);
        const image = definition?.image ?? "";
        try {
          const pulled = await this.parts.images.pull(image, {
            platform: spec.platform,
            policy: spec.pullPolicy,
            credentials: spec.credentials,
            ...(secrets.get(c.name)?.repositoryCredentials ? { registryCredentials: secrets.get(c.name)?.repositoryCredentials } : {}),
          });
          await this.mutateContainer(c.name, (rc) => {
            rc.phase = "PULLED";
            rc.imageDigest = pulled.digest;
            rc.stopSignal = pulled.stopSignal;
          });
        } catch (error) {
          await this.mutateContainer(c.name, (rc) => {
            rc.reason = `CannotPullContainerError: ${describeError(error)}`;
          });
          throw new TaskStartError(
            "CannotPullContainerError",
            `pull image manifest has been retried 1 time(s): failed to resolve ref ${image}: ${describeError(error)}`,
            { cause: error },
          );
        }
        if (stopped()) return;
      }
      await this.mutate((rec) => {
        rec.pullStoppedAtMs ??= this.parts.clock.now();
      });
    }
    await this.advance("ACTIVATING");
    if (!r.rootfsPrepared) {
      try {
        await storage;
      } catch (error) {
        throw new TaskStartError("ResourceInitializationError", `failed to prepare the task's ephemeral storage: ${describeError(error)}`, { cause: error });
      }
      await this.mutate((rec) => {
        rec.rootfsPrepared = true;
      });
    }
  }

  /** Plugs the reserved namespace into its subnet; TaskStartError when that fails. */
  private async connectNetwork(): Promise<void> {
    try {
      await this.parts.networks.connect(this.record.spec.taskId);
    } catch (error) {
      this.connectFailure = networkError(error);
      throw this.connectFailure;
    }
    await this.mutate((rec) => {
      rec.networkConnected = true;
      rec.connectivityAtMs ??= this.parts.clock.now();
    });
  }

  /** Waits until every dependsOn condition holds; false when the task is stopping instead. */
  private async waitForDependencies(name: string): Promise<boolean> {
    for (const dep of this.definitions.get(name)?.dependsOn ?? []) {
      const verdict = () => conditionVerdict(dep.condition, this.container(dep.containerName ?? ""));
      const remainingMs = remainingStartTimeoutMs(
        this.definitions.get(dep.containerName ?? ""),
        this.container(dep.containerName ?? "").startedAtMs,
        this.parts.clock.now(),
      );
      const inTime = await this.waitFor(() => verdict() !== "not-yet" || this.record.desiredStatus === "STOPPED", remainingMs);
      if (this.record.desiredStatus === "STOPPED") return false;
      if (!inTime) {
        const startTimeoutS = this.definitions.get(dep.containerName ?? "")?.startTimeout;
        throw new TaskStartError(
          "CannotStartContainerError",
          `dependency ${dep.containerName} of container ${name} did not reach condition ${dep.condition} within its startTimeout of ${startTimeoutS} s`,
        );
      }
      if (verdict() === "never") {
        throw new TaskStartError("CannotStartContainerError", `dependency ${dep.containerName} of container ${name} did not reach condition ${dep.condition}`);
      }
    }
    return true;
  }

  private async startContainer(c: ContainerRecord): Promise<void> {
    const { spec, network } = this.record;
    const definition = this.definitions.get(c.name);
    if (!definition || !network) throw new Error(`internal: container ${c.name} has no definition or network`);
    this.throwIfConnectFailed();
    const secrets = c.phase === "PULLED" ? (await this.taskSecrets()).get(c.name) : undefined;
    try {
      if (c.phase === "PULLED") {
        // Saved before create: a create that fails half way (or an agent crash during it) leaves
        // conmon and files that the stop phase must find to remove.
        if (!c.runtimeId) {
          const intended = this.parts.runtime.runtimeIdOf(spec.taskId, c.name);
          await this.mutateContainer(
            c.name,
            (rc) => {
              rc.runtimeId = intended;
            },
            false,
          );
        }
        const created = { taskId: spec.taskId, spec, container: definition, imageDigest: c.imageDigest ?? "", network, secretEnv: secretEnvironment(secrets) };
        const { runtimeId } = await this.parts.runtime.create(created);
        await this.mutateContainer(c.name, (rc) => {
          rc.runtimeId = runtimeId;
          rc.phase = "CREATED";
        });
      }
    } catch (error) {
      throw await this.cannotStart(c.name, error);
    }
    // Created while the network was being plugged in; no container starts before it is.
    await this.connecting;
    this.throwIfDetached(); // the agent may have let go of the task meanwhile: it must not start it
    try {
      await this.parts.runtime.start(c.runtimeId ?? "");
    } catch (error) {
      throw await this.cannotStart(c.name, error);
    }
    await this.mutate((rec) => {
      const rc = this.container(c.name);
      rc.phase = "RUNNING";
      rc.startedAtMs ??= this.parts.clock.now();
      this.markRunningIfStarted(rec);
    });
    this.watch(c);
  }

  /** Records why the container could not be created or started; the error to fail the task with. */
  private async cannotStart(name: string, error: unknown): Promise<Error> {
    if (error instanceof Detached) return error;
    await this.mutateContainer(name, (rc) => {
      rc.reason = `CannotStartContainerError: ${describeError(error)}`;
    });
    return new TaskStartError("CannotStartContainerError", describeError(error), { cause: error });
  }

  /** Exit watcher, health checks and log shipping for one running container. */
  private watch(c: ContainerRecord): void {
    if (this.watched.has(c.name) || !c.runtimeId) return;
    this.watched.add(c.name);
    const runtimeId = c.runtimeId;
    const exited = new AbortController();
    const exit = this.parts.runtime
      .waitExit(runtimeId, this.cell.detachedSignal)
      .then((result) => this.recordExit(c.name, result, false))
      .catch((error: unknown) => {
        if (!(error instanceof Detached)) this.parts.onError(error, `waiting for container ${c.name}`);
      });
    this.background.push(
      exit.finally(() => exited.abort()),
      this.shipLogs(c.name, runtimeId, exited.signal),
    );
    const check = this.definitions.get(c.name)?.healthCheck;
    if (check?.command?.length) {
      this.healthChecks.push(
        runHealthChecks({
          cell: this.cell,
          runtime: this.parts.runtime,
          clock: this.parts.clock,
          containerName: c.name,
          runtimeId,
          check,
          exited: exited.signal,
        }).catch((error: unknown) => {
          if (!(error instanceof Detached)) this.parts.onError(error, `health checks of container ${c.name}`);
        }),
      );
    }
  }

  private async recordExit(name: string, exit: ContainerExit, missing: boolean): Promise<void> {
    await this.mutateContainer(name, (rc) => {
      if (rc.phase === "STOPPED") return;
      rc.phase = "STOPPED";
      rc.exitCode = exit.oomKilled ? oomExitCode : exit.exitCode;
      if (exit.oomKilled) rc.reason = oomReason;
      else if (missing) rc.reason = "The container disappeared while the agent was down";
    });
    if (this.essential(name) && this.record.desiredStatus === "RUNNING") {
      await this.stop("Essential container in task exited", "EssentialContainerExited");
    }
  }

  /** Ships log lines until the container exited and every line is acknowledged (task-log-shipping.ts). */
  private shipLogs(name: string, runtimeId: string, exited: AbortSignal): Promise<void> {
    const { logSink: sink, clock, onError } = this.parts;
    return shipTaskContainerLogs(
      this.cell,
      { runtime: this.trackedLogReads, sink, clock, onError, pollMs: this.parts.logPollMs ?? 250 },
      name,
      runtimeId,
      exited,
    );
  }

  private async failStart(error: unknown): Promise<void> {
    this.parts.onError(error, `starting task ${this.record.spec.taskId}`);
    await this.stop(describeError(error), "TaskFailedToStart");
  }

  private async stopPhase(): Promise<void> {
    const r = this.record;
    if (lifecycleIndex(r.lastStatus) < lifecycleIndex("DEACTIVATING")) await this.advance("DEACTIVATING");
    if (lifecycleIndex(r.lastStatus) < lifecycleIndex("STOPPING")) {
      await this.mutate((rec) => {
        rec.lastStatus = "STOPPING";
        rec.stoppingAtMs ??= this.parts.clock.now();
      });
    }
    if (r.lastStatus === "STOPPING") {
      const order = startOrder(r.spec.taskDefinition.containerDefinitions ?? []).reverse();
      for (const name of order) await this.stopContainer(name);
      await this.mutate((rec) => {
        rec.executionStoppedAtMs ??= this.parts.clock.now();
        rec.lastStatus = "DEPROVISIONING";
      });
    }
    // Log shipping ends only once every line is acknowledged: the logs go with the containers.
    await Promise.allSettled([...this.background, ...this.healthChecks]);
    this.throwIfDetached();
    for (const c of r.containers) {
      const runtimeId = c.runtimeId;
      if (runtimeId) await this.cleanup(`removing container ${c.name}`, () => this.parts.runtime.remove(runtimeId));
    }
    if (r.rootfsPrepared || r.storageRequested)
      await this.cleanup("removing the task's storage and cgroups", () => this.parts.runtime.removeTask(r.spec.taskId));
    await this.cleanup("removing the task's network", () => this.parts.networks.teardown(r.spec.taskId));
    await this.mutate((rec) => {
      rec.rootfsPrepared = false;
      rec.storageRequested = false;
      rec.lastStatus = "STOPPED";
      rec.stoppedAtMs ??= this.parts.clock.now();
    });
  }

  /** A cleanup step, retried until it succeeds (cleanup-retry.ts). */
  private async cleanup(what: string, action: () => Promise<void>): Promise<void> {
    if ((await retryCleanup(this.parts, this.cell.detachedSignal, what, action)).stopped) this.throwIfDetached();
  }

  /** The task's secrets, asked for once per runner and held in memory only (task-secrets-fetch.ts). */
  private taskSecrets(): Promise<ResolvedSecrets> {
    this.secrets ??= fetchTaskSecrets(this.record.spec, this.parts.secrets);
    return this.secrets;
  }

  /** Stop signal, then SIGKILL after the container's stopTimeout (default from the spec, max 120 s). */
  private async stopContainer(name: string): Promise<void> {
    const c = this.container(name);
    if (c.phase === "CREATED" || c.phase === "PULLED" || c.phase === "NONE") {
      await this.mutateContainer(name, (rc) => {
        rc.phase = "STOPPED";
      });
      return;
    }
    if (c.phase !== "RUNNING" || !c.runtimeId) return;
    const runtimeId = c.runtimeId;
    const definition = this.definitions.get(name);
    const timeoutMs = Math.min(definition?.stopTimeout !== undefined ? definition.stopTimeout * 1000 : this.record.spec.stopTimeoutMs, maxStopTimeoutMs);
    await this.parts.runtime.kill(runtimeId, c.stopSignal ?? "SIGTERM").catch((e: unknown) => this.parts.onError(e, `signalling ${name}`));
    const stoppedInTime = await this.waitFor(() => this.container(name).phase === "STOPPED", timeoutMs);
    if (!stoppedInTime) {
      await this.parts.runtime.kill(runtimeId, "SIGKILL").catch((e: unknown) => this.parts.onError(e, `killing ${name}`));
      const exit = await this.parts.runtime.waitExit(runtimeId, this.cell.detachedSignal);
      await this.recordExit(name, exit, false);
    }
  }

  // --- state changes, through the task's state cell ------------------------------------------------

  private advance(status: TaskRecord["lastStatus"]): Promise<void> {
    return this.cell.advance(status);
  }

  private mutateContainer(name: string, change: (c: ContainerRecord) => void, report = true): Promise<void> {
    return this.cell.changeContainer(name, change, report);
  }

  private mutate(change: (r: TaskRecord) => void, report = true): Promise<void> {
    return this.cell.change(change, report);
  }

  private waitFor(condition: () => boolean, timeoutMs?: number): Promise<boolean> {
    return this.cell.waitFor(condition, timeoutMs);
  }

  private container(name: string): ContainerRecord {
    return this.cell.container(name);
  }

  private essential(name: string): boolean {
    return this.definitions.get(name)?.essential ?? true;
  }
}
