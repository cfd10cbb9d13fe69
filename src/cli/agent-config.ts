// The host agent's options, shared by `berth agent` and the agent embedded in `berth server`
// (DESIGN.md rule 6: compiled once into a validated, frozen config).
import type { ImagePullPolicy } from "../images/index.js";
import type { HostAgentConfig } from "./host-agent-assembly.js";
import { ConfigError } from "./config-error.js";
import { isIpv4 } from "../core/default-network.js";

export const agentParseOptions = {
  zone: { type: "string" },
  subnet: { type: "string", multiple: true, default: [] as string[] },
  "capacity-cpu-units": { type: "string" },
  "capacity-memory-mib": { type: "string" },
  "task-slots": { type: "string", default: "250" },
  "image-pull-behavior": { type: "string", default: "default" },
  runtime: { type: "string", default: "/usr/sbin/runc" },
  "ip-forward": { type: "string", default: "off" },
  "image-store-max-gib": { type: "string" },
  uplink: { type: "string" },
  "overlay-address": { type: "string" },
  "dns-upstream": { type: "string" },
} as const;

export const AGENT_USAGE = `  --zone                 the host's availability zone (default <region>a)
  --subnet               a subnet to serve (repeatable; default: the zone's default subnet)
  --capacity-cpu-units   schedulable cpu units (default: the machine's, less 256)
  --capacity-memory-mib  schedulable memory (default: the machine's, less 1 GiB)
  --task-slots           most tasks at once (default 250)
  --image-pull-behavior  default | always | once | prefer-cached (as ECS_IMAGE_PULL_BEHAVIOR)
  --runtime              the OCI runtime binary (default /usr/sbin/runc)
  --ip-forward           off | keep: net.ipv4.ip_forward while the agent runs (default off: pinned to
                         0, the value before restored at stop; keep: left as the host has it, for
                         hosts that route for other software; tasks are never routed either way)
  --image-store-max-gib  past this size the image store drops images no task uses, least recently
                         used first (default: a quarter of its disk)
  --uplink IFACE         the interface public tasks (assignPublicIp ENABLED) reach the outside through,
                         masqueraded to its address (default: none, no task has outbound access)
  --overlay-address A    this host's address on the network between hosts: tasks of one VPC on
                         different hosts reach each other over VXLAN (UDP 4789) between these
                         addresses (default: none, tasks reach only peers on this host)
  --dns-upstream A[:P]   where the VPC resolver (169.254.169.253 in every VPC) asks the names it does
                         not know itself (default: the first IPv4 nameserver of /etc/resolv.conf)`;

const PULL_POLICIES: readonly ImagePullPolicy[] = ["default", "always", "once", "prefer-cached"];

const gibToBytes = (gib: number | undefined) => (gib === undefined ? undefined : gib * 1024 ** 3);

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`--${name} must be a positive whole number, not '${text}'`);
  return value;
}

export function compileAgentConfig(
  values: {
    zone?: string;
    subnet?: string[];
    "capacity-cpu-units"?: string;
    "capacity-memory-mib"?: string;
    "task-slots"?: string;
    "image-pull-behavior"?: string;
    runtime?: string;
    "ip-forward"?: string;
    "image-store-max-gib"?: string;
    uplink?: string;
    "overlay-address"?: string;
    "dns-upstream"?: string;
  },
  common: { dataDir: string; region: string; insecureRegistries: readonly string[] },
): HostAgentConfig {
  const zone = values.zone ?? `${common.region}a`;
  if (!zone.startsWith(common.region) || !/^[a-z]$/.test(zone.slice(common.region.length)))
    throw new ConfigError(`--zone '${zone}' is not an availability zone of ${common.region}`);
  const policy = values["image-pull-behavior"] ?? "default";
  if (!PULL_POLICIES.includes(policy as ImagePullPolicy)) throw new ConfigError(`--image-pull-behavior must be one of ${PULL_POLICIES.join(", ")}`);
  const ipForward = values["ip-forward"] ?? "off";
  if (ipForward !== "off" && ipForward !== "keep") throw new ConfigError(`--ip-forward must be off or keep, not '${ipForward}'`);
  const uplink = values.uplink;
  // Both end up in `ip` and `nft` input: whole patterns only.
  if (uplink !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(uplink)) throw new ConfigError(`--uplink must name a network interface, not '${uplink}'`);
  const overlayAddress = values["overlay-address"];
  if (overlayAddress !== undefined && !isIpv4(overlayAddress)) throw new ConfigError(`--overlay-address must be an IPv4 address, not '${overlayAddress}'`);
  const dnsUpstream = values["dns-upstream"] === undefined ? undefined : parseUpstream(values["dns-upstream"]);
  return Object.freeze({
    dataDir: common.dataDir,
    region: common.region,
    availabilityZone: zone,
    subnetIds: Object.freeze([...(values.subnet ?? [])]),
    insecureRegistries: common.insecureRegistries,
    pullPolicy: policy as ImagePullPolicy,
    capacityCpuUnits: positiveInteger("capacity-cpu-units", values["capacity-cpu-units"]),
    capacityMemoryMiB: positiveInteger("capacity-memory-mib", values["capacity-memory-mib"]),
    taskSlots: positiveInteger("task-slots", values["task-slots"]) ?? 250,
    runtimePath: values.runtime ?? "/usr/sbin/runc",
    ipForward,
    imageStoreMaxBytes: gibToBytes(positiveInteger("image-store-max-gib", values["image-store-max-gib"])),
    uplink,
    overlayAddress,
    dnsUpstream,
  });
}

/** `--dns-upstream`: an IPv4 address, and a port (53 when none). */
function parseUpstream(text: string): { address: string; port: number } {
  const match = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(text);
  const port = match?.[2] === undefined ? 53 : Number(match[2]);
  if (!match || !isIpv4(match[1]!) || port < 1 || port > 65535)
    throw new ConfigError(`--dns-upstream must be an IPv4 address and an optional port, not '${text}'`);
  return { address: match[1]!, port };
}
