// One HAProxy per load balancer node, in the network namespace the caller gives, its state in the
// state dir the caller gives:
//
//   <stateDir>/haproxy.cfg      the config the master reads (at start and at every reload)
//   <stateDir>/haproxy.pid      the master's pid (-p)
//   <stateDir>/master.sock      the master CLI (-S): `reload`, `show proc`
//   <stateDir>/admin.sock       the worker's stats socket, level admin: runtime API, `show stat`
//   <stateDir>/servers.state    server states dumped before a reload (health survives it)
//   <stateDir>/model.json       the model last applied (what the next apply compares with)
//   <stateDir>/pending.json     targets added and not yet seen UP (their health is `initial`)
//   <stateDir>/responses/       fixed-response bodies
//
//   start(model)  running already (pidfile → a live haproxy of this config)? apply; else write,
//                 `haproxy -c`, launch the master daemonized under nsenter, wait for the socket;
//                 new targets start in maintenance and are readied with their health down (they
//                 serve after `rise` passes, as AWS's after the healthy threshold)
//   apply(model)  write + `haproxy -c` first (a bad config never replaces a good one), then:
//                 only targets changed (and no cookie stickiness there) → runtime API: add server /
//                 enable health / set server state ready|drain|maint / shutdown sessions / del
//                 server; anything else, or a runtime command refused → dump server states and
//                 `reload` on the master CLI: the new worker takes the listening sockets over (no
//                 refused connection); the old one finishes what it has (up to hard-stop-after)
//   health()      `show stat` → TargetHealth per target (target-health.ts)
//   stop()        TERM to the master (and its workers), then the state dir is removed
//
// Every call is serialised, and each one can be replayed after the agent restarts: the running
// master is found again by its pidfile and checked by its command line before it is trusted.
import { connect } from "node:net";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { CommandRunner } from "../core/command-runner.js";
import { ADMIN_SOCKET, SERVER_STATE_FILE, backendName, compileHaproxyConfig, serverKey, serverName, serverOptions } from "./haproxy-config.js";
import { validateLoadBalancerModel } from "./load-balancer-model.js";
import type { LoadBalancerModel, TargetGroupModel, TargetModel } from "./load-balancer-model.js";
import { targetHealth } from "./target-health.js";
import type { ServerCheck, TargetHealth } from "./target-health.js";

export interface HaproxyNodeOptions {
  /** The namespace the listeners bind in (/run/netns/<name>). */
  readonly netnsPath: string;
  /** Owned by this node: created at start, removed at stop. */
  readonly stateDir: string;
  readonly run: CommandRunner;
  readonly haproxyPath?: string | undefined;
  /** The account HAProxy's workers run as (default nobody:nogroup); the master stays root. */
  readonly workerUser?: { readonly user: string; readonly group: string } | undefined;
  /** How long start and reload wait for HAProxy to answer. */
  readonly readyTimeoutMs?: number | undefined;
}

export interface TargetHealthReport {
  readonly targetGroupId: string;
  readonly ip: string;
  readonly port: number;
  readonly health: TargetHealth;
  /** Connections the target has now (what the caller's deregistration delay may wait for). */
  readonly activeConnections: number;
}

export type ApplyMode = "started" | "runtime" | "reload" | "unchanged";

const NETNS_PATH = /^\/[A-Za-z0-9_./-]+$/;
const MASTER_SOCKET = "master.sock";
const PID_FILE = "haproxy.pid";
const CONFIG_FILE = "haproxy.cfg";
const MODEL_FILE = "model.json";
/** Targets not seen UP since they were added ("backend/server"): their health is `initial`, not `unhealthy`. */
const PENDING_FILE = "pending.json";

