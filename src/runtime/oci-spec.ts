// The OCI runtime spec (config.json, runtime-spec v1.0.2) for one container of a task: the
// container definition merged over the image config, inside Berth's default isolation.
//
// Isolation (issue "Task runtime", part 4; issue "Isolation first"): own user, PID, mount, IPC and
// UTS namespaces — container root is an unprivileged host uid of the task's own range, so an escape
// lands as a stranger to the host and to every other task; the task's user and network namespaces
// joined by path (the network namespace belongs to the user namespace, see network/), so runc can
// mount sysfs and exec health checks in them; never privileged; Docker's default capabilities without
// NET_RAW (Fargate allows adding only SYS_PTRACE); no-new-privileges; the seccomp profile given;
// /proc and /sys paths masked or read-only as Docker and podman do; cgroup limits nested under the
// task's cgroup, which holds the task-level cpu and memory budget.
import type { ContainerDefinition, Ulimit } from "@aws-sdk/client-ecs";
import type { IdRange } from "./id-ranges.js";
import type { ResolvedUser } from "./image-user.js";

/** Docker's default capability set, minus NET_RAW (ping-style raw sockets are off on Fargate). */
export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
] as const;

const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** Fargate's default open-files limit (soft and hard), clamped to what the host allows. */
const DEFAULT_NOFILE = 65_535;
/** A per-container process ceiling so a fork bomb in one task cannot starve the host. */
export const CONTAINER_PIDS_LIMIT = 4_096;

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface ImageRuntimeConfig {
  readonly env: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workingDir?: string;
}

export interface ContainerSpecInput {
  readonly definition: ContainerDefinition;
  readonly image: ImageRuntimeConfig;
  readonly user: ResolvedUser;
  /** Environment the platform adds (AWS_REGION, metadata URIs, …); the definition's env wins over the image's, these win over both. */
  readonly platformEnv: Readonly<Record<string, string>>;
  readonly hostname: string;
  /** The container's root filesystem (absolute: it lives in the exposed tree, not the bundle). */
  readonly rootfsPath: string;
  /** The task's host uid/gid range: container ids 0..size-1 map onto it. */
  readonly ids: IdRange;
  /** The task's user namespace (made with its network namespace, which it owns). */
  readonly userNamespacePath: string;
  readonly netnsPath: string;
  /** Absolute cgroup path for the container, under the task's cgroup. */
  readonly cgroupsPath: string;
  /** Bind mounts prepared by the task filesystem: /etc/hosts and friends, task volumes. */
  readonly mounts: readonly OciMount[];
  /** Host path of a static init (tini/catatonit) when initProcessEnabled. */
  readonly initPath?: string;
  readonly seccomp?: object;
  /** Hard limits of the host process (RLIMIT name → value); requests above them are clamped. */
  readonly hostHardLimits: Readonly<Record<string, number>>;
}

/** Docker's rule: a definition's entryPoint drops the image's CMD unless command is also given. */
export function containerArgs(definition: ContainerDefinition, image: ImageRuntimeConfig): string[] {
  const entrypoint = definition.entryPoint ?? image.entrypoint ?? [];
  const command = definition.command ?? (definition.entryPoint ? [] : (image.cmd ?? []));
  return [...entrypoint, ...command];
}

export function mergeEnvironment(
  image: readonly string[],
  definition: ContainerDefinition,
  platform: Readonly<Record<string, string>>,
  home: string,
): string[] {
  const merged = new Map<string, string>();
  for (const entry of image) {
    const at = entry.indexOf("=");
    if (at > 0) merged.set(entry.slice(0, at), entry.slice(at + 1));
  }
  for (const pair of definition.environment ?? []) if (pair.name) merged.set(pair.name, pair.value ?? "");
  for (const [name, value] of Object.entries(platform)) merged.set(name, value);
  if (!merged.has("PATH")) merged.set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!merged.has("HOME")) merged.set("HOME", home);
  return [...merged].map(([name, value]) => `${name}=${value}`);
}

