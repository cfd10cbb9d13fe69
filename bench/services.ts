// ECS services end to end on one host (issue 13), real busybox tasks through a real `berth server`
// and its embedded agent, each figure beside a baseline measured in the same run:
//   create    a 50-task service from CreateService to all 50 RUNNING and to services-stable
//             (one deployment, runningCount == desiredCount), against the same 50 tasks started by
//             five concurrent RunTask calls of count 10, to all RUNNING. ROUNDS rounds, the order
//             alternating; every task stopped (the service deleted) between them.
//   replace   a service task's container killed from the host (SIGKILL to its init process):
//             time from the kill to the agent reporting the task STOPPED (the baseline part of the
//             interval) and to a replacement RUNNING; median over KILLS kills. Beside it, a single
//             RunTask to RUNNING in the same run (what the replacement's own launch costs).
//   rolling   a 10-task service (minimumHealthyPercent 100, maximumPercent 200) updated to a new
//             revision: time to its deployment COMPLETED, the RUNNING count sampled every 50 ms
//             (it must never fall below 10). Baseline: the same swap by hand (RunTask count 10 of
//             the new revision to all RUNNING, then StopTask of the 10 old ones to all STOPPED).
//   breaker   the same service updated to a revision whose container exits at once
//             (sh -c 'exit 1'), circuit breaker enabled with rollback: time to the deployment
//             FAILED and to the rollback deployment COMPLETED. Baseline: RunTask count 10 of the
//             failing revision to all STOPPED (the failures the breaker has to see).
// Root only, under the shared lock (the embedded agent makes namespaces, routers, mounts):
//   flock /tmp/berth-privileged.lock node --import tsx bench/services.ts [create|replace|rolling|breaker]...
// Env: BENCH_TASKS (50), BENCH_ROUNDS (3), BENCH_KILLS (12). Nothing is routed anywhere: the tasks
// never talk to anything, and the agent's namespaces and routers go with `berth server --uninstall`.
import { execFile as execFileCb } from "node:child_process";
import { loadavg } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import type { ContainerDefinition, Service, Task } from "@aws-sdk/client-ecs";
import { defaultNetwork } from "../src/core/default-network.js";
import { runtimeIdOf } from "../src/runtime/task-runtime.js";
import { startRegistry } from "../test/support/registry.js";
import { sdkConfig, startTestServer } from "../test/support/server.js";

const execFile = promisify(execFileCb);
const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "berth");
/** The embedded agent's runc root (src/runtime/task-runtime.ts's default). */
const RUNC_ROOT = "/run/berth/runc";
const TASKS = Number(process.env.BENCH_TASKS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KILLS = Number(process.env.BENCH_KILLS ?? 12);
const CLUSTER = "bench";
const wanted = new Set(process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["create", "replace", "rolling", "breaker"]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (ms: number) => Math.round(ms * 10) / 10;
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const median = (values: number[]) => sorted(values)[Math.floor(values.length / 2)]!;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const load = () => Math.round(loadavg()[0]! * 10) / 10;
const taskIdOf = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

// ---------------------------------------------------------------------------------------------

const registry = await startRegistry();
const image = `${registry.address}/bench/busybox:v1`;
await execFile(process.execPath, [berth, "image", "build", "--tag", image, "--cmd", '["sleep","3600"]', "--push"]);
const dataDir = mkdtempSync(join(tmpdir(), "berth-bench-svc-"));
// Deliberate overcommit, as bench/run-task.ts density: 50+ idle 0.25 vCPU / 512 MiB tasks reserve
// 12.5+ vCPUs and 25+ GiB on a 2-core, 24 GiB machine; the busybox sleepers use a few MiB each.
const server = await startTestServer({
  agent: true,
  dataDir,
  args: [
    "--image-pull-behavior",
    "prefer-cached",
    "--insecure-registry",
    registry.address,
    "--capacity-cpu-units",
    "32768",
    "--capacity-memory-mib",
    "65536",
    "--task-slots",
    "250",
  ],
});
const ecs = new ECSClient(sdkConfig(server));
const subnetId = defaultNetwork({ accountId: server.accountId, region: server.region }).subnets[0]!.subnetId;
const networkConfiguration = { awsvpcConfiguration: { subnets: [subnetId] } };
const results: Record<string, unknown> = { tasks: TASKS, machine: "2-core VM", loadAtStart: load() };

async function register(container: Omit<ContainerDefinition, "name" | "image">): Promise<string> {
  const answer = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
      containerDefinitions: [{ name: "app", image, essential: true, ...container }],
    }),
  );
  return answer.taskDefinition!.taskDefinitionArn!;
}

