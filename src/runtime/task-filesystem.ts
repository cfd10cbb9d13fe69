// A task's files on the host. The writable side of every container lives on the task's ephemeral
// storage: a sparse file of the task's size (20 GiB by default) formatted ext4 and loop-mounted,
// so a task that fills it gets ENOSPC and nothing else on the host notices. Each container's root
// is an overlay: the image's unpacked layers read-only below, its upper/work dirs on that storage.
// Task volumes (`volumes` without a host path) are directories on the same storage.
//
// Containers run in a user namespace (their root is the task's unprivileged host uid range, see
// id-ranges.ts), so everything a container's runtime must reach by path lives in a separate
// "exposed" tree: the runtime's init, already in the namespace, must walk to its root and mount
// sources. The tree's top is 0711 (walk, not list); each task's directory is root:<range base>
// 0710, so only that task's uid (and root) gets further. The agent's data dir stays 0700.
//
//   <root>/<taskId>/ephemeral.img              sparse, ext4, no journal (HOST-NOTES recipe)
//   <root>/<taskId>/id-range                   the task's uid/gid range slot (id-ranges.ts)
//   <root>/<taskId>/containers/<name>/         the OCI bundle (config.json)
//   <exposed>/<taskId>/ephemeral/              the storage's mount: containers/<name>/{upper,work,etc}, volumes/<name>
//   <exposed>/<taskId>/containers/<name>/rootfs  the overlay: idmapped image layers below, upper above
//   (…/containers/<name>/etc holds /etc/hosts, hostname and resolv.conf, owned by the range: on the
//   task's size-limited storage, not on the host's /run, since a container may write to them)
//
// prepare/mountContainer are idempotent and remove tolerates anything missing, so both replay
// after an agent restart. Mounting with `-o loop` sets autoclear: unmounting frees the loop device.
import {
  chmodSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
  rmdirSync,
} from "node:fs";
import { chown, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { IdRange } from "./id-ranges.js";
import { confinedJoin } from "../core/confined-path.js";
import type { CommandRunner } from "../core/command-runner.js";
import { runCommand } from "../core/command-runner.js";
import { TaskMountsHelper } from "./task-mounts-helper.js";

/** Search-only for others: a container's init (an unprivileged uid) may walk through, not list. */
const EXPOSED_DIR_MODE = 0o711;

/** mkdir -p whose every created level (and `dir` itself) is EXPOSED_DIR_MODE. */
function mkdirExposedSync(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: EXPOSED_DIR_MODE });
  chmodSync(dir, EXPOSED_DIR_MODE);
}

/** Only the task's own range (and root) may walk into its directory. */
const TASK_DIR_MODE = 0o710;

const GiB = 1024 ** 3;

/** Mount points currently mounted, from the kernel's view (octal escapes decoded). */
export function mountedPaths(): Set<string> {
  return new Set(
    readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .map((path) => path.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))),
  );
}

/**
 * Whether something is mounted at `path`: its device differs from its parent's. A stat of two
 * paths, where reading /proc/self/mounts costs more with every task on the host (a launch and a
 * stop check several paths each, and 100 tasks mean 300 mounts).
 */
export function isMountPoint(path: string): boolean {
  try {
    return statSync(path).dev !== statSync(dirname(path)).dev;
  } catch {
    return false;
  }
}

export class TaskFilesystems {
  private readonly run: CommandRunner;
  private readonly pool: FormattedImagePool;
  private readonly mounts: TaskMountsHelper;

  constructor(private readonly options: { root: string; exposedRoot: string; run?: CommandRunner; poolSize?: number; mounts?: TaskMountsHelper }) {
    this.run = options.run ?? runCommand;
    this.mounts = options.mounts ?? new TaskMountsHelper(this.run);
    mkdirSync(options.root, { recursive: true });
    // Every level below /run/berth must be walkable by a task's uid: /run/berth made 0700 (as a
    // runtime's state dir makes it) would fail every launch with a permission error from runc.
    mkdirExposedSync(options.exposedRoot);
    for (let dir = dirname(options.exposedRoot); dir.startsWith("/run/berth"); dir = dirname(dir)) chmodSync(dir, EXPOSED_DIR_MODE);
    this.pool = new FormattedImagePool(join(options.root, "..", "ephemeral-pool"), options.poolSize ?? 2, (image, sizeGiB) =>
      this.format(image, sizeGiB, true),
    );
  }

  /** Formatted images waiting in the pool (for tests and the agent's status). */
  pooledImages(): string[] {
    return this.pool.list();
  }

  taskDir(taskId: string): string {
    return confinedJoin(this.options.root, [taskId], "task id");
  }

  /**
   * Removes this runtime's exposed root when no task's directory is left in it (agent shutdown):
   * a data dir that runs nothing leaves nothing in /run/berth/tasks. With tasks running it stays,
   * for the agent's next start to find them.
   */
  removeExposedRootIfEmpty(): void {
    try {
      rmdirSync(this.options.exposedRoot);
    } catch {
      // Not empty (tasks keep running across the agent's restart), or already gone.
    }
  }