function rlimits(ulimits: readonly Ulimit[] | undefined, hard: Readonly<Record<string, number>>) {
  const clamp = (type: string, value: number) => Math.min(value, hard[type] ?? value);
  const requested = new Map<string, { soft: number; hard: number }>([["RLIMIT_NOFILE", { soft: DEFAULT_NOFILE, hard: DEFAULT_NOFILE }]]);
  for (const limit of ulimits ?? []) {
    if (!limit.name) continue;
    requested.set(`RLIMIT_${limit.name.toUpperCase()}`, { soft: limit.softLimit ?? 0, hard: limit.hardLimit ?? 0 });
  }
  return [...requested].map(([type, { soft, hard: hardLimit }]) => {
    const clampedHard = clamp(type, hardLimit);
    return { type, hard: clampedHard, soft: Math.min(clamp(type, soft), clampedHard) };
  });
}

function capabilities(definition: ContainerDefinition, uid: number) {
  const params = definition.linuxParameters?.capabilities;
  const drop = new Set((params?.drop ?? []).map((name) => `CAP_${name.replace(/^CAP_/, "")}`));
  const set = new Set<string>([...DEFAULT_CAPABILITIES, ...(params?.add ?? []).map((name) => `CAP_${name.replace(/^CAP_/, "")}`)]);
  const kept = drop.has("CAP_ALL") ? [] : [...set].filter((name) => !drop.has(name));
  // As in Docker, a non-root process keeps the bounding set but starts with no effective capabilities.
  const effective = uid === 0 ? kept : [];
  return { bounding: kept, effective, permitted: effective, inheritable: [], ambient: [] };
}

function memoryResources(definition: ContainerDefinition) {
  const limit = definition.memory ? definition.memory * 1024 * 1024 : undefined;
  const reservation = definition.memoryReservation ? definition.memoryReservation * 1024 * 1024 : undefined;
  if (limit === undefined && reservation === undefined) return undefined;
  // swap = limit: no swap beyond the memory limit (Fargate has no swap).
  return { ...(limit !== undefined ? { limit, swap: limit } : {}), ...(reservation !== undefined ? { reservation } : {}) };
}

export function buildOciSpec(input: ContainerSpecInput): object {
  const { definition, user } = input;
  const args = containerArgs(definition, input.image);
  if (args.length === 0) throw new Error("no command specified: the image has no entrypoint or cmd and the definition none");
  const init = definition.linuxParameters?.initProcessEnabled && input.initPath;
  const mounts: OciMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ...(init ? [{ destination: "/dev/init", type: "bind", source: input.initPath!, options: ["bind", "ro"] }] : []),
    ...input.mounts,
  ];
  const cpuShares = definition.cpu && definition.cpu > 0 ? Math.max(2, definition.cpu) : undefined;
  const memory = memoryResources(definition);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, additionalGids: [...user.additionalGids] },
      args: init ? ["/dev/init", "--", ...args] : args,
      env: mergeEnvironment(input.image.env, definition, input.platformEnv, user.home),
      cwd: definition.workingDirectory || input.image.workingDir || "/",
      capabilities: capabilities(definition, user.uid),
      rlimits: rlimits(definition.ulimits, input.hostHardLimits),
      noNewPrivileges: true,
      oomScoreAdj: 0,
    },
    root: { path: input.rootfsPath, readonly: definition.readonlyRootFilesystem === true },
    hostname: input.hostname,
    mounts,
    annotations: Object.fromEntries(Object.entries(definition.dockerLabels ?? {})),
    linux: {
      namespaces: [
        { type: "user", path: input.userNamespacePath },
        { type: "pid" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "network", path: input.netnsPath },
      ],
      // runc 1.1 wants the mappings even when it joins the namespace: they must match the one it joins.
      uidMappings: [{ containerID: 0, hostID: input.ids.base, size: input.ids.size }],
      gidMappings: [{ containerID: 0, hostID: input.ids.base, size: input.ids.size }],
      cgroupsPath: input.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: "rwm" }],
        ...(memory ? { memory } : {}),
        ...(cpuShares ? { cpu: { shares: cpuShares } } : {}),
        pids: { limit: CONTAINER_PIDS_LIMIT },
      },
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      ...(input.seccomp ? { seccomp: input.seccomp } : {}),
    },
  };
}
