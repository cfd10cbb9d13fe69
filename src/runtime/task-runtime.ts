// The task runtime: a task's cgroup budget and ephemeral storage, and its containers as OCI
// bundles run under conmon + runc. The agent drives it through its RuntimePort adapter; nothing
// here knows about the control plane or images beyond the unpacked layer directories it is given.
//
//   prepareTask ─▶ cgroup /berth/<task> (cpu quota, memory, pids) + ext4 ephemeral storage
//                  + the task's host uid/gid range (its containers' user namespace)
//   createContainer ─▶ idmapped overlay rootfs ─▶ user from the image ─▶ /etc files ─▶ config.json
//                      (joining the task's user and network namespaces) ─▶ conmon
//   removeContainer ─▶ runc delete, conmon gone ─▶ overlay unmounted
//   removeTask ─▶ cgroups removed (no process left) ─▶ everything under the task dir unmounted and
//                deleted ─▶ the uid range released
import type { ContainerDefinition, TaskDefinition } from "@aws-sdk/client-ecs";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chown, lstat, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { arch, release } from "node:os";
import { dirname, join } from "node:path";
import { confinedJoin } from "../core/confined-path.js";
import { ContainerSupervisor } from "./container-supervisor.js";
import type { SupervisedState } from "./container-supervisor.js";
import { readContainerLog } from "./container-log.js";
import type { ContainerLogChunk } from "./container-log.js";
import { hostHardLimits } from "./host-limits.js";
import { IdRanges } from "./id-ranges.js";
import type { IdRange } from "./id-ranges.js";
import { architecturesKernelLacks, readKernelConfig } from "./kernel-abis.js";
import { resolveUser } from "./image-user.js";
import { buildOciSpec, DEFAULT_CAPABILITIES } from "./oci-spec.js";
import type { ImageRuntimeConfig, OciMount } from "./oci-spec.js";
import type { CommandRunner } from "../core/command-runner.js";
import { DEFAULT_SECCOMP_PROFILE_PATH, resolveSeccompProfile } from "./seccomp-profile.js";
import { TaskCgroups } from "./task-cgroup.js";
import type { TaskBudget } from "./task-cgroup.js";
import { TaskFilesystems } from "./task-filesystem.js";
import type { SyncPipeStarter } from "./sync-pipe-start.js";

export interface TaskRuntimeOptions {
  /** Berth's agent state dir; the runtime uses <stateDir>/tasks and <stateDir>/containers. */
  readonly stateDir: string;
  readonly runtimePath?: string;
  readonly runtimeRoot?: string;
  readonly conmonPath?: string;
  /** A static init for initProcessEnabled; the first of tini-static and catatonit found. */
  readonly initPath?: string;
  readonly seccompProfilePath?: string;
  readonly cgroupRoot?: string;
  readonly run?: CommandRunner;
  /** How conmon is started (see ContainerSupervisor); in this process unless given. */
  readonly startSupervised?: SyncPipeStarter;
  /** Most bytes of one container's log file on the host (ContainerSupervisor's logSizeMaxBytes). */
  readonly logSizeMaxBytes?: number;
  /**
   * Where container roots and ephemeral storage are mounted: a tree a task's uid may
   * walk (see task-filesystem.ts). Default /run/berth/tasks/<hash of stateDir>, so runtimes with
   * different state dirs on one host never share it.
   */
  readonly exposedRoot?: string;
  /** Host-wide claims of uid ranges (id-ranges.ts); /run/berth/id-ranges unless given. */
  readonly idRangeClaimsDir?: string;
}

export interface ContainerLaunch {
  readonly taskId: string;
  readonly budget: TaskBudget;
  /** The effective task definition (volumes, and the sources of volumesFrom). */
  readonly taskDefinition: TaskDefinition;
  readonly container: ContainerDefinition;
  readonly image: ImageRuntimeConfig & { readonly user?: string; readonly layerDirs: readonly string[] };
  readonly platformEnv: Readonly<Record<string, string>>;
  /** `userNamespacePath`: the task's user namespace, which owns its network namespace (see network/task-networks.ts). */
  readonly network: {
    readonly netnsPath: string;
    readonly userNamespacePath: string;
    readonly ipv4: string;
    readonly hostname: string;
    readonly nameservers: readonly string[];
    readonly searchDomains: readonly string[];
  };
}

interface ContainerMeta {
  readonly taskId: string;
  readonly containerName: string;
}

