// ECS services at scale (issue 13: "up to 1,000 tasks per service; launches paced so a large service
// does not starve other work"), through a real `berth server` (control plane only, SQLite) on
// loopback and scripted hosts (test/support/scripted-agent.ts: the real agent protocol, tasks
// reported RUNNING without containers), so the figures are the control plane's alone. Each figure
// beside a baseline measured in the same run:
//   idle     single RunTask calls (count 1) on another cluster ("probe"), one every PROBE_EVERY_MS:
//            the call's answer time and the time to its task RUNNING; and a 10-task service on that
//            cluster, CreateService to services-stable. Nothing else runs: the baseline of both.
//   runtask  the same TASKS tasks started by RunTask calls of count 10, sequential (one caller) and
//            from CONCURRENT callers, to all RUNNING, the probes running throughout (what a user's
//            own burst of RunTasks does to others, beside what a service's launch does).
//   service  a TASKS-task service: CreateService to all placed (runningCount + pendingCount in
//            DescribeServices), to all RUNNING (the hosts' reports; and runningCount in
//            DescribeServices) and to services-stable, in tasks per minute; the probes running
//            throughout, and a 10-task service created SMALL_AFTER_MS after the big one, to stable.
//            The scheduler's passes are read back from the service's events ("has started N tasks").
// The probes are also given by window: while the tasks are being placed (the RunTask calls made)
// and after. Every task is stopped (the services force-deleted and drained) between phases, and
// stays in the store as a stopped task for its retention (an hour): each row says how many there
// were (stoppedBefore). ROUNDS rounds, the order of runtask and service alternating. The server's
// CPU time (/proc) is given per phase. The hosts run in this process, the server in its own.
//
//   node --import tsx bench/service-scale.ts [idle|runtask|service]...   (after `npm run build`)
//
// Env: BENCH_TASKS (1000), BENCH_HOSTS (6), BENCH_SLOTS (200 task slots per host, each 256 CPU /
// 512 MiB: a scripted host declares a 64-CPU machine without overcommit, so at most 256), BENCH_ROUNDS
// (2), BENCH_IDLE_PROBES (100), BENCH_REPORTS (batched: each host reports a poll answer's tasks in
// calls of up to 100, as src/agent/host-agent.ts does; single: one call per task), BENCH_CPU_PROF
// (a directory: the server writes a V8 CPU profile there as it stops). No root, no containers, no
// namespaces: only loopback traffic.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import type { Service } from "@aws-sdk/client-ecs";
import { defaultNetwork } from "../src/core/default-network.js";
import { ScriptedAgent } from "../test/support/scripted-agent.js";
import { registerRevisions } from "../test/support/service-waits.js";
import { sdkConfig, startTestServer } from "../test/support/server.js";

