// Fakes for the agent's ports (tests only). Each implements the real port interface with
// in-memory behaviour: containers that run, exit, trap signals and write log lines.
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import type { Clock } from "../../src/core/clock.js";
import { idRangeOfSlot } from "../../src/core/id-range.js";
import type { IdRange } from "../../src/core/id-range.js";
import type {
  ContainerExit,
  ContainerState,
  ImagePort,
  LogChunk,
  LogEvent,
  LogSink,
  NetworkPort,
  PulledImageInfo,
  RuntimePort,
  TaskNetworkInfo,
  TaskStateReporter,
} from "../../src/agent/index.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TaskSpec, TaskStatusReport } from "../../src/protocol/index.js";
import { waitFor } from "./wait-for.js";

export class FakeClock implements Clock {
  private current = 1_700_000_000_000;
  private timers: { at: number; fire: () => void }[] = [];
  now(): number {
    return this.current;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal?.reason);
      };
      const timer = {
        at: this.current + ms,
        fire: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.timers.push(timer);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
  /** Moves time forward step by step, letting promises settle between timers. */
  async advance(ms: number, stepMs = 500): Promise<void> {
    const end = this.current + ms;
    while (this.current < end) {
      this.current = Math.min(end, this.current + stepMs);
      const due = this.timers.filter((t) => t.at <= this.current);
      this.timers = this.timers.filter((t) => t.at > this.current);
      for (const t of due) t.fire();
      await settle();
    }
  }
}

/** Lets pending promises and the state files' fs work finish (real time, a few ms). */
export async function settle(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 2));
}

/** Waits (real time) until `condition` holds; fails after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(condition, { what, timeoutMs, intervalMs: 2 });
}

export class FakeImages implements ImagePort {
  readonly missing = new Set<string>();
  /** Every pull's image and the private-registry credential reference it was given. */
  readonly pulls: { image: string; registryCredentials?: { username: string; password: string } }[] = [];
  /** Test control: every pull waits for this (a slow registry). */
  gate: Promise<void> = Promise.resolve();
  async pull(image: string, options?: Parameters<ImagePort["pull"]>[1]): Promise<PulledImageInfo> {
    this.pulls.push({ image, ...(options?.registryCredentials ? { registryCredentials: options.registryCredentials } : {}) });
    await this.gate;
    if (this.missing.has(image)) throw new Error(`${image}: not found`);
    return { digest: `sha256:${Buffer.from(image).toString("hex").padEnd(64, "0").slice(0, 64)}` };
  }
}

export class FakeNetworks implements NetworkPort {
  readonly live = new Map<string, TaskNetworkInfo>();
  readonly connected = new Set<string>();
  /** Test control: connect waits for this, then fails with connectError when set. */
  connectGate: Promise<void> = Promise.resolve();
  connectError: Error | undefined;
  async reserve(taskId: string): Promise<TaskNetworkInfo> {
    const existing = this.live.get(taskId);
    if (existing) return existing;
    const n = this.live.size + 2;
    const info = {
      netnsPath: `/run/netns/bth-${taskId}`,
      userNamespacePath: `/run/berth/userns/bth-${taskId}`,
      ipv4: `10.0.0.${n}`,
      macAddress: `0a:00:00:00:00:${n.toString(16).padStart(2, "0")}`,
      eniId: `eni-${taskId}`,
      privateDnsName: `ip-10-0-0-${n}.ec2.internal`,
    };
    this.live.set(taskId, info);
    return info;
  }
  async connect(taskId: string): Promise<void> {
    if (!this.live.has(taskId)) throw new Error(`task ${taskId} has no reserved network`);
    await this.connectGate;
    if (this.connectError) throw this.connectError;
    this.connected.add(taskId);
  }
  async teardown(taskId: string): Promise<void> {
    this.live.delete(taskId);
    this.connected.delete(taskId);
  }
}

/** How a fake container behaves, keyed by container name. */
export interface FakeBehaviour {
  trapsTerm?: boolean;
  healthy?: boolean;
  failStart?: boolean;
}

interface FakeContainer {
  name: string;
  running: boolean;
  started: boolean;
  exit?: ContainerExit;
  exitWaiters: ((e: ContainerExit) => void)[];
  logs: LogEvent[];
  behaviour: FakeBehaviour;
}

export class FakeRuntime implements RuntimePort {
  readonly containers = new Map<string, FakeContainer>();
  readonly rootfs = new Set<string>();
  /** Container names in the order they started and exited. */
  readonly startOrder: string[] = [];
  readonly exitOrder: string[] = [];
  readonly signals: string[] = [];
  /** Each container's secret environment, as its (last) create was given it. */
  readonly secretEnvs = new Map<string, Readonly<Record<string, string>>>();
  /** Exit waits in progress (an agent that closed must leave none). */
  pendingWaits = 0;
  private readonly idSlots = new Map<string, number>();
  constructor(readonly behaviours: Record<string, FakeBehaviour> = {}) {}