// A shell that exits on SIGTERM (PID 1 ignores signals it has no handler for), so stops are quick.
const sleeperCommand = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

async function runTasks(taskDefinition: string, count: number): Promise<string[]> {
  const answer = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition, count, launchType: "FARGATE", networkConfiguration }));
  if (answer.failures?.length) throw new Error(`RunTask failures: ${JSON.stringify(answer.failures)}`);
  return answer.tasks!.map((task) => task.taskArn!);
}

async function describe(arns: readonly string[]): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const page = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns.slice(i, i + 100) }));
    tasks.push(...(page.tasks ?? []));
  }
  return tasks;
}

async function waitAll(arns: readonly string[], status: string, pollMs: number, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...arns];
  while (pending.length > 0) {
    const tasks = await describe(pending);
    for (const task of tasks) if (status === "RUNNING" && task.lastStatus === "STOPPED") throw new Error(`task ${task.taskArn} stopped: ${task.stoppedReason}`);
    pending = tasks.filter((task) => task.lastStatus !== status).map((task) => task.taskArn!);
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending.length} tasks not ${status} after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

async function stopAll(arns: readonly string[]): Promise<void> {
  for (let i = 0; i < arns.length; i += 25) await Promise.all(arns.slice(i, i + 25).map((task) => ecs.send(new StopTaskCommand({ cluster: CLUSTER, task }))));
  await waitAll(arns, "STOPPED", 100);
}

async function listTasks(filter: { serviceName?: string; desiredStatus?: "RUNNING" | "STOPPED" }): Promise<string[]> {
  const arns: string[] = [];
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, maxResults: 100, ...filter, ...(token ? { nextToken: token } : {}) }));
    arns.push(...(page.taskArns ?? []));
    token = page.nextToken;
  }
  return arns;
}

/** A service's tasks that are RUNNING now (lastStatus), and of those the ones still meant to run. */
async function serviceTasks(serviceName: string): Promise<Task[]> {
  const arns = await listTasks({ serviceName, desiredStatus: "RUNNING" });
  return arns.length > 0 ? describe(arns) : [];
}

async function describeService(serviceName: string): Promise<Service> {
  const answer = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [serviceName] }));
  return answer.services![0]!;
}

const stable = (service: Service) => service.deployments?.length === 1 && service.runningCount === service.desiredCount;

/** Deletes a service (force: it scales to zero) and waits for every task it had to be STOPPED. */
async function deleteService(serviceName: string): Promise<void> {
  const arns = await listTasks({ serviceName });
  await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: serviceName, force: true }));
  const deadline = Date.now() + 180_000;
  for (;;) {
    const left = await listTasks({ serviceName, desiredStatus: "RUNNING" });
    const all = [...new Set([...arns, ...left])];
    const tasks = all.length > 0 ? await describe(all) : [];
    if (tasks.every((task) => task.lastStatus === "STOPPED")) return;
    if (Date.now() > deadline) throw new Error(`service ${serviceName}: tasks still not STOPPED after delete`);
    await sleep(200);
  }
}

/**
 * The first task of a fresh server, RUNNING; it is kept running through the whole bench, so every
 * figure meets a host that already runs a task in the VPC (its router is there), as on any busy
 * host. `berth server` listens before its agent registered the host: "Capacity is unavailable" is
 * retried until it did.
 */