const TASKS = Number(process.env.BENCH_TASKS ?? 1000);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 6);
const SLOTS = Number(process.env.BENCH_SLOTS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const IDLE_PROBES = Number(process.env.BENCH_IDLE_PROBES ?? 100);
const CPU_PROF = process.env.BENCH_CPU_PROF;
/** "batched": a host reports what a poll answer asked for in calls of up to 100, as the real agent does; "single": one call per task. */
const REPORTS = process.env.BENCH_REPORTS === "single" ? "single" : "batched";
const PROBE_EVERY_MS = 200;
const CONCURRENT = 4;
const SMALL_TASKS = 10;
const SMALL_AFTER_MS = 1_000;
const CLUSTER = "scale";
const PROBE_CLUSTER = "probe";
const wanted = new Set(process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["idle", "runtask", "service"]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (ms: number) => Math.round(ms * 10) / 10;
const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
const percentile = (values: readonly number[], p: number) => sorted(values)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const load = () => Math.round(loadavg()[0]! * 10) / 10;
const perMinute = (tasks: number, ms: number) => Math.round((tasks / ms) * 60_000);

if (HOSTS * SLOTS < TASKS + SMALL_TASKS + 50) throw new Error(`${HOSTS} hosts × ${SLOTS} slots cannot hold ${TASKS} + ${SMALL_TASKS} tasks and the probes`);

/**
 * Node 20 refuses --cpu-prof in NODE_OPTIONS: the server is handed a preload (a data: URL module)
 * that profiles through the inspector and writes the profile as the process exits.
 */
function cpuProfilePreload(dir: string): string {
  const code = [
    'import { Session } from "node:inspector";',
    'import { writeFileSync } from "node:fs";',
    "const session = new Session();",
    "session.connect();",
    'session.post("Profiler.enable");',
    'session.post("Profiler.setSamplingInterval", { interval: 500 });',
    'session.post("Profiler.start");',
    'process.on("exit", () => session.post("Profiler.stop", (error, answer) => {',
    `  if (!error) writeFileSync(${JSON.stringify(dir)} + "/server-" + process.pid + ".cpuprofile", JSON.stringify(answer.profile));`,
    "}));",
  ].join("\n");
  return `--import=data:text/javascript,${encodeURIComponent(code)}`;
}

const server = await startTestServer(CPU_PROF ? { env: { NODE_OPTIONS: cpuProfilePreload(CPU_PROF) } } : {});
const ecs = new ECSClient(sdkConfig(server));
const network = defaultNetwork({ accountId: server.accountId, region: server.region });
const subnets = network.subnets.slice(0, 3);
const networkConfiguration = { awsvpcConfiguration: { subnets: subnets.map((subnet) => subnet.subnetId), assignPublicIp: "DISABLED" as const } };
const agents = Array.from(
  { length: HOSTS },
  (_, i) =>
    new ScriptedAgent(server, {
      hostId: `scale-${i + 1}`,
      availabilityZone: subnets[i % 3]!.availabilityZone,
      taskSlots: SLOTS,
      batchReports: REPORTS === "batched",
    }),
);
const results: Record<string, unknown> = { tasks: TASKS, hosts: HOSTS, slotsPerHost: SLOTS, reports: REPORTS, machine: "2-core VM", loadAtStart: load() };

/** The server process's CPU time so far (user + system), from /proc (clock ticks of 10 ms). */
function serverCpuMs(): number {
  const fields = readFileSync(`/proc/${server.process.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
const benchCpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** How many of the hosts' tasks are RUNNING (reported and committed: the agent counts a task once its report was taken), of those `which` picks. */
function runningOnHosts(which: (taskArn: string) => boolean): number {
  let count = 0;
  for (const agent of agents) for (const arn of agent.runningTasks()) if (which(arn)) count++;
  return count;
}
const inCluster = (cluster: string) => (arn: string) => arn.includes(`:task/${cluster}/`);
const runningAnywhere = (arn: string) => agents.some((agent) => agent.isRunning(arn));

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Tasks this run has launched so far: all stopped between phases, and kept in the store for its
 * retention (an hour), where every query that reads stopped tasks too meets them.
 */
let launched = 0;

async function runTasks(cluster: string, count: number): Promise<string[]> {
  launched += count;
  const answer = await ecs.send(new RunTaskCommand({ cluster, taskDefinition: "small:1", count, launchType: "FARGATE", networkConfiguration }));
  if (answer.failures?.length) throw new Error(`RunTask failures: ${JSON.stringify(answer.failures)}`);
  return answer.tasks!.map((task) => task.taskArn!);
}

/** StopTask for each (10 at a time), then until no host runs any of them. */
async function stopAll(cluster: string, arns: readonly string[]): Promise<void> {
  for (let i = 0; i < arns.length; i += 10) await Promise.all(arns.slice(i, i + 10).map((task) => ecs.send(new StopTaskCommand({ cluster, task }))));
  const set = new Set(arns);
  await until(`${arns.length} tasks stopped`, () => runningOnHosts((arn) => set.has(arn)) === 0, 300_000, 50);
}

async function describeService(cluster: string, name: string): Promise<Service> {
  return (await ecs.send(new DescribeServicesCommand({ cluster, services: [name] }))).services![0]!;
}

const stable = (service: Service) =>
  service.deployments?.length === 1 && service.deployments[0]!.rolloutState === "COMPLETED" && service.runningCount === service.desiredCount;

async function createService(cluster: string, serviceName: string, desiredCount: number): Promise<void> {
  launched += desiredCount;
  await ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName,
      taskDefinition: "small:1",
      desiredCount,
      launchType: "FARGATE",
      networkConfiguration,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
    }),
  );
}

/** Force-deletes a service and waits until its tasks are stopped on the hosts and it is INACTIVE. */
async function deleteService(cluster: string, serviceName: string): Promise<number> {
  const t = performance.now();
  await ecs.send(new DeleteServiceCommand({ cluster, service: serviceName, force: true }));
  const prefix = `:task/${cluster}/`;
  await until(
    `service ${serviceName} drained`,
    async () => runningOnHosts((arn) => arn.includes(prefix)) === 0 && (await describeService(cluster, serviceName)).status === "INACTIVE",
    300_000,
    100,
  );
  return performance.now() - t;
}

/** A 10-task service: CreateService to services-stable (DescribeServices every 50 ms); deleted after. */
async function smallService(name: string): Promise<number> {
  const t = performance.now();
  await createService(PROBE_CLUSTER, name, SMALL_TASKS);
  await until(`service ${name} stable`, async () => stable(await describeService(PROBE_CLUSTER, name)), 300_000, 50);
  return performance.now() - t;
}

// ---------------------------------------------------------------------------------------------
// Probes: one RunTask of count 1 every PROBE_EVERY_MS on the probe cluster, each task stopped once RUNNING.
// ---------------------------------------------------------------------------------------------

interface ProbeFigures {
  readonly samples: number;
  readonly answerP50Ms: number;
  readonly answerP99Ms: number;
  readonly answerMaxMs: number;
  readonly runningP50Ms: number;
  readonly runningP99Ms: number;
}

class Probes {
  /** Per probe: when its RunTask was sent (performance.now()), its answer time, and its time to RUNNING once known. */
  private readonly samples: { atMs: number; answerMs: number; runningMs?: number }[] = [];
  private readonly pending: Promise<void>[] = [];
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  /** Probes until stop() (or `limit` samples). */
  start(limit = Number.POSITIVE_INFINITY): this {
    this.loop = (async () => {
      for (let n = 0; n < limit && !this.stopped; n++) {
        const next = performance.now() + PROBE_EVERY_MS;
        await this.probe();
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
    return this;
  }

  private async probe(): Promise<void> {
    const t = performance.now();
    const [arn] = await runTasks(PROBE_CLUSTER, 1);
    const sample: { atMs: number; answerMs: number; runningMs?: number } = { atMs: t, answerMs: performance.now() - t };
    this.samples.push(sample);
    this.pending.push(
      (async () => {
        await until(`probe ${arn} RUNNING`, () => runningAnywhere(arn!), 300_000, 5);
        sample.runningMs = performance.now() - t;
        await ecs.send(new StopTaskCommand({ cluster: PROBE_CLUSTER, task: arn! }));
        await until(`probe ${arn} stopped`, () => !runningAnywhere(arn!), 300_000, 20);
      })(),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.finished();
  }

  async finished(): Promise<void> {
    await this.loop;
    await Promise.all(this.pending);
  }

  /** The probes sent from `fromMs` until `toMs` (performance.now() times). */
  figures(fromMs = 0, toMs = Number.POSITIVE_INFINITY): ProbeFigures {
    const within = this.samples.filter((sample) => sample.atMs >= fromMs && sample.atMs < toMs);
    const answers = within.map((sample) => sample.answerMs);
    const running = within.map((sample) => sample.runningMs!);
    if (within.length === 0)
      return { samples: 0, answerP50Ms: Number.NaN, answerP99Ms: Number.NaN, answerMaxMs: Number.NaN, runningP50Ms: Number.NaN, runningP99Ms: Number.NaN };
    return {
      samples: within.length,
      answerP50Ms: round(percentile(answers, 50)),
      answerP99Ms: round(percentile(answers, 99)),
      answerMaxMs: round(Math.max(...answers)),
      runningP50Ms: round(percentile(running, 50)),
      runningP99Ms: round(percentile(running, 99)),
    };
  }
}

/** Runs `work` and tells the server's and this process's CPU time over it. */
async function metered<T>(work: () => Promise<T>): Promise<{ value: T; wallMs: number; serverCpuMs: number; benchCpuMs: number }> {
  const [t, server0, bench0] = [performance.now(), serverCpuMs(), benchCpuMs()];
  const value = await work();
  return { value, wallMs: round(performance.now() - t), serverCpuMs: serverCpuMs() - server0, benchCpuMs: round(benchCpuMs() - bench0) };
}

// ---------------------------------------------------------------------------------------------
// The phases.
// ---------------------------------------------------------------------------------------------

interface IdleRow {
  readonly stoppedBefore: number;
  readonly probes: ProbeFigures;
  readonly probesServerCpuMs: number;
  readonly smallServiceStableMs: number;
  readonly load: number;
}

interface RunTaskRow {
  readonly stoppedBefore: number;
  readonly callers: number;
  readonly load: number;
  readonly callsMs: number;
  readonly allRunningMs: number;
  readonly tasksPerMinute: number;
  readonly serverCpuMs: number;
  readonly benchCpuMs: number;
  readonly probes: ProbeFigures;
  readonly probesWhileCalling: ProbeFigures;
  readonly probesAfterCalls: ProbeFigures;
  readonly stopAllMs: number;
}

type Milestone = "allPlacedMs" | "runningCountMs" | "stableMs" | "firstRunningMs" | "tenthRunningMs" | "halfRunningMs" | "allRunningOnHostsMs";

interface ServiceRow extends Record<Milestone, number> {
  readonly stoppedBefore: number;
  readonly load: number;
  readonly createServiceMs: number;
  readonly tasksPerMinuteToAllRunning: number;
  readonly tasksPerMinuteToStable: number;
  readonly serverCpuMs: number;
  readonly benchCpuMs: number;
  readonly probes: ProbeFigures;
  readonly probesWhilePlacing: ProbeFigures;
  readonly probesAfterPlaced: ProbeFigures;
  readonly smallServiceStableMs: number;
  readonly passes: string[];
  readonly drainMs: number;
  readonly drainServerCpuMs: number;
}

async function idlePhase(r: number): Promise<IdleRow> {
  const stoppedBefore = launched;
  const probes = new Probes();
  const probing = await metered(() => probes.start(IDLE_PROBES).finished());
  const small = await smallService(`small-idle-${r}`);
  await deleteService(PROBE_CLUSTER, `small-idle-${r}`);
  const row = { stoppedBefore, probes: probes.figures(), probesServerCpuMs: probing.serverCpuMs, smallServiceStableMs: round(small), load: load() };
  console.log(JSON.stringify({ round: r, idle: row }));
  return row;
}

/** TASKS tasks by RunTask calls of count 10 from `callers` callers, to all RUNNING on the hosts; probes throughout. */
async function runTaskPhase(r: number, callers: number): Promise<RunTaskRow> {
  const loadAt = load();
  const stoppedBefore = launched;
  const probes = new Probes().start();
  const t = performance.now();
  const run = await metered(async () => {
    const arns: string[] = [];
    let next = 0;
    const calls = Math.ceil(TASKS / 10);
    await Promise.all(
      Array.from({ length: callers }, async () => {
        for (let call = next++; call < calls; call = next++) arns.push(...(await runTasks(CLUSTER, Math.min(10, TASKS - call * 10))));
      }),
    );
    const callsMs = performance.now() - t;
    const set = new Set(arns);
    await until(`${TASKS} RunTask tasks RUNNING`, () => runningOnHosts((arn) => set.has(arn)) === TASKS, 600_000);
    return { arns, callsMs, allRunningMs: performance.now() - t };
  });
  await probes.stop();
  const stop = await metered(() => stopAll(CLUSTER, run.value.arns));
  const row = {
    callers,
    load: loadAt,
    stoppedBefore,
    callsMs: round(run.value.callsMs),
    allRunningMs: round(run.value.allRunningMs),
    tasksPerMinute: perMinute(TASKS, run.value.allRunningMs),
    serverCpuMs: run.serverCpuMs,
    benchCpuMs: run.benchCpuMs,
    probes: probes.figures(t, t + run.value.allRunningMs),
    probesWhileCalling: probes.figures(t, t + run.value.callsMs),
    probesAfterCalls: probes.figures(t + run.value.callsMs, t + run.value.allRunningMs),
    stopAllMs: stop.wallMs,
  };
  console.log(JSON.stringify({ round: r, runTask: row }));
  return row;
}

/** The scheduler's launches as the service's events tell them: seconds since CreateService and tasks started, oldest first. */
function passesOf(service: Service, createdAtMs: number): string[] {
  return (service.events ?? [])
    .filter((event) => / has started \d+ tasks/.test(event.message ?? ""))
    .reverse()
    .map((event) => `+${((event.createdAt!.getTime() - createdAtMs) / 1000).toFixed(2)} s ${/has started (\d+) tasks/.exec(event.message!)![1]}`);
}

async function servicePhase(r: number): Promise<ServiceRow> {
  const name = `big-${r}`;
  const loadAt = load();
  const stoppedBefore = launched;
  const probes = new Probes().start();
  const milestones: Partial<Record<Milestone, number>> = {};
  let smallStableMs: Promise<number> | undefined;
  const wall = Date.now();
  const t = performance.now();
  const run = await metered(async () => {
    await createService(CLUSTER, name, TASKS);
    const createMs = performance.now() - t;
    setTimeout(
      () => {
        smallStableMs = smallService(`small-busy-${r}`);
        smallStableMs.catch(() => undefined); // awaited (and its failure thrown) after the launch
      },
      Math.max(0, SMALL_AFTER_MS - createMs),
    );
    const mark = (key: Milestone) => (milestones[key] ??= round(performance.now() - t));
    // The hosts' own count, sampled every 20 ms: when the tasks were RUNNING in the store.
    const onHosts = (async () => {
      for (;;) {
        const running = runningOnHosts(inCluster(CLUSTER));
        if (running >= 1) mark("firstRunningMs");
        if (running >= TASKS / 10) mark("tenthRunningMs");
        if (running >= TASKS / 2) mark("halfRunningMs");
        if (running >= TASKS) return mark("allRunningOnHostsMs");
        if (performance.now() - t > 600_000) throw new Error(`service ${name}: ${running} RUNNING after 600 s`);
        await sleep(20);
      }
    })();
    // What a user sees: DescribeServices every PROBE_EVERY_MS until stable.
    let service: Service;
    for (;;) {
      service = await describeService(CLUSTER, name);
      if ((service.runningCount ?? 0) + (service.pendingCount ?? 0) >= TASKS) mark("allPlacedMs");
      if ((service.runningCount ?? 0) >= TASKS) mark("runningCountMs");
      if (stable(service)) {
        mark("stableMs");
        break;
      }
      if (performance.now() - t > 600_000) throw new Error(`service ${name} not stable after 600 s`);
      await sleep(PROBE_EVERY_MS);
    }
    await onHosts;
    return { createMs, service };
  });
  await probes.stop();
  await until("the small service created", () => smallStableMs !== undefined, 10_000);
  const small = await smallStableMs!;
  await deleteService(PROBE_CLUSTER, `small-busy-${r}`);
  const drain = await metered(() => deleteService(CLUSTER, name));
  const reached = (key: Milestone) => milestones[key] ?? Number.NaN;
  const row: ServiceRow = {
    load: loadAt,
    stoppedBefore,
    createServiceMs: round(run.value.createMs),
    allPlacedMs: reached("allPlacedMs"),
    runningCountMs: reached("runningCountMs"),
    stableMs: reached("stableMs"),
    firstRunningMs: reached("firstRunningMs"),
    tenthRunningMs: reached("tenthRunningMs"),
    halfRunningMs: reached("halfRunningMs"),
    allRunningOnHostsMs: reached("allRunningOnHostsMs"),
    tasksPerMinuteToAllRunning: perMinute(TASKS, reached("allRunningOnHostsMs")),
    tasksPerMinuteToStable: perMinute(TASKS, reached("stableMs")),
    serverCpuMs: run.serverCpuMs,
    benchCpuMs: run.benchCpuMs,
    probes: probes.figures(t, t + reached("allRunningOnHostsMs")),
    probesWhilePlacing: probes.figures(t, t + reached("allPlacedMs")),
    probesAfterPlaced: probes.figures(t + reached("allPlacedMs"), t + reached("allRunningOnHostsMs")),
    smallServiceStableMs: round(small),
    passes: passesOf(run.value.service, wall),
    drainMs: drain.wallMs,
    drainServerCpuMs: drain.serverCpuMs,
  };
  console.log(JSON.stringify({ round: r, service: row }));
  return row;
}

// ---------------------------------------------------------------------------------------------

interface RoundRow {
  round: number;
  idle?: IdleRow;
  runTaskSequential?: RunTaskRow;
  runTaskConcurrent?: RunTaskRow;
  service?: ServiceRow;
}

const rounds: RoundRow[] = [];
try {
  for (const agent of agents) await agent.start();
  for (const clusterName of [CLUSTER, PROBE_CLUSTER]) await ecs.send(new CreateClusterCommand({ clusterName }));
  await registerRevisions(ecs, "small", ["app"]);
  // Warm-up (first requests compile the server's paths): a few probes and one small service, not counted.
  await new Probes().start(10).finished();
  await smallService("warm-up");
  await deleteService(PROBE_CLUSTER, "warm-up");
  for (let r = 1; r <= ROUNDS; r++) {
    const row: RoundRow = { round: r };
    if (wanted.has("idle")) row.idle = await idlePhase(r);
    const order = r % 2 === 1 ? ["runtask", "service"] : ["service", "runtask"];
    for (const phase of order) {
      if (!wanted.has(phase)) continue;
      if (phase === "service") row.service = await servicePhase(r);
      else {
        row.runTaskSequential = await runTaskPhase(r, 1);
        row.runTaskConcurrent = await runTaskPhase(r, CONCURRENT);
      }
    }
    rounds.push(row);
  }
  results.rounds = rounds;
  // Same-round ratios: the service against the RunTask baselines, probes during launches against idle.
  // Same-round ratios: the service against the RunTask baselines; probes and the small service during each launch against idle.
  const vsIdle = (idle: IdleRow, probes: ProbeFigures) => ({
    answerP50: ratio(probes.answerP50Ms, idle.probes.answerP50Ms),
    answerP99: ratio(probes.answerP99Ms, idle.probes.answerP99Ms),
    runningP50: ratio(probes.runningP50Ms, idle.probes.runningP50Ms),
    runningP99: ratio(probes.runningP99Ms, idle.probes.runningP99Ms),
  });
  results.summary = rounds.map(({ round: r, service, runTaskSequential: sequential, runTaskConcurrent: concurrent, idle }) => ({
    round: r,
    ...(service && sequential ? { serviceVsSequentialRunTask: ratio(service.allRunningOnHostsMs, sequential.allRunningMs) } : {}),
    ...(service && concurrent ? { serviceVsConcurrentRunTask: ratio(service.allRunningOnHostsMs, concurrent.allRunningMs) } : {}),
    ...(idle && service
      ? {
          probesDuringServiceVsIdle: vsIdle(idle, service.probes),
          probesWhilePlacingVsIdle: vsIdle(idle, service.probesWhilePlacing),
          smallServiceVsIdle: ratio(service.smallServiceStableMs, idle.smallServiceStableMs),
        }
      : {}),
    ...(idle && sequential ? { probesDuringSequentialRunTaskVsIdle: vsIdle(idle, sequential.probes) } : {}),
    ...(idle && concurrent ? { probesDuringConcurrentRunTaskVsIdle: vsIdle(idle, concurrent.probes) } : {}),
  }));
} catch (error) {
  console.error("bench failed:", error);
  process.exitCode = 1;
} finally {
  for (const agent of agents) await agent.stop();
  ecs.destroy();
  await server.stop();
  await server.cleanup();
}
console.log(JSON.stringify({ date: new Date().toISOString(), ...results }));
process.exit(process.exitCode ?? 0);