const firstExisting = (paths: readonly string[]) => paths.find((path) => existsSync(path));
const nodeArchToOci: Record<string, string> = { x64: "amd64", arm64: "arm64", ia32: "x86", arm: "arm" };

/** A container's id in the runtime: unique per task and container name, valid for runc. */
export function runtimeIdOf(taskId: string, containerName: string): string {
  return `${taskId}-${containerName}`.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/**
 * Reads a file of the image's root, refusing symlinks anywhere on the way (an image's `etc` may be
 * a symlink to an absolute path, which the host would resolve against its own root).
 */
async function readImageFile(rootfs: string, path: string): Promise<string> {
  const full = join(rootfs, path);
  try {
    let dir = rootfs;
    for (const part of path.split("/").slice(0, -1)) {
      dir = join(dir, part);
      if (!(await lstat(dir)).isDirectory()) return "";
    }
    return (await lstat(full)).isFile() ? await readFile(full, "utf8") : "";
  } catch {
    return "";
  }
}

export class TaskRuntime {
  readonly cgroups: TaskCgroups;
  readonly filesystems: TaskFilesystems;
  readonly supervisor: ContainerSupervisor;
  private readonly hardLimits = hostHardLimits();
  private readonly seccompText: string;
  private readonly seccompProfiles = new Map<string, object>();
  private readonly kernelLacks = architecturesKernelLacks(readKernelConfig());
  private readonly initPath: string | undefined;

  private readonly idRanges: IdRanges;

  constructor(private readonly options: TaskRuntimeOptions) {
    this.cgroups = new TaskCgroups(options.cgroupRoot);
    const stateId = createHash("sha256").update(options.stateDir).digest("hex").slice(0, 12);
    this.filesystems = new TaskFilesystems({
      root: join(options.stateDir, "tasks"),
      exposedRoot: options.exposedRoot ?? join("/run/berth/tasks", stateId),
      run: options.run,
    });
    this.idRanges = new IdRanges(join(options.stateDir, "tasks"), options.idRangeClaimsDir);
    this.supervisor = new ContainerSupervisor({
      root: join(options.stateDir, "containers"),
      runtimePath: options.runtimePath ?? "/usr/sbin/runc",
      runtimeRoot: options.runtimeRoot ?? "/run/berth/runc",
      conmonPath: options.conmonPath ?? "/usr/bin/conmon",
      run: options.run,
      startSupervised: options.startSupervised,
      ...(options.logSizeMaxBytes !== undefined ? { logSizeMaxBytes: options.logSizeMaxBytes } : {}),
    });
    this.seccompText = readFileSync(options.seccompProfilePath ?? DEFAULT_SECCOMP_PROFILE_PATH, "utf8");
    this.initPath = options.initPath ?? firstExisting(["/usr/bin/tini-static", "/usr/libexec/podman/catatonit", "/usr/bin/catatonit"]);
  }

  async prepareTask(taskId: string, budget: TaskBudget, ephemeralStorageGiB: number): Promise<void> {
    this.cgroups.ensure(taskId, budget);
    await this.filesystems.prepare(taskId, ephemeralStorageGiB, await this.idRanges.acquire(taskId));
  }

  async removeTask(taskId: string): Promise<void> {
    // The cgroups go first: removing them fails while a process of the task lives, and until then
    // the task keeps its range (and its record of it) so no new task gets those uids.
    this.cgroups.remove(taskId);
    await this.filesystems.remove(taskId);
    this.idRanges.release(taskId);
  }

  /**
   * The host uid/gid range of a task's user namespace (container uid N is host uid base + N),
   * allocated on first call. The agent asks before the task's network namespace is made: that
   * namespace belongs to the task's user namespace.
   */
  idRange(taskId: string): Promise<IdRange> {
    return this.idRanges.acquire(taskId);
  }

  private metaPath(runtimeId: string): string {
    return join(confinedJoin(join(this.options.stateDir, "containers"), [runtimeId], "container runtime id"), "meta.json");
  }

  private meta(runtimeId: string): ContainerMeta | undefined {
    const path = this.metaPath(runtimeId);
    return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as ContainerMeta) : undefined;
  }

  /**
   * Idempotent: a container already created is left as it is. Anything else left by an earlier
   * attempt (an agent crash mid-create) is removed first, and a failed create removes what it
   * made, so nothing (conmon, runtime state, overlay mount, files) outlives a failure.
   */
  async createContainer(launch: ContainerLaunch): Promise<string> {
    const runtimeId = runtimeIdOf(launch.taskId, launch.container.name ?? "");
    if (this.supervisor.created(runtimeId)) return runtimeId;
    if (this.supervisor.exists(runtimeId)) await this.removeContainer(runtimeId);
    try {
      await this.createFresh(launch, runtimeId);
    } catch (error) {
      await this.removeContainer(runtimeId).catch(() => undefined);
      throw error;
    }
    return runtimeId;
  }

  private async createFresh(launch: ContainerLaunch, runtimeId: string): Promise<void> {
    const name = launch.container.name ?? "";
    this.cgroups.ensure(launch.taskId, launch.budget);
    // The meta file first: removeContainer finds the overlay to unmount through it. File work on
    // a launch is asynchronous: with many tasks starting, the disk is busy and a synchronous
    // mkdir or write would hold up every other task (and the control plane) on the event loop.
    await mkdir(dirname(this.metaPath(runtimeId)), { recursive: true });
    await writeFile(this.metaPath(runtimeId), JSON.stringify({ taskId: launch.taskId, containerName: name } satisfies ContainerMeta));
    const ids = await this.idRanges.acquire(launch.taskId);
    const rootfs = await this.filesystems.mountContainer(launch.taskId, name, launch.image.layerDirs, ids);
    const [passwd, group] = await Promise.all([readImageFile(rootfs, "etc/passwd"), readImageFile(rootfs, "etc/group")]);
    const user = resolveUser(launch.container.user ?? launch.image.user, passwd, group);
    const architecture = nodeArchToOci[arch()] ?? arch();
    const capabilities = [
      ...DEFAULT_CAPABILITIES,
      ...(launch.container.linuxParameters?.capabilities?.add ?? []).map((cap) => `CAP_${cap.replace(/^CAP_/, "")}`),
    ];
    const spec = buildOciSpec({
      definition: launch.container,
      image: launch.image,
      user,
      platformEnv: { HOSTNAME: launch.network.hostname, ...launch.platformEnv },
      hostname: launch.network.hostname,
      rootfsPath: rootfs,
      ids,
      userNamespacePath: launch.network.userNamespacePath,
      netnsPath: launch.network.netnsPath,
      cgroupsPath: this.cgroups.containerPath(launch.taskId, name),
      mounts: [...(await this.etcMounts(launch, ids)), ...(await this.volumeMounts(launch, ids))],
      initPath: this.initPath,
      seccomp: this.seccompFor(architecture, capabilities),
      hostHardLimits: this.hardLimits,
    });
    const bundle = confinedJoin(join(this.filesystems.taskDir(launch.taskId), "containers"), [name], "container name");
    await mkdir(bundle, { recursive: true });
    // The config holds the container's environment, secrets included: root-only (0600), and made
    // new each time so a file left by an earlier create never keeps a wider mode.
    const configPath = join(bundle, "config.json");
    await rm(configPath, { force: true });
    await writeFile(configPath, JSON.stringify(spec), { mode: 0o600, flag: "wx" });
    await this.supervisor.create(runtimeId, bundle);
  }

  /** The resolved profile depends only on these inputs: parsed once per capability set, not per container. */
  private seccompFor(architecture: string, capabilities: readonly string[]): object {
    const key = `${architecture}|${[...capabilities].sort().join(",")}`;
    let profile = this.seccompProfiles.get(key);
    if (!profile) {
      profile = resolveSeccompProfile(this.seccompText, { architecture, capabilities, kernelRelease: release(), kernelLacks: this.kernelLacks });
      this.seccompProfiles.set(key, profile);
    }
    return profile;
  }

  /** /etc/hosts, /etc/hostname and /etc/resolv.conf of the task's network, one copy per container. */
  private async etcMounts(launch: ContainerLaunch, ids: IdRange): Promise<OciMount[]> {
    const dir = await this.filesystems.containerFilesDir(launch.taskId, launch.container.name ?? "");
    const { hostname, ipv4 } = launch.network;
    const short = hostname.split(".")[0]!;
    const extra = (launch.container.extraHosts ?? []).map((entry) => `${entry.ipAddress} ${entry.hostname}`);
    const files: Record<string, string> = {
      hosts: [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        `${ipv4}\t${hostname}${short !== hostname ? ` ${short}` : ""}`,
        ...extra,
        "",
      ].join("\n"),
      hostname: `${hostname}\n`,
      "resolv.conf": [
        ...(launch.network.searchDomains.length ? [`search ${launch.network.searchDomains.join(" ")}`] : []),
        ...launch.network.nameservers.map((server) => `nameserver ${server}`),
        "",
      ].join("\n"),
    };
    // Owned by container root, as Docker makes them: a container may rewrite its own /etc/hosts.
    await Promise.all(
      Object.entries(files).map(([file, content]) => writeFile(join(dir, file), content).then(() => chown(join(dir, file), ids.base, ids.base))),
    );
    return Object.keys(files).map((file) => ({ destination: `/etc/${file}`, type: "bind", source: join(dir, file), options: ["rbind", "rprivate"] }));
  }

  /** mountPoints on task volumes, and volumesFrom other containers of the task. */
  private async volumeMounts(launch: ContainerLaunch, ids: IdRange): Promise<OciMount[]> {
    const containers = launch.taskDefinition.containerDefinitions ?? [];
    const mountsOf = (container: ContainerDefinition, forceReadOnly: boolean) =>
      (container.mountPoints ?? [])
        .filter((point) => point.sourceVolume && point.containerPath)
        .map((point) => ({ point, readOnly: forceReadOnly || point.readOnly === true }));
    const fromOthers = (launch.container.volumesFrom ?? []).flatMap((from) => {
      const source = containers.find((candidate) => candidate.name === from.sourceContainer);
      return source ? mountsOf(source, from.readOnly === true) : [];
    });
    return Promise.all(
      [...mountsOf(launch.container, false), ...fromOthers].map(async ({ point, readOnly }) => ({
        destination: point.containerPath!,
        type: "bind",
        source: await this.filesystems.volumeDir(launch.taskId, point.sourceVolume!, ids),
        // nosuid and nodev as the task's storage is mounted: in a user namespace those flags are
        // locked, and runc 1.1's read-only remount fails (EPERM) unless it keeps them.
        options: ["rbind", "rprivate", "nosuid", "nodev", readOnly ? "ro" : "rw"],
      })),
    );
  }

  start(runtimeId: string): Promise<void> {
    return this.supervisor.start(runtimeId);
  }

  async state(runtimeId: string): Promise<SupervisedState> {
    const state = await this.supervisor.state(runtimeId);
    return state.kind === "exited" ? { ...state, oomKilled: this.oomKilled(runtimeId, state.exitCode, state.oomKilled) } : state;
  }

  async waitExit(runtimeId: string, signal?: AbortSignal): Promise<{ exitCode: number; oomKilled: boolean }> {
    const exit = await this.supervisor.waitExit(runtimeId, signal);
    return { exitCode: exit.exitCode, oomKilled: this.oomKilled(runtimeId, exit.exitCode, exit.oomKilled) };
  }

  /**
   * Whether a 137 exit was an OOM kill of this container. The authority is the container's own
   * cgroup counter: the kernel counts a kill in the victim's cgroup, whichever limit (container or
   * task) was hit. conmon's oom file is not enough on its own: conmon is notified of an OOM
   * anywhere in the task's memory cgroup, so a sibling's OOM would label this container too. It
   * is used only when the cgroup is already gone.
   */
  private oomKilled(runtimeId: string, exitCode: number, seenByConmon: boolean): boolean {
    if (exitCode !== 137) return false;
    const meta = this.meta(runtimeId);
    const kills = meta ? this.cgroups.containerOomKills(meta.taskId, meta.containerName) : undefined;
    return kills === undefined ? seenByConmon : kills > 0;
  }

  kill(runtimeId: string, signal: string): Promise<void> {
    return this.supervisor.kill(runtimeId, signal);
  }

  exec(runtimeId: string, argv: readonly string[], timeoutMs: number): Promise<{ exitCode: number }> {
    return this.supervisor.exec(runtimeId, argv, timeoutMs);
  }

  async removeContainer(runtimeId: string): Promise<void> {
    const meta = this.meta(runtimeId);
    await this.supervisor.remove(runtimeId);
    if (meta) await this.filesystems.unmountContainer(meta.taskId, meta.containerName);
  }

  readLogs(runtimeId: string, offset: number, options: { final?: boolean } = {}): Promise<ContainerLogChunk> {
    return readContainerLog(this.supervisor.logPath(runtimeId), offset, options);
  }
}