async function residentTask(taskDefinition: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition, launchType: "FARGATE", networkConfiguration }));
    const arn = answer.tasks?.[0]?.taskArn;
    if (arn) {
      await waitAll([arn], "RUNNING", 10);
      return arn;
    }
    const reasons = (answer.failures ?? []).map((failure) => failure.reason ?? "");
    if (!reasons.every((reason) => reason.startsWith("Capacity is unavailable")) || Date.now() > deadline)
      throw new Error(`RunTask failures: ${JSON.stringify(answer.failures)}`);
    await sleep(100);
  }
}

async function createService(serviceName: string, taskDefinition: string, desiredCount: number): Promise<void> {
  await ecs.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName,
      taskDefinition,
      desiredCount,
      launchType: "FARGATE",
      networkConfiguration,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The figures.
// ---------------------------------------------------------------------------------------------

/** CreateService to all RUNNING and to stable, polled every 50 ms; then the service is deleted. */
async function serviceRound(serviceName: string, taskDefinition: string): Promise<{ allRunningMs: number; stableMs: number }> {
  const t = performance.now();
  await createService(serviceName, taskDefinition, TASKS);
  let allRunningMs = Number.NaN;
  let stableMs = Number.NaN;
  const deadline = Date.now() + 300_000;
  while (Number.isNaN(allRunningMs) || Number.isNaN(stableMs)) {
    if (Number.isNaN(allRunningMs)) {
      const tasks = await serviceTasks(serviceName);
      if (tasks.filter((task) => task.lastStatus === "RUNNING").length >= TASKS) allRunningMs = performance.now() - t;
    }
    if (Number.isNaN(stableMs) && stable(await describeService(serviceName))) stableMs = performance.now() - t;
    if (Date.now() > deadline) throw new Error(`service ${serviceName} not at ${TASKS} RUNNING and stable after 300 s`);
    if (Number.isNaN(allRunningMs) || Number.isNaN(stableMs)) await sleep(50);
  }
  await deleteService(serviceName);
  return { allRunningMs, stableMs };
}

/** The same tasks by five (TASKS / 10) concurrent RunTask calls of count 10, to all RUNNING (polled every 50 ms); then stopped. */
async function runTaskRound(taskDefinition: string): Promise<{ allRunningMs: number; callsMs: number }> {
  const t = performance.now();
  const calls = Array.from({ length: Math.ceil(TASKS / 10) }, (_, i) => runTasks(taskDefinition, Math.min(10, TASKS - i * 10)));
  const arns = (await Promise.all(calls)).flat();
  const callsMs = performance.now() - t;
  await waitAll(arns, "RUNNING", 50, 300_000);
  const allRunningMs = performance.now() - t;
  await stopAll(arns);
  return { allRunningMs, callsMs };
}

async function benchCreate(taskDefinition: string): Promise<void> {
  const rounds: Record<string, number | string>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const serviceFirst = r % 2 === 0;
    const row: Record<string, number | string> = { round: r + 1, order: serviceFirst ? "service, RunTask" : "RunTask, service", load: load() };
    for (const which of serviceFirst ? ["service", "runTask"] : ["runTask", "service"]) {
      if (which === "service") {
        const s = await serviceRound(`create-${r + 1}`, taskDefinition);
        row.serviceAllRunningMs = round(s.allRunningMs);
        row.serviceStableMs = round(s.stableMs);
      } else {
        const b = await runTaskRound(taskDefinition);
        row.runTaskAllRunningMs = round(b.allRunningMs);
        row.runTaskCallsMs = round(b.callsMs);
      }
      await sleep(1_000);
    }
    row.ratioAllRunning = ratio(row.serviceAllRunningMs as number, row.runTaskAllRunningMs as number);
    row.ratioStable = ratio(row.serviceStableMs as number, row.runTaskAllRunningMs as number);
    console.log(JSON.stringify({ createRound: row }));
    rounds.push(row);
  }
  const pick = (key: string) => rounds.map((row) => row[key] as number);
  results.create = {
    rounds,
    medianServiceAllRunningMs: median(pick("serviceAllRunningMs")),
    medianServiceStableMs: median(pick("serviceStableMs")),
    medianRunTaskAllRunningMs: median(pick("runTaskAllRunningMs")),
    medianRatioAllRunning: median(pick("ratioAllRunning")),
    medianRatioStable: median(pick("ratioStable")),
  };
  console.log(JSON.stringify({ create: results.create }));
}

