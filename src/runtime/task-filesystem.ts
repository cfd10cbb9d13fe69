// A task's files on the host. The writable side of every container lives on the task's ephemeral
// storage: a sparse file of the task's size (20 GiB by default) formatted ext4 and loop-mounted,
// so a task that fills it gets ENOSPC and nothing else on the host notices. Each container's root
// is an overlay: the image's unpacked layers read-only below, its upper/work dirs on that storage.
// Task volumes (`volumes` without a host path) are directories on the same storage.
//
//   <root>/<taskId>/ephemeral.img           sparse, ext4, no journal (HOST-NOTES recipe)
//   <root>/<taskId>/ephemeral/              its mount: containers/<name>/{upper,work}, volumes/<name>
//   <root>/<taskId>/containers/<name>/rootfs  the overlay mount (the OCI bundle's rootfs)
//
// prepare/mountContainer are idempotent and remove tolerates anything missing, so both replay
// after an agent restart. Mounting with `-o loop` sets autoclear: unmounting frees the loop device.
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { CommandRunner } from "./run-command.js";
import { runCommand } from "./run-command.js";

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

  constructor(private readonly options: { root: string; run?: CommandRunner; poolSize?: number }) {
    this.run = options.run ?? runCommand;
    this.pool = new FormattedImagePool(join(options.root, "..", "ephemeral-pool"), options.poolSize ?? 2, (image, sizeGiB) => this.format(image, sizeGiB, true));
  }

  /** Formatted images waiting in the pool (for tests and the agent's status). */
  pooledImages(): string[] {
    return this.pool.list();
  }

  taskDir(taskId: string): string {
    return join(this.options.root, taskId);
  }

  private ephemeralDir(taskId: string): string {
    return join(this.taskDir(taskId), "ephemeral");
  }

  /** Creates and mounts the task's ephemeral storage. */
  async prepare(taskId: string, sizeGiB: number): Promise<void> {
    const mountPoint = this.ephemeralDir(taskId);
    if (isMountPoint(mountPoint)) return;
    await mkdir(mountPoint, { recursive: true });
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
    const mkfs = ["mkfs.ext4", "-q", "-F", "-O", "^has_journal,^resize_inode,sparse_super2", "-E", "nodiscard,lazy_itable_init=1,num_backup_sb=0", "-m", "0", image];
    // A pool refill must not slow the launches in progress: it runs under the idle CPU scheduling
    // class (it gets a core only when no launch wants it) and the idle I/O class.
    if (background) await this.run("chrt", ["--idle", "0", "ionice", "-c", "3", ...mkfs]);
    else await this.run(mkfs[0]!, mkfs.slice(1));
  }

  /** Mounts a container's overlay root; `layerDirs` bottom first. Returns the rootfs path. */
  async mountContainer(taskId: string, containerName: string, layerDirs: readonly string[]): Promise<string> {
    const rootfs = join(this.taskDir(taskId), "containers", containerName, "rootfs");
    this.pool.postponeRefill();
    if (isMountPoint(rootfs)) return rootfs;
    const writable = join(this.ephemeralDir(taskId), "containers", containerName);
    const upper = join(writable, "upper");
    const work = join(writable, "work");
    await Promise.all([rootfs, upper, work].map((dir) => mkdir(dir, { recursive: true })));
    if (layerDirs.length === 0) throw new Error("the image has no layers");
    // overlayfs lists lowerdirs top first.
    const lower = [...layerDirs].reverse().join(":");
    await this.run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${upper},workdir=${work}`, rootfs]);
    return rootfs;
  }

  /** A task volume's directory, shared by the containers that mount it. */
  async volumeDir(taskId: string, volumeName: string): Promise<string> {
    const dir = join(this.ephemeralDir(taskId), "volumes", volumeName);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** A per-container directory on the host side for generated files (/etc/hosts, …). */
  async containerFilesDir(taskId: string, containerName: string): Promise<string> {
    const dir = join(this.taskDir(taskId), "containers", containerName, "files");
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async unmountContainer(taskId: string, containerName: string): Promise<void> {
    const rootfs = join(this.taskDir(taskId), "containers", containerName, "rootfs");
    if (isMountPoint(rootfs)) await this.run("umount", [rootfs]);
  }

  /** Unmounts everything of the task (containers first, then its storage) and deletes its files. */
  async remove(taskId: string): Promise<void> {
    const dir = this.taskDir(taskId);
    const mounted = [...mountedPaths()].filter((path) => path.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
    // One umount for all of them, deepest first (umount takes its targets in order).
    if (mounted.length > 0) await this.run("umount", mounted);
    // Off the event loop: unlinking the storage image frees its blocks, which takes a while.
    await rm(dir, { recursive: true, force: true });
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
      void this.refill();
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