export class HaproxyNode {
  private readonly stateDir: string;
  private readonly haproxy: string;
  private readonly readyTimeoutMs: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: HaproxyNodeOptions) {
    if (!NETNS_PATH.test(options.netnsPath) || options.netnsPath.split("/").includes("..")) throw new Error(`unsafe netns path ${options.netnsPath}`);
    this.stateDir = options.stateDir;
    this.haproxy = options.haproxyPath ?? "/usr/sbin/haproxy";
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  }

  start(model: LoadBalancerModel): Promise<ApplyMode> {
    return this.serial(async () => ((await this.masterPid()) === undefined ? this.launch(model) : this.applyNow(model)));
  }

  apply(model: LoadBalancerModel): Promise<ApplyMode> {
    return this.serial(async () => {
      if ((await this.masterPid()) === undefined) throw new Error(`load balancer node in ${this.stateDir} is not running`);
      return this.applyNow(model);
    });
  }

  health(): Promise<TargetHealthReport[]> {
    return this.serial(async () => {
      const model = this.appliedModel();
      if (!model) return [];
      const rows = parseStat(await this.command(ADMIN_SOCKET, "show stat"));
      const used = usedGroups(model);
      const pending = this.pending();
      const passed = [...pending].filter((key) => rows.get(key)?.status.startsWith("UP") || !rows.has(key));
      if (passed.length > 0) this.savePending(new Set([...pending].filter((key) => !passed.includes(key))));
      return model.targetGroups.flatMap((group) =>
        group.targets.map((target) => {
          const key = serverKey(group.id, target);
          const row = rows.get(key);
          const context = { draining: Boolean(target.draining), groupInUse: used.has(group.id), awaitingFirstPass: pending.has(key) && !passed.includes(key) };
          const health = targetHealth(row, context);
          return { targetGroupId: group.id, ip: target.ip, port: target.port, health, activeConnections: row?.currentSessions ?? 0 };
        }),
      );
    });
  }

  /** The process, its sockets and every file of the node; nothing is left when this returns. */
  stop(): Promise<void> {
    return this.serial(async () => {
      const pid = await this.masterPid();
      if (pid !== undefined) {
        await this.options.run("kill", ["-TERM", String(pid)]).catch(() => undefined);
        if (!(await waitUntil(() => !isAlive(pid), this.readyTimeoutMs))) {
          await this.options.run("kill", ["-KILL", String(pid)]).catch(() => undefined);
          await waitUntil(() => !isAlive(pid), this.readyTimeoutMs);
        }
      }
      // A worker whose master was killed outright (or an old one past its master) is killed too.
      const strays = processesRunning(join(this.stateDir, CONFIG_FILE));
      if (strays.length > 0) {
        await this.options.run("kill", ["-KILL", ...strays.map(String)]).catch(() => undefined);
        await waitUntil(() => strays.every((stray) => !isAlive(stray)), this.readyTimeoutMs);
      }
      rmSync(this.stateDir, { recursive: true, force: true });
    });
  }

  /**
   * The master's pid: the pidfile's, when it names a live HAProxy of this node's config; else (a
   * launch cut short before the pidfile, a pidfile removed) the process of this config whose
   * parent is not one too.
   */
  async masterPid(): Promise<number | undefined> {
    const config = join(this.stateDir, CONFIG_FILE);
    const pidFile = join(this.stateDir, PID_FILE);
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim().split("\n")[0]) : NaN;
    if (Number.isInteger(pid) && pid > 1 && runsConfig(pid, config)) return pid;
    const running = processesRunning(config);
    return running.find((candidate) => !running.includes(parentPid(candidate)));
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async launch(model: LoadBalancerModel): Promise<ApplyMode> {
    const added = serverKeys(model);
    await this.writeChecked(model, added);
    for (const stale of [MASTER_SOCKET, ADMIN_SOCKET, PID_FILE]) rmSync(join(this.stateDir, stale), { force: true });
    const args = [
      "-W",
      "-D",
      "-S",
      `${join(this.stateDir, MASTER_SOCKET)},mode,600`,
      "-f",
      join(this.stateDir, CONFIG_FILE),
      "-p",
      join(this.stateDir, PID_FILE),
    ];
    await this.options.run("nsenter", [`--net=${this.options.netnsPath}`, this.haproxy, ...args]);
    if (!(await waitUntil(async () => (await this.command(ADMIN_SOCKET, "show info").catch(() => "")).includes("Pid:"), this.readyTimeoutMs))) {
      throw new Error(`haproxy in ${this.stateDir} did not answer on its stats socket`);
    }
    await this.readyUnchecked(model, added);
    this.saveModel(model);
    return "started";
  }

  private async applyNow(model: LoadBalancerModel): Promise<ApplyMode> {
    const previous = this.appliedModel();
    if (previous && JSON.stringify(previous) === JSON.stringify(model)) return "unchanged";
    const known = previous ? serverKeys(previous) : new Set<string>();
    const added = new Set([...serverKeys(model)].filter((key) => !known.has(key)));
    await this.writeChecked(model, added);
    if (previous && onlyTargetsChanged(previous, model) && (await this.applyTargets(previous, model))) {
      this.saveModel(model);
      return "runtime";
    }
    await this.reload();
    await this.readyUnchecked(model, added);
    this.saveModel(model);
    return "reload";
  }

  /** Writes the bodies and the config, after `haproxy -c` accepted it; the running one is untouched until then. */
  private async writeChecked(model: LoadBalancerModel, added: ReadonlySet<string>): Promise<void> {
    validateLoadBalancerModel(model);
    const compiled = compileHaproxyConfig(
      model,
      { stateDir: this.stateDir, workerUser: this.options.workerUser ?? { user: "nobody", group: "nogroup" } },
      added,
    );
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    for (const [name, content] of compiled.files) {
      mkdirSync(dirname(join(this.stateDir, name)), { recursive: true, mode: 0o700 });
      writeFileAtomic(join(this.stateDir, name), content);
    }
    // The state file must exist and name its format's version, or every check and start warns.
    if (!existsSync(join(this.stateDir, SERVER_STATE_FILE))) writeFileAtomic(join(this.stateDir, SERVER_STATE_FILE), "1\n");
    const candidate = join(this.stateDir, `${CONFIG_FILE}.new`);
    writeFileSync(candidate, compiled.text, { mode: 0o600 });
    try {
      await this.options.run(this.haproxy, ["-c", "-q", "-f", candidate]);
    } catch (error) {
      rmSync(candidate, { force: true });
      throw error;
    }
    renameSync(candidate, join(this.stateDir, CONFIG_FILE));
  }

  /** Target changes through the runtime API; false when one is refused (the caller reloads instead). */
  private async applyTargets(previous: LoadBalancerModel, next: LoadBalancerModel): Promise<boolean> {
    for (const group of next.targetGroups) {
      const before = new Map(previous.targetGroups.find((old) => old.id === group.id)!.targets.map((target) => [serverName(target), target]));
      const after = new Map(group.targets.map((target) => [serverName(target), target]));
      for (const [name, target] of after) {
        const old = before.get(name);
        const commands = old ? stateCommands(group, target, old) : addCommands(group, target);
        if (!old) this.savePending(new Set([...this.pending(), serverKey(group.id, target)]));
        for (const [command, expected] of commands) if (!expected.test(await this.command(ADMIN_SOCKET, command))) return false;
      }
      for (const name of before.keys()) {
        if (after.has(name)) continue;
        const server = `${backendName(group.id)}/${name}`;
        await this.command(ADMIN_SOCKET, `set server ${server} state maint`);
        await this.command(ADMIN_SOCKET, `shutdown sessions server ${server}`);
        if (!/Server deleted/.test(await this.command(ADMIN_SOCKET, `del server ${server}`))) return false;
      }
    }
    return true;
  }

  /** A graceful reload through the master CLI, confirmed by its reload counter. */
  private async reload(): Promise<void> {
    const states = await this.command(ADMIN_SOCKET, "show servers state").catch(() => "");
    if (states.startsWith("1\n")) writeFileAtomic(join(this.stateDir, SERVER_STATE_FILE), states);
    const before = reloadCount(await this.command(MASTER_SOCKET, "show proc"));
    await this.command(MASTER_SOCKET, "reload").catch(() => undefined);
    let after = before;
    const done = await waitUntil(async () => {
      after = reloadCount(await this.command(MASTER_SOCKET, "show proc").catch(() => ""));
      return after.reloads > before.reloads;
    }, this.readyTimeoutMs);
    if (!done || after.failed > before.failed) throw new Error(`haproxy in ${this.stateDir} did not reload`);
    if (!(await waitUntil(async () => (await this.command(ADMIN_SOCKET, "show info").catch(() => "")).includes("Pid:"), this.readyTimeoutMs))) {
      throw new Error(`haproxy in ${this.stateDir} did not answer after its reload`);
    }
  }

  /**
   * New targets start in maintenance (config `disabled`, or `add server`); they are readied with
   * their health forced down in the same CLI line, so none gets a request before `rise` checks
   * pass (AWS's initial state; HAProxy's own start is "up, one failure from down").
   */
  private async readyUnchecked(model: LoadBalancerModel, added: ReadonlySet<string>): Promise<void> {
    if (added.size === 0) return;
    this.savePending(new Set([...this.pending(), ...added]));
    for (const group of model.targetGroups) {
      for (const target of group.targets) {
        if (added.has(serverKey(group.id, target))) await this.command(ADMIN_SOCKET, readyLine(group, target));
      }
    }
  }

  private pending(): Set<string> {
    const file = join(this.stateDir, PENDING_FILE);
    return new Set(existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as string[]) : []);
  }

  private savePending(keys: ReadonlySet<string>): void {
    writeFileAtomic(join(this.stateDir, PENDING_FILE), JSON.stringify([...keys]));
  }

  private appliedModel(): LoadBalancerModel | undefined {
    const file = join(this.stateDir, MODEL_FILE);
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as LoadBalancerModel) : undefined;
  }

  private saveModel(model: LoadBalancerModel): void {
    writeFileAtomic(join(this.stateDir, MODEL_FILE), JSON.stringify(model));
  }

  /** One command on one of the node's unix sockets; the answer is everything until HAProxy closes. */
  private command(socket: string, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const client = connect(join(this.stateDir, socket));
      const chunks: Buffer[] = [];
      client.setTimeout(this.readyTimeoutMs, () => client.destroy(new Error(`${command}: no answer on ${socket}`)));
      // Half-closed after the command: the master CLI answers and closes only then.
      client.on("connect", () => client.end(`${command}\n`));
      client.on("data", (chunk) => chunks.push(chunk));
      client.on("error", reject);
      client.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  }
}