/** The host pid of a task's container's init process (runc state). */
async function containerPid(taskArn: string): Promise<number> {
  const { stdout } = await execFile("runc", ["--root", RUNC_ROOT, "state", runtimeIdOf(taskIdOf(taskArn), "app")]);
  return (JSON.parse(stdout) as { pid: number }).pid;
}

async function benchReplace(taskDefinition: string): Promise<void> {
  const serviceName = "replace";
  const desired = 5;
  const wall = Date.now();
  await createService(serviceName, taskDefinition, desired);
  const waitStable = async () => {
    const deadline = Date.now() + 120_000;
    while (!stable(await describeService(serviceName))) {
      if (Date.now() > deadline) throw new Error(`service ${serviceName} not stable`);
      await sleep(50);
    }
  };
  await waitStable();
  const noticedMs: number[] = [];
  const stoppedMs: number[] = [];
  const replacedMs: number[] = [];
  const launchMs: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    // Baseline in the same run: one RunTask to RUNNING (polled as the replacement is), stopped again.
    const b = performance.now();
    const [single] = await runTasks(taskDefinition, 1);
    await waitAll([single!], "RUNNING", 20);
    launchMs.push(performance.now() - b);
    await stopAll([single!]);

    const before = (await serviceTasks(serviceName)).filter((task) => task.lastStatus === "RUNNING");
    const victim = before[k % before.length]!.taskArn!;
    const known = new Set(before.map((task) => task.taskArn!));
    const pid = await containerPid(victim);
    const t = performance.now();
    const killedAt = Date.now() - wall;
    process.kill(pid, "SIGKILL");
    let noticed = Number.NaN;
    let stopped = Number.NaN;
    let replaced = Number.NaN;
    const deadline = Date.now() + 60_000;
    while (Number.isNaN(stopped) || Number.isNaN(replaced)) {
      if (Number.isNaN(stopped)) {
        const task = (await describe([victim]))[0];
        // The agent's first report of the exit: the task leaves RUNNING (its resources are then
        // torn down, and only then is it STOPPED); ECS sets desiredStatus STOPPED with it.
        if (Number.isNaN(noticed) && (task?.lastStatus !== "RUNNING" || task.desiredStatus !== "RUNNING")) noticed = performance.now() - t;
        if (task?.lastStatus === "STOPPED") stopped = performance.now() - t;
      }
      if (Number.isNaN(replaced)) {
        const fresh = (await serviceTasks(serviceName)).filter((task) => !known.has(task.taskArn!) && task.lastStatus === "RUNNING");
        if (fresh.length > 0) replaced = performance.now() - t;
      }
      if (Date.now() > deadline) throw new Error(`kill ${k + 1}: no replacement RUNNING after 60 s`);
      if (Number.isNaN(stopped) || Number.isNaN(replaced)) await sleep(20);
    }
    noticedMs.push(noticed);
    stoppedMs.push(stopped);
    replacedMs.push(replaced);
    console.log(
      JSON.stringify({
        kill: k + 1,
        atS: killedAt / 1000,
        load: load(),
        exitReportedMs: round(noticed),
        stoppedReportedMs: round(stopped),
        replacementRunningMs: round(replaced),
        runTaskBaselineMs: round(launchMs.at(-1)!),
      }),
    );
    await waitStable();
    await sleep(500);
  }
  // The service's events with their times since CreateService, beside the kills' times above.
  const events = ((await describeService(serviceName)).events ?? [])
    .reverse()
    .map((event) => `+${((event.createdAt!.getTime() - wall) / 1000).toFixed(1)} s ${event.message}`);
  console.log(events.join("\n"));
  await deleteService(serviceName);
  results.replace = {
    kills: KILLS,
    medianKillToExitReportedMs: round(median(noticedMs)),
    medianKillToStoppedReportedMs: round(median(stoppedMs)),
    medianKillToReplacementRunningMs: round(median(replacedMs)),
    maxKillToReplacementRunningMs: round(Math.max(...replacedMs)),
    medianRunTaskToRunningMs: round(median(launchMs)),
    // What the service scheduler adds: the replacement minus the exit report minus a plain launch.
    medianSchedulerShareMs: round(median(replacedMs) - median(noticedMs) - median(launchMs)),
  };
  console.log(JSON.stringify({ replace: results.replace }));
}

