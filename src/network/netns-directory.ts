// /run/netns made a shared mount point once, before any namespace is mounted in it.
//
// iproute2's `ip netns add` does this itself the first time it runs on a host: when /run/netns is
// not yet a mount point it bind-mounts the directory onto itself and makes it shared. On a fresh
// host the first task and its VPC's router are made at once (the router's `ip netns add` runs
// while the native helper bind-mounts the task's namespace file), and a task namespace mounted in
// that window is left under the new mount point, out of sight: its file is there but names no
// namespace, so the task's network cannot be set up or torn down ("Invalid argument"). Doing the
// same step once, first, leaves `ip` nothing to remount.
import { mkdirSync, readFileSync } from "node:fs";
import type { CommandRunner } from "../core/command-runner.js";

export const NETNS_DIRECTORY = "/run/netns";

let ready: Promise<void> | undefined;

/** Makes /run/netns a shared mount point if it is not one yet (once per process; a failure is retried by the next caller). */
export function ensureNetnsDirectory(run: CommandRunner): Promise<void> {
  ready ??= prepare(run).catch((error: unknown) => {
    ready = undefined;
    throw error;
  });
  return ready;
}

async function prepare(run: CommandRunner): Promise<void> {
  mkdirSync(NETNS_DIRECTORY, { recursive: true, mode: 0o755 });
  if (isMountPoint(NETNS_DIRECTORY)) return;
  // Recursive, as iproute2 does, so namespaces already mounted in the directory stay visible.
  await run("mount", ["--rbind", NETNS_DIRECTORY, NETNS_DIRECTORY]);
  await run("mount", ["--make-shared", NETNS_DIRECTORY]);
}

/** Whether /proc/self/mountinfo lists `path` as a mount point (its fifth field; octal escapes as the kernel writes them). */
function isMountPoint(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4]?.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))) === path);
}
