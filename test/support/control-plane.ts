// Parts for the control plane's unit tests: a clock the test moves by hand, and a store (the real
// one, in memory, through the real migrations) holding one registered host "h1" with one task "t1"
// placed on it whose app container ships awslogs.
import type { Clock } from "../../src/core/clock.js";
import type { TaskSpec } from "../../src/protocol/index.js";
import type { Store, TaskRecord } from "../../src/store/index.js";
import { openStore } from "../../src/store/index.js";

/** `time` is set or moved by the test; a sleeper wakes when advance() passes its end, or on abort. */
export class ManualClock implements Clock {
  time = 1_000_000;
  private sleepers = new Set<{ until: number; wake: () => void }>();
  now(): number {
    return this.time;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.sleepers.delete(sleeper);
        reject(signal?.reason);
      };
      const sleeper = {
        until: this.time + ms,
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
  advance(ms: number): void {
    this.time += ms;
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.until > this.time) continue;
      this.sleepers.delete(sleeper);
      sleeper.wake();
    }
  }
}

export const clusterArn = "arn:aws:ecs:us-east-1:123456789012:cluster/demo";
export const taskArnOf = (taskId: string) => `arn:aws:ecs:us-east-1:123456789012:task/demo/${taskId}`;

/** A task placed on `hostId`, PROVISIONING, desired RUNNING, its "app" container shipping awslogs to /ecs/app. */
export function placedTask(taskId: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  const taskArn = taskArnOf(taskId);
  return {
    taskArn,
    taskId,
    clusterArn,
    family: "app",
    launchType: "FARGATE",
    desiredStatus: "RUNNING",
    lastStatus: "PROVISIONING",
    hostId: "h1",
    reservation: { cpuUnits: 256, memoryMiB: 512, ephemeralGiB: 20 },
    createdAtMs: 1_000_000,
    reportSequence: 0,
    task: { taskArn, lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containers: [{ name: "app", lastStatus: "PENDING" }] },
    // Its containers' awslogs destinations: log ingest accepts batches for these streams only.
    spec: {
      taskArn,
      taskId,
      logConfigurations: {
        app: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true" } },
        nogroup: { logDriver: "awslogs", options: { "awslogs-group": "/missing", "awslogs-stream-prefix": "ecs" } },
      },
    } as Partial<TaskSpec>,
    ...overrides,
  };
}

export const hostCapacity = { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 50, ephemeralGiB: 400 };

/** An in-memory store with host h1 (us-east-1a, registered at the clock's now) and task t1 placed on it. */
export async function storeWithPlacedTask(clock: Clock): Promise<{ store: Store; taskArn: string }> {
  const store = await openStore({ inMemory: true });
  await store.hosts.upsert({
    hostId: "h1",
    availabilityZone: "us-east-1a",
    architecture: "X86_64",
    capacity: hostCapacity,
    secretSha256: "",
    agentVersion: "test",
    subnetIds: [],
    registeredAtMs: clock.now(),
  });
  const task = placedTask("t1", { createdAtMs: clock.now() });
  await store.tasks.insert([task]);
  return { store, taskArn: task.taskArn };
}