/** Samples a service's tasks every 50 ms until `done` says so; the least RUNNING counts seen. */
async function sampleUntil(
  serviceName: string,
  done: (service: Service) => boolean,
  timeoutMs: number,
): Promise<{ ms: number; minRunning: number; minRunningDesired: number; samples: number; service: Service }> {
  const t = performance.now();
  let minRunning = Number.POSITIVE_INFINITY;
  let minRunningDesired = Number.POSITIVE_INFINITY;
  let samples = 0;
  // ListTasks shows tasks meant to run; a task told to stop still runs until its report says
  // STOPPED, so every task once listed is described until then.
  const tracked = new Set<string>();
  for (;;) {
    const next = performance.now() + 50;
    for (const arn of await listTasks({ serviceName })) tracked.add(arn);
    const tasks = tracked.size > 0 ? await describe([...tracked]) : [];
    for (const task of tasks) if (task.lastStatus === "STOPPED") tracked.delete(task.taskArn!);
    const running = tasks.filter((task) => task.lastStatus === "RUNNING");
    minRunning = Math.min(minRunning, running.length);
    minRunningDesired = Math.min(minRunningDesired, running.filter((task) => task.desiredStatus === "RUNNING").length);
    samples++;
    const service = await describeService(serviceName);
    if (done(service)) return { ms: performance.now() - t, minRunning, minRunningDesired, samples, service };
    if (performance.now() - t > timeoutMs) throw new Error(`service ${serviceName}: not done after ${timeoutMs} ms`);
    await sleep(Math.max(0, next - performance.now()));
  }
}