  runtimeIdOf(taskId: string, containerName: string): string {
    return `${taskId}-${containerName}`;
  }
  async idRange(taskId: string): Promise<IdRange> {
    let slot = this.idSlots.get(taskId);
    if (slot === undefined) this.idSlots.set(taskId, (slot = this.idSlots.size));
    return idRangeOfSlot(slot);
  }
  async prepareTask(spec: TaskSpec): Promise<void> {
    this.rootfs.add(spec.taskId);
  }
  async removeTask(taskId: string): Promise<void> {
    this.rootfs.delete(taskId);
  }
  async create(input: Parameters<RuntimePort["create"]>[0]): Promise<{ runtimeId: string }> {
    const name = input.container.name ?? "";
    const runtimeId = `${input.taskId}-${name}`;
    if (input.secretEnv) this.secretEnvs.set(name, input.secretEnv);
    if (!this.containers.has(runtimeId)) {
      this.containers.set(runtimeId, { name, running: false, started: false, exitWaiters: [], logs: [], behaviour: this.behaviours[name] ?? {} });
    }
    return { runtimeId };
  }
  async start(runtimeId: string): Promise<void> {
    const c = this.get(runtimeId);
    if (c.behaviour.failStart) throw new Error('exec: "/nope": no such file or directory');
    if (c.started) return;
    c.started = true;
    c.running = true;
    this.startOrder.push(c.name);
  }
  async state(runtimeId: string): Promise<ContainerState> {
    const c = this.containers.get(runtimeId);
    if (!c) return { kind: "missing" };
    return c.running ? { kind: "running" } : c.exit ? { kind: "exited", exit: c.exit } : { kind: "created" };
  }
  /** Like a real waiter, it holds a timer (keeps the event loop alive) until the exit or the abort. */
  waitExit(runtimeId: string, signal?: AbortSignal): Promise<ContainerExit> {
    const c = this.get(runtimeId);
    if (c.exit) return Promise.resolve(c.exit);
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.pendingWaits += 1;
    return new Promise<ContainerExit>((resolve, reject) => {
      const keepAlive = setInterval(() => undefined, 1_000);
      const finish = () => {
        clearInterval(keepAlive);
        this.pendingWaits -= 1;
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        finish();
        c.exitWaiters = c.exitWaiters.filter((waiter) => waiter !== onExit);
        reject(signal?.reason);
      };
      const onExit = (exit: ContainerExit) => {
        finish();
        resolve(exit);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      c.exitWaiters.push(onExit);
    });
  }
  async kill(runtimeId: string, signal: string): Promise<void> {
    const c = this.get(runtimeId);
    this.signals.push(`${c.name}:${signal}`);
    if (!c.running) return;
    if (signal === "SIGKILL") this.exitContainer(runtimeId, { exitCode: 137, oomKilled: false });
    else if (!c.behaviour.trapsTerm) this.exitContainer(runtimeId, { exitCode: 143, oomKilled: false });
  }
  async exec(runtimeId: string): Promise<{ exitCode: number }> {
    return { exitCode: this.get(runtimeId).behaviour.healthy === false ? 1 : 0 };
  }
  /** Test control: how many remove calls fail (a busy mount, a runc hiccup) before one works. */
  failRemoves = 0;
  async remove(runtimeId: string): Promise<void> {
    if (this.failRemoves > 0) {
      this.failRemoves -= 1;
      throw new Error("umount: target is busy");
    }
    const c = this.containers.get(runtimeId);
    if (c?.running) throw new Error("cannot remove a running container");
    this.containers.delete(runtimeId);
  }
  async readLogs(runtimeId: string, offset: number, _options?: { final?: boolean }): Promise<LogChunk> {
    const logs = this.containers.get(runtimeId)?.logs ?? [];
    return { events: logs.slice(offset, offset + 2), nextOffset: Math.min(logs.length, offset + 2) };
  }

  /** Test control: the container's process exits by itself. */
  exitContainer(runtimeId: string, exit: ContainerExit): void {
    const c = this.get(runtimeId);
    if (!c.running) return;
    c.running = false;
    c.exit = exit;
    this.exitOrder.push(c.name);
    for (const w of c.exitWaiters.splice(0)) w(exit);
  }
  /** Test control: forget exit waiters, as a dead agent process would. */
  dropWaiters(): void {
    for (const c of this.containers.values()) c.exitWaiters = [];
  }
  log(runtimeId: string, message: string): void {
    const logs = this.get(runtimeId).logs;
    logs.push({ timestamp: 1, message, stream: "stdout", offset: logs.length + 1 });
  }
  private get(runtimeId: string): FakeContainer {
    const c = this.containers.get(runtimeId);
    if (!c) throw new Error(`no such container ${runtimeId}`);
    return c;
  }
}

export class MemoryLogSink implements LogSink {
  readonly lines: string[] = [];
  failNext = 0;
  async write(_taskId: string, containerName: string, events: readonly LogEvent[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error("sink unavailable");
    }
    for (const e of events) this.lines.push(`${containerName}: ${e.message}`);
  }
}

export class MemoryReporter implements TaskStateReporter {
  readonly statuses: string[] = [];
  last: TaskStatusReport | undefined;
  async report(status: TaskStatusReport): Promise<void> {
    if (this.statuses.at(-1) !== status.lastStatus) this.statuses.push(status.lastStatus);
    this.last = status;
  }
}

/** A task as the control plane hands it to an agent: cluster "c", family "f", task id `id`. */
export function fakeTaskSpec(containers: ContainerDefinition[], id = "t1"): TaskSpec {
  return {
    protocolVersion,
    taskArn: `arn:aws:ecs:us-east-1:000000000000:task/c/${id}`,
    taskId: id,
    clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/c",
    family: "f",
    revision: 1,
    taskDefinition: { family: "f", revision: 1, containerDefinitions: containers },
    cpuUnits: 256,
    memoryMiB: 512,
    ephemeralStorageGiB: 20,
    platform: { os: "linux", architecture: "amd64" },
    network: { subnetId: "subnet-1", subnetCidr: "10.0.0.0/24", securityGroups: ["sg-1"], assignPublicIp: "DISABLED" },
    region: "us-east-1",
    availabilityZone: "us-east-1a",
    desiredStatus: "RUNNING",
    stopTimeoutMs: 30_000,
    pullPolicy: "if-not-present",
    logConfigurations: {},
    credentials: {},
    createdAtMs: 0,
  };
}
