// Containers under conmon + an OCI runtime (runc by default). conmon is the container's parent, so
// a container outlives the agent: conmon collects its exit code into a file, writes its stdout and
// stderr to a k8s-file log, and records an OOM kill, all on disk where a restarted agent finds
// them. Everything here is derived from files and the runtime's own state, so a new instance after
// a restart knows what the old one knew.
//
//   create ─▶ conmon (runs `runc create`, then waits on the container) ─▶ pidfile appears
//   start  ─▶ `runc start`             state ─▶ exit file? exited : runc state
//   kill   ─▶ `runc kill`              remove ─▶ `runc delete --force`, stop conmon, delete files
//
//   <root>/<runtimeId>/  conmon.pid  container.pid  exits/<runtimeId>  persist/  container.log
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch } from "node:fs";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { confinedJoin } from "../core/confined-path.js";
import type { CommandRunner } from "../core/command-runner.js";
import { CommandError, runCommand } from "../core/command-runner.js";
import { startWithSyncPipe } from "./sync-pipe-start.js";
import { forgetContainerLog } from "./container-log.js";
import type { SyncPipeStarter } from "./sync-pipe-start.js";

export interface SupervisorOptions {
  /** Where per-container supervision files live. */
  readonly root: string;
  /** The OCI runtime binary (runc or crun). */
  readonly runtimePath: string;
  /** The runtime's state root, private to Berth (so `runc list` elsewhere is untouched). */
  readonly runtimeRoot: string;
  readonly conmonPath: string;
  readonly run?: CommandRunner;
  /** Starts conmon and waits for its sync message (startWithSyncPipe, or the CommandLauncher's). */
  readonly startSupervised?: SyncPipeStarter;
  /** Most bytes of a container's log file on disk (conmon's --log-size-max); DEFAULT_LOG_SIZE_MAX_BYTES unless given. */
  readonly logSizeMaxBytes?: number;
}

/**
 * A container's log on the host is capped: past this conmon starts a new file (container-log.ts
 * says how the shipper's offsets survive that). It is shipped as it grows, so only a container
 * writing faster than the shipper (or one whose lines cannot be delivered) loses lines, and the
 * host's disk holds at most this much per container.
 */
export const DEFAULT_LOG_SIZE_MAX_BYTES = 32 * 1024 * 1024;

export type SupervisedState = { kind: "created" } | { kind: "running" } | { kind: "exited"; exitCode: number; oomKilled: boolean } | { kind: "missing" };

const PIDFILE_TIMEOUT_MS = 30_000;

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** Alive and not a zombie: an exited conmon waits for init to reap it, which can take a while. */
const processAlive = (pid: number): boolean => {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
};