function serverKeys(model: LoadBalancerModel): Set<string> {
  return new Set(model.targetGroups.flatMap((group) => group.targets.map((target) => serverKey(group.id, target))));
}

/** Out of maintenance and down at once, in one CLI line: the server is never up unchecked. */
function readyLine(group: TargetGroupModel, target: TargetModel): string {
  const server = serverKey(group.id, target);
  return `set server ${server} state ${target.draining ? "drain" : "ready"}; set server ${server} health down`;
}

function addCommands(group: TargetGroupModel, target: TargetModel): [string, RegExp][] {
  const server = serverKey(group.id, target);
  return [
    [`add server ${server} ${target.ip}:${target.port} ${serverOptions(group, target).join(" ")}`, /New server registered/],
    [`enable health ${server}`, /^\s*$/],
    [readyLine(group, target), /^\s*$/],
  ];
}

function stateCommands(group: TargetGroupModel, target: TargetModel, old: TargetModel): [string, RegExp][] {
  if (Boolean(old.draining) === Boolean(target.draining)) return [];
  return [[`set server ${backendName(group.id)}/${serverName(target)} state ${target.draining ? "drain" : "ready"}`, /^\s*$/]];
}

/** Whether next differs from previous in targets alone, in groups without cookie stickiness (dynamic servers take no `cookie`). */
function onlyTargetsChanged(previous: LoadBalancerModel, next: LoadBalancerModel): boolean {
  const strip = (model: LoadBalancerModel) => JSON.stringify({ ...model, targetGroups: model.targetGroups.map((group) => ({ ...group, targets: [] })) });
  if (strip(previous) !== strip(next)) return false;
  return next.targetGroups.every(
    (group, index) => group.stickinessSeconds === undefined || JSON.stringify(group) === JSON.stringify(previous.targetGroups[index]),
  );
}

