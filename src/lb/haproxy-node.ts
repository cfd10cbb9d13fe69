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
//   <stateDir>/responses/       fixed-response bodies (named by content; the unused removed after an apply)
//   <stateDir>/master.json      the master's pid and start time (/proc/<pid>/stat), saved at launch
//   <stateDir>/cookie.key       the node's random key for target stickiness cookie values
//
//   start(model)  running already (the recorded master, still itself)? apply; else write,
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
// master is found again by the pid recorded at launch, and trusted only when that pid still has
// the recorded start time (not a reused pid), runs the haproxy binary, is root's, and names this
// config. No process is ever picked by its command line alone: any user (a task too) can start a
// process whose arguments name our config, and it would then be "the master" — never launched
// over, and killed as root at stop.
//
// The state dir is root's and 0700 (refused otherwise); files are replaced through a temp file
// created exclusively (no one else's file or link is written through).
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { CommandRunner } from "../core/command-runner.js";
import {
  ADMIN_SOCKET,
  SERVER_STATE_FILE,
  backendName,
  compileHaproxyConfig,
  maxConnectionsFor,
  serverKey,
  serverName,
  serverOptions,
} from "./haproxy-config.js";
import { isAlive, openFileHardLimit, processStartTime, stillRuns, workersOf } from "./haproxy-process.js";
import type { MasterRecord, ProcessRecord } from "./haproxy-process.js";
import { validateLoadBalancerModel } from "./load-balancer-model.js";
import type { LoadBalancerModel, TargetGroupModel, TargetModel } from "./load-balancer-model.js";
import { targetHealth } from "./target-health.js";
import { parseCounters, workerPid } from "./haproxy-stats.js";
import type { StatCounters } from "./haproxy-stats.js";
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
const MASTER_FILE = "master.json";
const COOKIE_KEY_FILE = "cookie.key";
const RESPONSES_DIR = "responses";
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

  /** The running worker's traffic counters (haproxy-stats.ts) and its pid (a new pid: the counters restarted at zero); none before a model runs. */
  counters(): Promise<{ readonly workerPid: number; readonly rows: StatCounters[] } | undefined> {
    return this.serial(async () => {
      if (!this.appliedModel()) return undefined;
      const pid = workerPid(await this.command(ADMIN_SOCKET, "show info"));
      return pid === undefined ? undefined : { workerPid: pid, rows: parseCounters(await this.command(ADMIN_SOCKET, "show stat")) };
    });
  }

  /** The process, its sockets and every file of the node; nothing is left when this returns. */
  stop(): Promise<void> {
    return this.serial(async () => {
      const record = this.masterRecord();
      const pid = await this.masterPid();
      // Its workers: those seen at launch and reloads, and those under it now (each checked again before a signal).
      const workers = [...(record?.workers ?? []), ...(pid === undefined ? [] : workersOf(pid, this.haproxyBinary(), this.configPath()))];
      if (pid !== undefined) {
        await this.options.run("kill", ["-TERM", String(pid)]).catch(() => undefined);
        if (!(await waitUntil(() => !isAlive(pid), this.readyTimeoutMs))) {
          await this.options.run("kill", ["-KILL", String(pid)]).catch(() => undefined);
          await waitUntil(() => !isAlive(pid), this.readyTimeoutMs);
        }
      }
      // A worker whose master was killed outright leaves on its own (the master pipe closes); one
      // that has not yet is killed, by its recorded pid only, and only while it is that haproxy.
      const running = () => workers.filter((worker) => stillRuns(worker, this.haproxyBinary(), this.configPath(), false));
      if (!(await waitUntil(() => running().length === 0, 2_000))) {
        const strays = running().map((worker) => String(worker.pid));
        if (strays.length > 0) await this.options.run("kill", ["-KILL", ...strays]).catch(() => undefined);
        await waitUntil(() => running().length === 0, this.readyTimeoutMs);
      }
      rmSync(this.stateDir, { recursive: true, force: true });
    });
  }

  /**
   * The master's pid: the one recorded at launch, while it is still that process (same start
   * time), runs the haproxy binary as root and names this node's config; else undefined.
   */
  async masterPid(): Promise<number | undefined> {
    const record = this.masterRecord();
    return record && stillRuns(record, this.haproxyBinary(), this.configPath(), true) ? record.pid : undefined;
  }

  private configPath(): string {
    return join(this.stateDir, CONFIG_FILE);
  }

  /** The binary as /proc/<pid>/exe names it (symlinks resolved). */
  private haproxyBinary(): string {
    try {
      return realpathSync(this.haproxy);
    } catch {
      return this.haproxy;
    }
  }

  private masterRecord(): MasterRecord | undefined {
    const file = join(this.stateDir, MASTER_FILE);
    if (!this.stateDirIsOurs()) return undefined;
    try {
      if (!existsSync(file)) return this.pidFileRecord();
      const record = JSON.parse(readFileSync(file, "utf8")) as MasterRecord;
      return typeof record.pid === "number" && typeof record.startTime === "string" ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A master launched before master.json existed (an agent upgraded under a running node): the
   * pidfile HAProxy wrote in our 0700 dir, with the process's current start time; stillRuns still
   * requires the haproxy binary, root and this config before it is trusted.
   */
  private pidFileRecord(): MasterRecord | undefined {
    const pidFile = join(this.stateDir, PID_FILE);
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, "utf8").trim().split("\n")[0]);
    const startTime = Number.isInteger(pid) && pid > 1 ? processStartTime(pid) : undefined;
    return startTime === undefined ? undefined : { pid, startTime };
  }

  /** Records the master the pidfile names (HAProxy wrote it, in our 0700 dir) with its start time and workers. */
  private recordMaster(): void {
    const pid = Number(readFileSync(join(this.stateDir, PID_FILE), "utf8").trim().split("\n")[0]);
    const startTime = processStartTime(pid);
    if (!Number.isInteger(pid) || startTime === undefined) throw new Error(`haproxy in ${this.stateDir} wrote no usable pidfile`);
    const workers: ProcessRecord[] = workersOf(pid, this.haproxyBinary(), this.configPath());
    writeFileAtomic(join(this.stateDir, MASTER_FILE), JSON.stringify({ pid, startTime, workers }));
  }

  /** After a reload: the master's workers now, old ones still finishing included (kept until stop). */
  private recordWorkers(): void {
    const record = this.masterRecord();
    if (!record) return;
    const seen = new Map([...(record.workers ?? []), ...workersOf(record.pid, this.haproxyBinary(), this.configPath())].map((worker) => [worker.pid, worker]));
    const live = [...seen.values()].filter((worker) => processStartTime(worker.pid) === worker.startTime);
    writeFileAtomic(join(this.stateDir, MASTER_FILE), JSON.stringify({ ...record, workers: live }));
  }

  /** The state dir, when it exists, is a directory (no link), ours (root's) and 0700: anything else is refused. */
  private stateDirIsOurs(): boolean {
    if (!existsSync(this.stateDir)) return false;
    checkStateDir(this.stateDir);
    return true;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async launch(model: LoadBalancerModel): Promise<ApplyMode> {
    const added = serverKeys(model);
    const bodies = await this.writeChecked(model, added);
    this.removeBodiesBut(bodies);
    for (const stale of [MASTER_FILE]) rmSync(join(this.stateDir, stale), { force: true });
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
    // `-D`: the pidfile is written before the master detaches, so it names the master by now.
    this.recordMaster();
    await this.readyUnchecked(model, added);
    this.saveModel(model);
    return "started";
  }

  private async applyNow(model: LoadBalancerModel): Promise<ApplyMode> {
    const previous = this.appliedModel();
    if (previous && JSON.stringify(previous) === JSON.stringify(model)) return "unchanged";
    const known = previous ? serverKeys(previous) : new Set<string>();
    const added = new Set([...serverKeys(model)].filter((key) => !known.has(key)));
    const previousConfig = readFileSync(this.configPath(), "utf8");
    const bodies = await this.writeChecked(model, added);
    try {
      if (previous && onlyTargetsChanged(previous, model) && (await this.applyTargets(previous, model))) {
        this.saveModel(model);
        this.removeBodiesBut(bodies);
        return "runtime";
      }
      await this.reload();
    } catch (error) {
      // The running worker still serves the previous config: the file the master would read at
      // its next reload is that one again, not one that failed (its bodies were kept for it).
      writeFileAtomic(this.configPath(), previousConfig);
      throw error;
    }
    this.recordWorkers();
    await this.readyUnchecked(model, added);
    this.saveModel(model);
    this.removeBodiesBut(bodies);
    return "reload";
  }

  /**
   * Writes the bodies and the config, after `haproxy -c` accepted it; the running one is untouched
   * until then. Returns the body files the new config names.
   */
  private async writeChecked(model: LoadBalancerModel, added: ReadonlySet<string>): Promise<Set<string>> {
    validateLoadBalancerModel(model);
    if (!existsSync(this.stateDir)) mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    checkStateDir(this.stateDir);
    const compiled = compileHaproxyConfig(
      model,
      {
        stateDir: this.stateDir,
        workerUser: this.options.workerUser ?? { user: "nobody", group: "nogroup" },
        cookieKey: this.cookieKey(),
        maxConnections: maxConnectionsFor(openFileHardLimit()),
      },
      added,
    );
    if (!existsSync(join(this.stateDir, RESPONSES_DIR))) mkdirSync(join(this.stateDir, RESPONSES_DIR), { mode: 0o700 });
    for (const [name, content] of compiled.files) writeFileAtomic(join(this.stateDir, name), content);
    // The state file must exist and name its format's version, or every check and start warns.
    if (!existsSync(join(this.stateDir, SERVER_STATE_FILE))) writeFileAtomic(join(this.stateDir, SERVER_STATE_FILE), "1\n");
    const candidate = join(this.stateDir, `${CONFIG_FILE}.new`);
    writeFileExclusive(candidate, compiled.text);
    try {
      await this.options.run(this.haproxy, ["-c", "-q", "-f", candidate]);
    } catch (error) {
      rmSync(candidate, { force: true });
      throw error;
    }
    renameSync(candidate, this.configPath());
    return new Set(compiled.files.keys());
  }

  /** Bodies no config names any more (kept until the new one runs: a failed reload restores the old config). */
  private removeBodiesBut(keep: ReadonlySet<string>): void {
    for (const entry of readdirSync(join(this.stateDir, RESPONSES_DIR))) {
      if (!keep.has(`${RESPONSES_DIR}/${entry}`)) rmSync(join(this.stateDir, RESPONSES_DIR, entry), { force: true });
    }
  }

  /** The node's random key for stickiness cookie values, made once and kept with its state. */
  private cookieKey(): string {
    const file = join(this.stateDir, COOKIE_KEY_FILE);
    if (!existsSync(file)) writeFileAtomic(file, randomBytes(32).toString("hex"));
    return readFileSync(file, "utf8").trim();
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
    // no-check-ssl is refused for a dynamic server, whose checks are in clear unless check-ssl is given.
    [
      `add server ${server} ${target.ip}:${target.port} ${serverOptions(group, target)
        .filter((option) => option !== "no-check-ssl")
        .join(" ")}`,
      /New server registered/,
    ],
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

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/** Created, never opened if it exists (`wx`: no one else's file, no link followed); a stale one is removed first. */
function writeFileExclusive(path: string, content: string): void {
  rmSync(path, { force: true });
  writeFileSync(path, content, { mode: 0o600, flag: "wx" });
}

function writeFileAtomic(path: string, content: string): void {
  writeFileExclusive(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

/** Refuses a state dir that is a link, not a directory, not ours (the agent is root) or open to others; HAProxy runs what it reads there. */
export function checkStateDir(stateDir: string): void {
  const stat = lstatSync(stateDir);
  const uid = process.getuid?.() ?? 0;
  if (!stat.isDirectory() || stat.uid !== uid) throw new Error(`state dir ${stateDir} is not a directory owned by uid ${uid}`);
  if ((stat.mode & 0o777) !== 0o700) chmodSync(stateDir, 0o700);
}