async function benchRollingAndBreaker(revisions: { v1: string; v2: string; crash: string }): Promise<void> {
  const serviceName = "rolling";
  const n = 10;
  // Baseline first: the same swap by hand, RunTask of the new revision then StopTask of the old.
  const old = await runTasks(revisions.v1, n);
  await waitAll(old, "RUNNING", 50);
  const h = performance.now();
  const fresh = await runTasks(revisions.v2, n);
  await waitAll(fresh, "RUNNING", 50);
  await stopAll(old);
  const byHandMs = performance.now() - h;
  await stopAll(fresh);

  await createService(serviceName, revisions.v1, n);
  await sampleUntil(serviceName, (service) => stable(service) && service.deployments![0]!.rolloutState === "COMPLETED", 120_000);
  if (wanted.has("rolling")) {
    const loadAt = load();
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: serviceName, taskDefinition: revisions.v2 }));
    const rolled = await sampleUntil(
      serviceName,
      (service) => service.deployments?.length === 1 && service.deployments[0]!.rolloutState === "COMPLETED",
      180_000,
    );
    results.rolling = {
      desiredCount: n,
      load: loadAt,
      updateToCompletedMs: round(rolled.ms),
      minRunningSampled: rolled.minRunning,
      minRunningAndDesiredRunningSampled: rolled.minRunningDesired,
      samples: rolled.samples,
      byHandSwapMs: round(byHandMs),
      ratio: ratio(rolled.ms, byHandMs),
    };
    console.log(JSON.stringify({ rolling: results.rolling }));
  }
  if (wanted.has("breaker")) {
    // Baseline: the failing revision's tasks by RunTask, to all STOPPED (what the breaker must see).
    const b = performance.now();
    const crashed = await runTasks(revisions.crash, n);
    await waitAll(crashed, "STOPPED", 50);
    const crashBaselineMs = performance.now() - b;
    const loadAt = load();
    const before = await describeService(serviceName);
    const previous = before.deployments![0]!;
    const t = performance.now();
    const wall = Date.now();
    const updated = await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: serviceName, taskDefinition: revisions.crash }));
    const failing = updated.service!.deployments![0]!.id!;
    const failed = await sampleUntil(
      serviceName,
      (service) => (service.deployments ?? []).some((d) => d.id === failing && d.rolloutState === "FAILED"),
      180_000,
    );
    const failedMs = performance.now() - t;
    const rollback = failed.service.deployments![0]!;
    const rolledBack = await sampleUntil(
      serviceName,
      (service) => service.deployments?.length === 1 && service.deployments[0]!.id !== failing && service.deployments[0]!.rolloutState === "COMPLETED",
      300_000,
    );
    const final = rolledBack.service.deployments![0]!;
    // The service's events (ECS's words) with their times since the UpdateService call.
    const events = (rolledBack.service.events ?? [])
      .filter((event) => event.createdAt!.getTime() >= wall)
      .reverse()
      .map((event) => `+${((event.createdAt!.getTime() - wall) / 1000).toFixed(1)} s ${event.message}`);
    results.breaker = {
      desiredCount: n,
      load: loadAt,
      updateToFailedMs: round(failedMs),
      failedTasksAtTrip: (failed.service.deployments ?? []).find((d) => d.id === failing)?.failedTasks,
      updateToRollbackCompletedMs: round(performance.now() - t),
      rollbackRevision: final.taskDefinition,
      previousRevision: previous.taskDefinition,
      rollbackStartedAsPrimaryAtTrip: rollback.id !== failing,
      minRunningSampled: Math.min(failed.minRunning, rolledBack.minRunning),
      minRunningAndDesiredRunningSampled: Math.min(failed.minRunningDesired, rolledBack.minRunningDesired),
      runTaskCrashingToAllStoppedMs: round(crashBaselineMs),
    };
    console.log(JSON.stringify({ breaker: results.breaker }));
    console.log(events.join("\n"));
  }
  await deleteService(serviceName);
}

// ---------------------------------------------------------------------------------------------

let resident: string | undefined;
try {
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  const v1 = await register({ command: sleeperCommand, stopTimeout: 2 });
  const v2 = await register({ command: sleeperCommand, stopTimeout: 2, environment: [{ name: "REVISION", value: "2" }] });
  const crash = await register({ command: ["sh", "-c", "exit 1"] });
  // The resident task holds the VPC's router through the run (see residentTask).
  resident = await residentTask(v1);
  if (wanted.has("create")) await benchCreate(v1);
  if (wanted.has("replace")) await benchReplace(v1);
  if (wanted.has("rolling") || wanted.has("breaker")) await benchRollingAndBreaker({ v1, v2, crash });
} catch (error) {
  console.error("bench failed:", error);
  process.exitCode = 1;
} finally {
  // Whatever failed: every service deleted, every task stopped (containers outlive the server).
  try {
    for (const name of ["create-1", "create-2", "create-3", "create-4", "create-5", "replace", "rolling"])
      await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: name, force: true })).catch(() => undefined);
    const left = await listTasks({ desiredStatus: "RUNNING" });
    const running = left.length > 0 ? (await describe(left)).filter((task) => task.lastStatus !== "STOPPED").map((task) => task.taskArn!) : [];
    await stopAll([...new Set([...running, ...(resident ? [resident] : [])])]);
  } catch (error) {
    console.error("stopping leftover tasks failed:", error);
  }
  ecs.destroy();
  await server.stop();
  await registry.stop();
  await execFile(process.execPath, [berth, "server", "--uninstall", "--data-dir", dataDir]).catch((error: Error) =>
    console.error(`berth server --uninstall --data-dir ${dataDir}: ${error.message}`),
  );
  try {
    rmSync(dataDir, { recursive: true, force: true });
  } catch (error) {
    console.error(`could not remove ${dataDir}:`, error);
  }
}
console.log(JSON.stringify({ date: new Date().toISOString(), ...results }));
process.exit(process.exitCode ?? 0);