  /** The task's directory in the exposed tree (see the layout above). */
  exposedDir(taskId: string): string {
    return confinedJoin(this.options.exposedRoot, [taskId], "task id");
  }

  private ephemeralDir(taskId: string): string {
    return join(this.exposedDir(taskId), "ephemeral");
  }

  /** MiB in use on the task's ephemeral storage (its ext4's own count), or undefined when it is not mounted. */
  ephemeralUsedMiB(taskId: string): number | undefined {
    const mountPoint = this.ephemeralDir(taskId);
    if (!isMountPoint(mountPoint)) return undefined;
    const stats = statfsSync(mountPoint);
    return Math.round(((stats.blocks - stats.bfree) * stats.bsize) / (1024 * 1024));
  }

  private exposedContainerDir(taskId: string, containerName: string): string {
    return confinedJoin(join(this.exposedDir(taskId), "containers"), [containerName], "container name");
  }

  /** Creates and mounts the task's ephemeral storage; the task's exposed directory is for `ids` alone. */
  async prepare(taskId: string, sizeGiB: number, ids: IdRange): Promise<void> {
    const mountPoint = this.ephemeralDir(taskId);
    if (isMountPoint(mountPoint)) return;
    await mkdir(this.taskDir(taskId), { recursive: true });
    const exposed = this.exposedDir(taskId);
    mkdirExposedSync(mountPoint);
    await chown(exposed, 0, ids.base);
    chmodSync(exposed, TASK_DIR_MODE);
    const image = join(this.taskDir(taskId), "ephemeral.img");
    // A formatted image from the pool when there is one (a rename), else mkfs now.
    if (!this.pool.take(sizeGiB, image)) await this.format(image, sizeGiB);
    this.pool.refillSoon(sizeGiB);
    // noinit_itable: no background zeroing of inode tables (ext4lazyinit) competing with the
    // launch for I/O; the tables stay marked uninitialised, which ext4 handles on its own.
    await this.run("mount", ["-o", "loop,nodev,nosuid,noinit_itable", image, mountPoint]);
    // The first directories on a fresh filesystem make ext4 set up its block group: on a busy
    // disk that waits for I/O, which must not hold the event loop (see TaskRuntime.createFresh).
    await Promise.all([mkdir(join(mountPoint, "containers"), { recursive: true }), mkdir(join(mountPoint, "volumes"), { recursive: true })]);
  }

  private async format(image: string, sizeGiB: number, background = false): Promise<void> {
    const fd = openSync(image, "w");
    try {
      ftruncateSync(fd, sizeGiB * GiB);
    } finally {
      closeSync(fd);
    }
    // Scratch storage, made per task and never resized or repaired: no journal, no blocks reserved
    // for online resize, no backup superblocks. That writes ~150 KiB instead of ~4.4 MiB and takes
    // ~5 ms instead of ~14 (measured here); inode tables are initialised lazily as before.
    const mkfs = [
      "mkfs.ext4",
      "-q",
      "-F",
      "-O",
      "^has_journal,^resize_inode,sparse_super2",
      "-E",
      "nodiscard,lazy_itable_init=1,num_backup_sb=0",
      "-m",
      "0",
      image,
    ];
    // A pool refill must not slow the launches in progress: it runs under the idle CPU scheduling
    // class (it gets a core only when no launch wants it) and the idle I/O class.
    if (background) await this.run("chrt", ["--idle", "0", "ionice", "-c", "3", ...mkfs]);
    else await this.run(mkfs[0]!, mkfs.slice(1));
  }

  /**
   * Mounts a container's overlay root; `layerDirs` bottom first. The image layers are idmapped into
   * the task's range (a file stored as uid 0 reads as `ids.base`) and the upper directory belongs
   * to the range, so container root owns its root filesystem without a copy of any layer.
   * Returns the rootfs path.
   */
  async mountContainer(taskId: string, containerName: string, layerDirs: readonly string[], ids: IdRange): Promise<string> {
    const exposed = this.exposedContainerDir(taskId, containerName);
    const rootfs = join(exposed, "rootfs");
    this.pool.postponeRefill();
    if (isMountPoint(rootfs)) return rootfs;
    const writable = confinedJoin(join(this.ephemeralDir(taskId), "containers"), [containerName], "container name");
    const upper = join(writable, "upper");
    const work = join(writable, "work");
    mkdirExposedSync(rootfs);
    await Promise.all([upper, work].map((dir) => mkdir(dir, { recursive: true })));
    // The merged root directory takes its owner from the upper directory: container root's.
    await chown(upper, ids.base, ids.base);
    if (layerDirs.length === 0) throw new Error("the image has no layers");
    // The helper detaches whatever an interrupted run left here before using it.
    const staging = join(exposed, "layers");
    await this.mounts.mountIdmappedOverlay({ ids, layers: layerDirs, upper, work, target: rootfs, staging });
    return rootfs;
  }

