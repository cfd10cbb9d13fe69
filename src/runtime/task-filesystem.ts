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
import { existsSync, mkdirSync, openSync, closeSync, ftruncateSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
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

export class TaskFilesystems {
  private readonly run: CommandRunner;

  constructor(private readonly options: { root: string; run?: CommandRunner }) {
    this.run = options.run ?? runCommand;
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
    if (mountedPaths().has(mountPoint)) return;
    mkdirSync(mountPoint, { recursive: true });
    const image = join(this.taskDir(taskId), "ephemeral.img");
    const fd = openSync(image, "w");
    try {
      ftruncateSync(fd, sizeGiB * GiB);
    } finally {
      closeSync(fd);
    }
    await this.run("mkfs.ext4", ["-q", "-F", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", "-m", "0", image]);
    await this.run("mount", ["-o", "loop,nodev,nosuid", image, mountPoint]);
    mkdirSync(join(mountPoint, "containers"), { recursive: true });
    mkdirSync(join(mountPoint, "volumes"), { recursive: true });
  }

  /** Mounts a container's overlay root; `layerDirs` bottom first. Returns the rootfs path. */
  async mountContainer(taskId: string, containerName: string, layerDirs: readonly string[]): Promise<string> {
    const rootfs = join(this.taskDir(taskId), "containers", containerName, "rootfs");
    if (mountedPaths().has(rootfs)) return rootfs;
    const writable = join(this.ephemeralDir(taskId), "containers", containerName);
    const upper = join(writable, "upper");
    const work = join(writable, "work");
    for (const dir of [rootfs, upper, work]) mkdirSync(dir, { recursive: true });
    if (layerDirs.length === 0) throw new Error("the image has no layers");
    // overlayfs lists lowerdirs top first.
    const lower = [...layerDirs].reverse().join(":");
    await this.run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${upper},workdir=${work}`, rootfs]);
    return rootfs;
  }

  /** A task volume's directory, shared by the containers that mount it. */
  volumeDir(taskId: string, volumeName: string): string {
    const dir = join(this.ephemeralDir(taskId), "volumes", volumeName);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** A per-container directory on the host side for generated files (/etc/hosts, …). */
  containerFilesDir(taskId: string, containerName: string): string {
    const dir = join(this.taskDir(taskId), "containers", containerName, "files");
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  async unmountContainer(taskId: string, containerName: string): Promise<void> {
    const rootfs = join(this.taskDir(taskId), "containers", containerName, "rootfs");
    if (mountedPaths().has(rootfs)) await this.run("umount", [rootfs]);
  }

  /** Unmounts everything of the task (containers first, then its storage) and deletes its files. */
  async remove(taskId: string): Promise<void> {
    const dir = this.taskDir(taskId);
    const mounted = [...mountedPaths()].filter((path) => path.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
    for (const path of mounted) await this.run("umount", [path]);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}