function usedGroups(model: LoadBalancerModel): Set<string> {
  const used = new Set<string>();
  for (const listener of model.listeners) {
    for (const action of [listener.defaultAction, ...listener.rules.map((rule) => rule.action)]) {
      if (action.type === "forward") for (const entry of action.targetGroups) used.add(entry.targetGroupId);
    }
  }
  return used;
}

interface StatRow extends ServerCheck {
  readonly currentSessions: number;
}

/** `show stat` CSV → rows by "backend/server". */
export function parseStat(csv: string): Map<string, StatRow> {
  const [header, ...lines] = csv.split("\n");
  const columns = (header ?? "").replace(/^# /, "").split(",");
  const at = (name: string) => columns.indexOf(name);
  const rows = new Map<string, StatRow>();
  for (const line of lines) {
    const fields = line.split(",");
    const [proxy, server] = [fields[at("pxname")], fields[at("svname")]];
    if (!proxy || !server || server === "FRONTEND" || server === "BACKEND") continue;
    const code = Number(fields[at("check_code")]);
    rows.set(`${proxy}/${server}`, {
      status: fields[at("status")] ?? "",
      checkStatus: (fields[at("check_status")] ?? "").replace(/^\* /, ""),
      checkCode: fields[at("check_code")] && Number.isInteger(code) ? code : undefined,
      currentSessions: Number(fields[at("scur")] ?? 0) || 0,
    });
  }
  return rows;
}

/** The master's line of `show proc`: "<pid> master <reloads> [failed: <n>] …". */
function reloadCount(showProc: string): { reloads: number; failed: number } {
  const match = /^\d+\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]/m.exec(showProc);
  return { reloads: Number(match?.[1] ?? -1), failed: Number(match?.[2] ?? 0) };
}

/** Whether pid is a live process started with `-f <config>`. */
function runsConfig(pid: number, config: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return args.some((arg, index) => arg === "-f" && args[index + 1] === config);
  } catch {
    return false;
  }
}

function processesRunning(config: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => runsConfig(pid, config));
}

function parentPid(pid: number): number {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after its ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    // A zombie holds nothing but its pid: it counts as gone.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

function writeFileAtomic(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
