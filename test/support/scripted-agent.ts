// A host for integration tests that speaks the real agent protocol over HTTP (register, long poll,
// report) and plays its tasks by script instead of running containers: each task the control plane
// hands it is reported RUNNING (or, for an image the script names as crashing, STOPPED with
// EssentialContainerExited), and each stop it is asked for is reported STOPPED. Tests can also
// "kill" a task from outside (STOPPED, exit 137) as if its process died on the host.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import type { ControlPlaneLink, DesiredTask, LoadBalancerNodeSpec, TargetHealthResult, TaskStatusReport } from "../../src/protocol/index.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TestServer } from "./server.js";

export interface ScriptedAgentOptions {
  readonly hostId: string;
  readonly availabilityZone?: string;
  /** Images whose tasks exit at once (essential container exited, code 1). */
  readonly crashingImages?: readonly string[];
  /** How long a task stays PENDING before it is reported RUNNING (default 0). */
  readonly runningDelayMs?: number;
  /** Room for this many 0.25 vCPU / 512 MiB tasks (default 200). */
  readonly taskSlots?: number;
  /**
   * Report what one poll answer asked for together, up to REPORTS_PER_CALL a call, as the real
   * agent's forwarder does (src/agent/host-agent.ts), instead of one call per task (the default).
   * Tasks go straight to RUNNING then: runningDelayMs is not used.
   */
  readonly batchReports?: boolean;
}

/** The real agent's bound on reports per call (src/agent/host-agent.ts). */
const REPORTS_PER_CALL = 100;

/** One status this host reports for one task. */
interface StatusChange {
  readonly taskArn: string;
  readonly lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  readonly desiredStatus: "RUNNING" | "STOPPED";
  readonly stop: { readonly stopCode?: TaskStatusReport["stopCode"]; readonly stoppedReason?: string; readonly exitCode?: number };
}

export class ScriptedAgent {
  private readonly link: ControlPlaneLink;
  private readonly sequences = new Map<string, number>();
  private readonly finished = new Set<string>();
  private readonly running = new Set<string>();
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  /** The load balancer nodes the last poll answer gave this host (it runs none: tests read them and report health as a node would). */
  loadBalancers: readonly LoadBalancerNodeSpec[] = [];

  constructor(
    server: TestServer,
    private readonly options: ScriptedAgentOptions,
  ) {
    this.link = createHttpControlLink({ serverUrl: server.endpoint, token: readFileSync(join(server.dataDir, "agent-token"), "utf8").trim() });
  }

  async start(): Promise<void> {
    const slots = this.options.taskSlots ?? 200;
    // A silent host is declared lost (and its tasks stopped) after four missed heartbeats.
    const answer = await this.link.register({
      protocolVersion,
      hostId: this.options.hostId,
      agentVersion: "test",
      availabilityZone: this.options.availabilityZone ?? "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: 256 * slots, memoryMiB: 512 * slots, taskSlots: slots, ephemeralGiB: 21 * slots },
      machine: { cpuCount: 64, memoryMiB: 1_048_576 },
      overcommit: false,
      subnetIds: [],
    });
    this.loop = this.run();
    this.heartbeat = setInterval(() => void this.link.heartbeat(this.options.hostId).catch(() => undefined), answer.heartbeatIntervalMs);
  }

  /** Task ARNs this host reported RUNNING and has not stopped. */
  runningTasks(): string[] {
    return [...this.running];
  }

  /** Whether this host reported the task RUNNING (and the server took the report) and has not stopped it. */
  isRunning(taskArn: string): boolean {
    return this.running.has(taskArn);
  }

  /** The task's process died on the host: reported STOPPED with exit code 137, as the agent would. */
  async kill(taskArn: string): Promise<void> {
    const stop = { stopCode: "EssentialContainerExited" as const, stoppedReason: "Essential container in task exited", exitCode: 137 };
    await this.send([{ taskArn, lastStatus: "STOPPED", desiredStatus: "RUNNING", stop }]);
  }

  /** Sends health results as this host's load balancer nodes would (the agent protocol's targetHealth call). */
  async reportTargetHealth(results: readonly TargetHealthResult[]): Promise<void> {
    await this.link.targetHealth!(this.options.hostId, { results });
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.abort.abort();
    await this.loop.catch(() => undefined);
  }

