// An agent that goes away while real tasks run (conmon + runc, real networks and storage) and a
// new one that takes over from the saved state: the running task keeps running, the exit that
// happened meanwhile is collected with its exit code, and every log line arrives exactly once.
// The "crash" drops the whole agent (runners detached, state file closed, runtime/network objects
// forgotten); the new agent is built from fresh objects over the same state dirs, as a restarted
// process would be.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent } from "../../src/agent/index.js";
import type { Agent, LogEvent, LogSink } from "../../src/agent/index.js";
import { HostNetworkAdapter } from "../../src/agent/network-adapter.js";
import { HostRuntimeAdapter } from "../../src/agent/runtime-adapter.js";
import { systemClock } from "../../src/core/clock.js";
import { TaskNetworks } from "../../src/network/index.js";
import { TaskRuntime } from "../../src/runtime/index.js";
import { makeBusyboxLayer } from "../support/busybox-rootfs.js";
import { MemoryReporter } from "../support/agent-fakes.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { hostTaskSpecs, waitUntil } from "../support/host-task-spec.js";
import { LocalBusyboxImages } from "../support/host-agent-parts.js";

const stateDir = mkdtempSync(join(tmpdir(), "berth-restart-"));
const layerDir = makeBusyboxLayer(mkdtempSync(join(tmpdir(), "berth-layer-")));
const subnet = { subnetId: "subnet-0bth0restart00001", cidr: "10.213.9.0/24" };
const taskSpec = hostTaskSpecs({ family: "rs", idFiller: "feed", subnet, defaultImage: "busybox" });

/** Every write as received (no deduplication), to check what the agent sends. */
class RecordingSink implements LogSink {
  readonly received: { taskId: string; container: string; offset: number; message: string }[] = [];
  async write(taskId: string, containerName: string, events: readonly LogEvent[]): Promise<void> {
    for (const event of events) this.received.push({ taskId, container: containerName, offset: event.offset, message: event.message });
  }
  /** Lines of one task as a sink deduplicating by (container, offset) stores them. */
  stored(taskId: string): string[] {
    const seen = new Map<string, string>();
    const lines: string[] = [];
    for (const entry of this.received.filter((e) => e.taskId === taskId)) {
      const key = `${entry.container}@${entry.offset}`;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        // A re-sent line must be the very same line (same offset, same text) for dedupe to be right.
        assert.equal(entry.message, earlier, `offset ${key} re-sent with different text`);
        continue;
      }
      seen.set(key, entry.message);
      lines.push(entry.message);
    }
    return lines;
  }
}

const sink = new RecordingSink();
const errors: string[] = [];

/** A whole agent over the shared state dirs, from fresh objects (as a new process would make). */
async function startAgent(): Promise<Agent> {
  const runtime = new TaskRuntime({ stateDir: join(stateDir, "runtime") });
  const networks = new TaskNetworks({ stateDir: join(stateDir, "network"), region: "us-east-1" });
  const agent = createAgent({
    stateDir: join(stateDir, "tasks"),
    images: new LocalBusyboxImages(),
    runtime: new HostRuntimeAdapter(runtime, () => ({ layerDirs: [layerDir], config: { env: ["PATH=/bin:/sbin:/usr/bin"] } })),
    networks: new HostNetworkAdapter(networks),
    logSink: sink,
    reporter: new MemoryReporter(),
    clock: systemClock,
    logger: { error: (details, message) => errors.push(`${message}: ${String((details as { err?: Error }).err?.message ?? "")}`), info: () => undefined },
    logPollMs: 100,
  });
  await agent.start();
  return agent;
}

const sequence = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}-${from + i}`);

// The machine is shared: only what appeared during this file counts as its leak.
const leaksBefore = new Set(findLeaks());
after(async () => {
  // The VPC router outlives its last task until the next view or the stop (src/network/task-networks.ts).
  await new TaskNetworks({ stateDir: join(stateDir, "network"), region: "us-east-1" }).stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(layerDir, { recursive: true, force: true });
  assertNoNewLeaks(leaksBefore);
});

test("tasks survive the agent going away; the new agent collects the exit and ships every line exactly once", { timeout: 180_000 }, async () => {
  const first = await startAgent();
  // Writes a numbered line every 20 ms until stopped (init forwards SIGTERM to the shell loop).
  const ticker = taskSpec([
    { name: "ticker", linuxParameters: { initProcessEnabled: true }, command: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.02; done"] },
  ]);
  // Writes 40 lines over about 2 s, with a last line lacking its newline, then exits 7 while no agent watches.
  const finisher = taskSpec([{ name: "finisher", command: ["sh", "-c", "for i in $(seq 1 40); do echo fin-$i; sleep 0.05; done; printf fin-end; exit 7"] }]);
  await first.runTask(ticker);
  await first.runTask(finisher);
  await waitUntil(() => first.describe(ticker.taskArn)?.lastStatus === "RUNNING" && first.describe(finisher.taskArn)?.lastStatus === "RUNNING", "both RUNNING");
  await waitUntil(() => sink.stored(finisher.taskId).length >= 3 && sink.stored(ticker.taskId).length >= 3, "some lines shipped before the crash");
  const tickerRuntimeId = first.describe(ticker.taskArn)!.containers[0]!.runtimeId;

  await first.close();
  const shippedWhileUp = sink.received.length;
  // The agent is gone for longer than the finisher has left to live.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  assert.equal(sink.received.length, shippedWhileUp, "nothing shipped while no agent runs");

  const second = await startAgent();
  await second.whenStopped(finisher.taskArn);
  const finished = second.describe(finisher.taskArn)!;
  assert.equal(finished.containers[0]!.exitCode, 7);
  assert.equal(finished.stopCode, "EssentialContainerExited");
  assert.deepEqual(sink.stored(finisher.taskId), [...sequence("fin", 1, 40), "fin-end"]);

  const running = second.describe(ticker.taskArn)!;
  assert.equal(running.lastStatus, "RUNNING");
  assert.equal(running.containers[0]!.runtimeId, tickerRuntimeId, "the same container, re-attached");
  const before = sink.stored(ticker.taskId).length;
  await waitUntil(() => sink.stored(ticker.taskId).length > before + 5, "the re-attached ticker's new lines shipped");
  await second.stopTask(ticker.taskArn, "done", "UserInitiated");
  await second.whenStopped(ticker.taskArn);
  const ticks = sink.stored(ticker.taskId);
  assert.ok(ticks.length > 100, `${ticks.length} ticks`);
  assert.deepEqual(ticks, sequence("tick", 1, ticks.length), "every tick once, in order, none missing");
  assert.equal(second.describe(ticker.taskArn)!.containers[0]!.exitCode, 143);
  await second.close();
  assert.deepEqual(errors, []);
});