/** SIGKILLs `pid` and every descendant (found through /proc's parent links), children first seen. */
export function killProcessTree(pid: number): void {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    if (!stat) continue;
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const victims: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    victims.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  for (const victim of victims) {
    try {
      process.kill(victim, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

export class ContainerSupervisor {
  private readonly run: CommandRunner;
  private readonly startSupervised: SyncPipeStarter;
  private execCounter = 0;

  constructor(private readonly options: SupervisorOptions) {
    this.run = options.run ?? runCommand;
    this.startSupervised = options.startSupervised ?? startWithSyncPipe;
    mkdirSync(options.root, { recursive: true });
  }

  private dir(id: string): string {
    return confinedJoin(this.options.root, [id], "container runtime id");
  }

  logPath(id: string): string {
    return join(this.dir(id), "container.log");
  }

  private exitFile(id: string): string {
    return join(this.dir(id), "exits", id);
  }

  private runtime(args: readonly string[], timeoutMs?: number): Promise<string> {
    return this.run(this.options.runtimePath, ["--root", this.options.runtimeRoot, ...args], { timeoutMs });
  }

  /**
   * Whether create finished for this id and conmon still supervises it. A container runc created
   * whose conmon is gone (it died before reporting, e.g. with nobody left to read its sync pipe)
   * would run with nothing collecting its output or its exit: it does not count as created, so it
   * is removed and made again.
   */
  created(id: string): boolean {
    return Boolean(readText(join(this.dir(id), "container.pid"))?.trim()) && this.conmonAlive(id);
  }

  private conmonAlive(id: string): boolean {
    const conmonPid = Number(readText(join(this.dir(id), "conmon.pid"))?.trim() || 0);
    return conmonPid > 0 && processAlive(conmonPid);
  }

  /** Whether anything of this id is on disk (a finished or an interrupted create). */
  exists(id: string): boolean {
    return existsSync(this.dir(id));
  }

  /**
   * Creates the container from a prepared bundle (config.json + rootfs); idempotent per id. On
   * failure the caller removes what was made (TaskRuntime.createContainer always does).
   */
  async create(id: string, bundleDir: string): Promise<void> {
    if (this.created(id)) return;
    const dir = this.dir(id);
    const pidFile = join(dir, "container.pid");
    await Promise.all(["exits", "persist", "sockets"].map((sub) => mkdir(join(dir, sub), { recursive: true })));
    const outcome = await this.startSupervised(
      this.options.conmonPath,
      [
        "--api-version",
        "1",
        "-c",
        id,
        "-u",
        id,
        "-n",
        id,
        "-r",
        this.options.runtimePath,
        "--runtime-arg",
        "--root",
        "--runtime-arg",
        this.options.runtimeRoot,
        "-b",
        bundleDir,
        "-p",
        pidFile,
        "-P",
        join(dir, "conmon.pid"),
        // Capped: conmon replaces the file with a new one past the size (a new inode, which
        // readContainerLog detects; the unshipped rest of the old one is dropped).
        "-l",
        `k8s-file:${this.logPath(id)}`,
        "--log-size-max",
        String(this.options.logSizeMaxBytes ?? DEFAULT_LOG_SIZE_MAX_BYTES),
        "--exit-dir",
        join(dir, "exits"),
        "-0",
        join(dir, "persist"),
        "--socket-dir-path",
        join(dir, "sockets"),
        "--syslog=false",
        "--log-level",
        "error",
      ],
      { cwd: dir, timeoutMs: PIDFILE_TIMEOUT_MS },
    );
    const { message, stderr } = outcome;
    if (message && message.data > 0) return;
    // A failed create: conmon's stderr (or the runtime's own exit file) says why.
    const runtimeError = readText(join(dir, "persist", "exit")) ?? "";
    const reason =
      message?.message?.trim() ||
      stderr.trim() ||
      runtimeError.trim() ||
      (message === undefined ? `conmon gave no pid within ${PIDFILE_TIMEOUT_MS} ms` : "the OCI runtime refused the container");
    throw new Error(`failed to create container: ${reason}`);
  }

  async start(id: string): Promise<void> {
    await this.runtime(["start", id]);
  }

  async state(id: string): Promise<SupervisedState> {
    const exit = this.readExit(id);
    if (exit) return exit;
    if (!existsSync(this.dir(id))) return { kind: "missing" };
    try {
      const status = (JSON.parse(await this.runtime(["state", id])) as { status: string }).status;
      // Created but unsupervised (see created()): as good as missing; the caller makes it again.
      if (status === "created") return this.conmonAlive(id) ? { kind: "created" } : { kind: "missing" };
      if (status === "running" || status === "paused") return { kind: "running" };
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
    }
    // Stopped (or gone) without an exit file: conmon died with it; give conmon a moment to write.
    await sleep(50);
    return this.readExit(id) ?? { kind: "missing" };
  }

  private readExit(id: string): { kind: "exited"; exitCode: number; oomKilled: boolean } | undefined {
    const text = readText(this.exitFile(id));
    if (text === undefined || text.trim() === "") return undefined;
    const dir = this.dir(id);
    const oomKilled = existsSync(join(dir, "oom")) || existsSync(join(dir, "persist", "oom"));
    return { kind: "exited", exitCode: Number(text.trim()), oomKilled };
  }

  /** Resolves when the container's exit is on disk (at once if it already is). */
  async waitExit(id: string, signal?: AbortSignal): Promise<{ exitCode: number; oomKilled: boolean }> {
    const exitsDir = join(this.dir(id), "exits");
    mkdirSync(exitsDir, { recursive: true });
    for (;;) {
      const exit = this.readExit(id);
      if (exit) return { exitCode: exit.exitCode, oomKilled: exit.oomKilled };
      if (signal?.aborted) throw signal.reason;
      const conmonPid = Number(readText(join(this.dir(id), "conmon.pid"))?.trim() || 0);
      if (conmonPid > 0 && !processAlive(conmonPid)) {
        await sleep(20);
        const late = this.readExit(id);
        if (late) return { exitCode: late.exitCode, oomKilled: late.oomKilled };
        throw new Error(`conmon for ${id} is gone without recording an exit`);
      }
      // inotify wakes us at once; the timeout re-checks conmon in case it died without a file.
      await new Promise<void>((resolve) => {
        const watcher = watch(exitsDir, () => finish());
        const timer = setTimeout(() => finish(), 1_000);
        const onAbort = () => finish();
        signal?.addEventListener("abort", onAbort, { once: true });
        function finish() {
          watcher.close();
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }
        if (this.readExit(id)) finish();
      });
    }
  }

  async kill(id: string, signal: string): Promise<void> {
    try {
      await this.runtime(["kill", id, signal.replace(/^SIG/, "")]);
    } catch (error) {
      // Already stopped: nothing to signal.
      if (error instanceof CommandError && /not running|container not found|does not exist|process already finished/i.test(error.stderr)) return;
      throw error;
    }
  }

  /**
   * Runs a command inside the running container (health checks); exit code 124 on timeout like
   * coreutils `timeout`. On timeout the command and everything it started inside the container
   * are SIGKILLed: `runc exec` only forwards signals, so a command that ignores SIGTERM (or a
   * child of it) would otherwise live on, one more every health-check interval.
   */
  async exec(id: string, argv: readonly string[], timeoutMs: number): Promise<{ exitCode: number }> {
    const pidFile = join(this.dir(id), `exec-${process.pid}-${++this.execCounter}.pid`);
    const child = spawn(this.options.runtimePath, ["--root", this.options.runtimeRoot, "exec", "--pid-file", pidFile, id, ...argv], { stdio: "ignore" });
    const exited = new Promise<number>((resolve) => {
      child.once("error", () => resolve(127));
      child.once("close", (code, signal) => resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0)));
    });
    const timer = new AbortController();
    try {
      const outcome = await Promise.race([exited, sleep(timeoutMs, "timeout" as const, { signal: timer.signal })]);
      if (outcome !== "timeout") return { exitCode: outcome };
      const pid = Number(readText(pidFile)?.trim() || 0);
      if (pid > 0) killProcessTree(pid);
      child.kill("SIGKILL");
      await exited;
      return { exitCode: 124 };
    } finally {
      timer.abort();
      rmSync(pidFile, { force: true });
    }
  }

  /** Deletes the container and its supervision files; tolerates it being gone already. */
  async remove(id: string): Promise<void> {
    await this.runtime(["delete", "--force", id]).catch((error: unknown) => {
      if (!(error instanceof CommandError && /not exist|not found/i.test(error.stderr))) throw error;
    });
    const conmonPid = Number(readText(join(this.dir(id), "conmon.pid"))?.trim() || 0);
    if (conmonPid > 0 && processAlive(conmonPid)) {
      process.kill(conmonPid, "SIGKILL");
      for (let i = 0; i < 100 && processAlive(conmonPid); i++) await sleep(10);
    }
    await rm(this.dir(id), { recursive: true, force: true });
    forgetContainerLog(this.logPath(id));
  }

  /** Container ids this supervisor has files for (reconciliation and leak checks). */
  list(): string[] {
    return existsSync(this.options.root) ? readdirSync(this.options.root) : [];
  }
}