  private async run(): Promise<void> {
    let generation = -1;
    while (!this.abort.signal.aborted) {
      let answer;
      try {
        answer = await this.link.poll(this.options.hostId, generation, this.abort.signal);
      } catch {
        if (this.abort.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      generation = answer.generation;
      this.loadBalancers = answer.loadBalancers ?? [];
      if (this.options.batchReports) {
        const changes = answer.tasks.flatMap((desired) => this.changeFor(desired) ?? []);
        for (let i = 0; i < changes.length; i += REPORTS_PER_CALL) await this.send(changes.slice(i, i + REPORTS_PER_CALL)).catch(() => undefined);
      } else for (const desired of answer.tasks) await this.converge(desired).catch(() => undefined);
    }
  }

  /** What this host reports next for a desired task: nothing (it has), its stop, its crash, or RUNNING. */
  private changeFor(desired: DesiredTask): StatusChange | undefined {
    const taskArn = desired.spec.taskArn;
    if (this.finished.has(taskArn)) return undefined;
    if (desired.desiredStatus === "STOPPED") {
      const stop = { stopCode: desired.stopCode ?? "UserInitiated", stoppedReason: desired.stoppedReason ?? "stopped", exitCode: 143 };
      return { taskArn, lastStatus: "STOPPED", desiredStatus: "STOPPED", stop };
    }
    if (this.running.has(taskArn)) return undefined;
    const image = desired.spec.taskDefinition.containerDefinitions?.[0]?.image ?? "";
    if (this.options.crashingImages?.includes(image)) {
      const stop = { stopCode: "EssentialContainerExited" as const, stoppedReason: "Essential container in task exited", exitCode: 1 };
      return { taskArn, lastStatus: "STOPPED", desiredStatus: "RUNNING", stop };
    }
    return { taskArn, lastStatus: "RUNNING", desiredStatus: "RUNNING", stop: {} };
  }

  private async converge(desired: DesiredTask): Promise<void> {
    const change = this.changeFor(desired);
    if (!change) return;
    if (change.lastStatus === "RUNNING" && this.options.runningDelayMs) {
      await this.send([{ ...change, lastStatus: "PENDING" }]);
      await new Promise((resolve) => setTimeout(resolve, this.options.runningDelayMs));
    }
    await this.send([change]);
  }

  /** Reports the changes in one call (retried as the agent retries), then counts them as done. */
  private async send(changes: readonly StatusChange[]): Promise<void> {
    const now = Date.now();
    const reports = changes.map(({ taskArn, lastStatus, desiredStatus, stop }): TaskStatusReport => {
      const sequence = (this.sequences.get(taskArn) ?? 0) + 1;
      this.sequences.set(taskArn, sequence);
      return {
        protocolVersion,
        taskArn,
        lastStatus,
        desiredStatus: lastStatus === "STOPPED" ? "STOPPED" : desiredStatus,
        sequence,
        health: "UNKNOWN",
        ...(lastStatus !== "PENDING" ? { startedAtMs: now } : {}),
        ...(lastStatus === "STOPPED" ? { stoppedAtMs: now, executionStoppedAtMs: now, stoppingAtMs: now } : {}),
        ...(stop.stopCode !== undefined ? { stopCode: stop.stopCode } : {}),
        ...(stop.stoppedReason !== undefined ? { stoppedReason: stop.stoppedReason } : {}),
        containers: [
          {
            name: "app",
            lastStatus,
            health: "UNKNOWN",
            essential: true,
            image: "app",
            ...(stop.exitCode !== undefined ? { exitCode: stop.exitCode } : {}),
            networkInterfaces: [],
          },
        ],
      };
    });
    // As the agent does: a report the server could not take (a 503 in a race) is sent again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.link.report(this.options.hostId, { reports });
        break;
      } catch (error) {
        if (attempt >= 20 || this.abort.signal.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    for (const { taskArn, lastStatus } of changes) {
      if (lastStatus === "RUNNING") this.running.add(taskArn);
      else if (lastStatus === "STOPPED") {
        this.running.delete(taskArn);
        this.finished.add(taskArn);
      }
    }
  }
}
