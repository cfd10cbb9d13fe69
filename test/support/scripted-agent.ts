// A host for integration tests that speaks the real agent protocol over HTTP (register, long poll,
// report) and plays its tasks by script instead of running containers: each task the control plane
// hands it is reported RUNNING (or, for an image the script names as crashing, STOPPED with
// EssentialContainerExited), and each stop it is asked for is reported STOPPED. Tests can also
// "kill" a task from outside (STOPPED, exit 137) as if its process died on the host.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import type { ControlPlaneLink, DesiredTask, TaskStatusReport } from "../../src/protocol/index.js";
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
}

export class ScriptedAgent {
  private readonly link: ControlPlaneLink;
  private readonly sequences = new Map<string, number>();
  private readonly finished = new Set<string>();
  private readonly running = new Set<string>();
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;

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

  /** The task's process died on the host: reported STOPPED with exit code 137, as the agent would. */
  async kill(taskArn: string): Promise<void> {
    await this.send(taskArn, "STOPPED", "RUNNING", {
      stopCode: "EssentialContainerExited",
      stoppedReason: "Essential container in task exited",
      exitCode: 137,
    });
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
      for (const desired of answer.tasks) await this.converge(desired).catch(() => undefined);
    }
  }

  private async converge(desired: DesiredTask): Promise<void> {
    const arn = desired.spec.taskArn;
    if (this.finished.has(arn)) return;
    if (desired.desiredStatus === "STOPPED") {
      await this.send(arn, "STOPPED", "STOPPED", {
        stopCode: desired.stopCode ?? "UserInitiated",
        stoppedReason: desired.stoppedReason ?? "stopped",
        exitCode: 143,
      });
      return;
    }
    if (this.running.has(arn)) return;
    const image = desired.spec.taskDefinition.containerDefinitions?.[0]?.image ?? "";
    if (this.options.crashingImages?.includes(image)) {
      await this.send(arn, "STOPPED", "RUNNING", { stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", exitCode: 1 });
    } else {
      if (this.options.runningDelayMs) {
        await this.send(arn, "PENDING", "RUNNING", {});
        await new Promise((resolve) => setTimeout(resolve, this.options.runningDelayMs));
      }
      await this.send(arn, "RUNNING", "RUNNING", {});
    }
  }

  private async send(
    taskArn: string,
    lastStatus: "PENDING" | "RUNNING" | "STOPPED",
    desiredStatus: "RUNNING" | "STOPPED",
    stop: { stopCode?: TaskStatusReport["stopCode"]; stoppedReason?: string; exitCode?: number },
  ): Promise<void> {
    const sequence = (this.sequences.get(taskArn) ?? 0) + 1;
    this.sequences.set(taskArn, sequence);
    const now = Date.now();
    const report = () =>
      this.link.report(this.options.hostId, {
        reports: [
          {
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
          },
        ],
      });
    // As the agent does: a report the server could not take (a 503 in a race) is sent again.
    for (let attempt = 1; ; attempt++) {
      try {
        await report();
        break;
      } catch (error) {
        if (attempt >= 20 || this.abort.signal.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    if (lastStatus === "RUNNING") this.running.add(taskArn);
    else if (lastStatus === "STOPPED") {
      this.running.delete(taskArn);
      this.finished.add(taskArn);
    }
  }
}