  /** A task volume's directory, shared by the containers that mount it. */
  /** A task volume's directory, owned by container root (like a Docker volume), shared by the containers that mount it. */
  async volumeDir(taskId: string, volumeName: string, ids: IdRange): Promise<string> {
    // The name comes from the task definition: validated at registration, confined here too.
    const dir = confinedJoin(join(this.ephemeralDir(taskId), "volumes"), [volumeName], "volume name");
    await mkdir(dir, { recursive: true });
    await chown(dir, ids.base, ids.base);
    return dir;
  }

  /** A per-container directory for generated files (/etc/hosts, …), on the task's storage. */
  async containerFilesDir(taskId: string, containerName: string): Promise<string> {
    const dir = join(confinedJoin(join(this.ephemeralDir(taskId), "containers"), [containerName], "container name"), "etc");
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async unmountContainer(taskId: string, containerName: string): Promise<void> {
    const rootfs = join(this.exposedContainerDir(taskId, containerName), "rootfs");
    if (isMountPoint(rootfs)) await this.run("umount", [rootfs]);
  }

  /** Unmounts everything of the task (containers first, then its storage) and deletes its files. */
  async remove(taskId: string): Promise<void> {
    const dirs = [this.taskDir(taskId), this.exposedDir(taskId)];
    const mounted = [...mountedPaths()].filter((path) => dirs.some((dir) => path.startsWith(`${dir}/`))).sort((a, b) => b.length - a.length);
    // One umount for all of them, deepest first (umount takes its targets in order).
    if (mounted.length > 0) await this.run("umount", mounted);
    // Off the event loop: unlinking the storage image frees its blocks, which takes a while.
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** How long after the last launch step the pool refill waits (a cached launch takes ~100 ms). */
const REFILL_AFTER_QUIET_MS = 250;
const REFILL_POSTPONED_AT_MOST_MS = 2_000;

/**
 * Ready-formatted ephemeral storage images, so a launch mounts instead of running mkfs.ext4 (~5 ms
 * and some disk writes, on a host whose 2 cores the launch needs for everything else). Images are plain sparse files (no mount, no loop device) until a task takes
 * one by rename; the pool is refilled in the background (idle priority) right after a take, one image
 * at a time, for the sizes tasks asked for. Half-made images (".partial") are deleted on start.
 */
class FormattedImagePool {
  private refilling = false;
  private timer: NodeJS.Timeout | undefined;
  private firstScheduledAt: number | undefined;
  private readonly wanted = new Set<number>();

  constructor(
    private readonly dir: string,
    private readonly target: number,
    private readonly format: (image: string, sizeGiB: number) => Promise<void>,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(dir)) if (file.endsWith(".partial")) rmSync(join(dir, file), { force: true });
  }

  list(): string[] {
    return readdirSync(this.dir).filter((file) => file.endsWith(".img"));
  }

  private ofSize(sizeGiB: number): string[] {
    return this.list().filter((file) => file.startsWith(`${sizeGiB}g-`));
  }

  /** Moves a pooled image of this size to `destination`; false when the pool has none. */
  take(sizeGiB: number, destination: string): boolean {
    for (const file of this.ofSize(sizeGiB)) {
      try {
        renameSync(join(this.dir, file), destination);
        return true;
      } catch {
        // taken meanwhile by another launch: try the next
      }
    }
    return false;
  }

  /**
   * Refills once launches have gone quiet: mkfs (even at idle priority) competes with a launch's
   * `runc create` for the cores and the disk, so each take, and each container root mounted
   * (postponeRefill), pushes the refill back until nothing has launched for a moment.
   */
  refillSoon(sizeGiB: number): void {
    if (this.target <= 0) return;
    this.wanted.add(sizeGiB);
    this.scheduleRefill();
  }

  postponeRefill(): void {
    if (this.timer) this.scheduleRefill();
  }

  private scheduleRefill(): void {
    if (this.timer) clearTimeout(this.timer);
    // Postponed at most REFILL_POSTPONED_AT_MOST_MS in all: under a steady stream of launches the
    // pool would otherwise never refill, and every launch would run mkfs itself.
    this.firstScheduledAt ??= Date.now();
    const delay = Math.max(0, Math.min(REFILL_AFTER_QUIET_MS, this.firstScheduledAt + REFILL_POSTPONED_AT_MOST_MS - Date.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.firstScheduledAt = undefined;
      // The pool's directory may be gone by then (its owner removed the state dir): nothing to refill.
      this.refill().catch(() => undefined);
    }, delay);
    this.timer.unref();
  }

  private async refill(): Promise<void> {
    if (this.refilling) return;
    this.refilling = true;
    try {
      for (const sizeGiB of this.wanted) {
        while (this.ofSize(sizeGiB).length < this.target) {
          const name = `${sizeGiB}g-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
          const partial = join(this.dir, `${name}.partial`);
          try {
            await this.format(partial, sizeGiB);
            renameSync(partial, join(this.dir, `${name}.img`));
          } catch {
            rmSync(partial, { force: true });
            return; // mkfs failing now will fail the launch too, with its own error
          }
        }
      }
    } finally {
      this.refilling = false;
    }
  }
}
