// TaskSpecs as the control plane hands them to a host agent, for privileged tests and benchmarks that
// drive the real agent directly (no server): one cluster and family per file, a subnet of the
// file's own, busybox by default, a 1 GiB ephemeral disk (mkfs time, not the 20 GiB default).
import type { ContainerDefinition, TaskDefinition } from "@aws-sdk/client-ecs";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TaskSpec } from "../../src/protocol/index.js";
import { waitFor } from "./wait-for.js";

export interface HostTaskSpecOptions {
  /** Cluster and family name; also in every task ARN. */
  readonly family: string;
  /** Hex filler that makes this file's task ids recognisable (e.g. "c0ffee"). */
  readonly idFiller: string;
  readonly subnet: { readonly subnetId: string; readonly cidr: string };
  /** Image for containers that name none; undefined leaves `image` to each container. */
  readonly defaultImage?: string;
  /** The subnet's VPC; default: vpc-<idFiller>, the subnet's /16, a VNI from the filler. */
  readonly vpc?: { readonly vpcId: string; readonly cidr: string; readonly vni: number };
  /** The task's interface's groups (default none) and public IP (default DISABLED). */
  readonly securityGroups?: readonly string[];
  readonly assignPublicIp?: "ENABLED" | "DISABLED";
}

/**
 * The interface the control plane would allocate for the n-th task of a file: the subnet's
 * (n+3)-th address (the first four are AWS's), a MAC spelling it, an ENI id from n.
 */
export function allocatedInterface(options: HostTaskSpecOptions, n: number): TaskSpec["network"] {
  const [base, prefix] = options.subnet.cidr.split("/") as [string, string];
  const octets = base.split(".").map(Number);
  const number = octets.reduce((total, octet) => total * 256 + octet, 0) + 3 + n;
  const address = [24, 16, 8, 0].map((shift) => Math.floor(number / 2 ** shift) % 256);
  const vpc = options.vpc ?? {
    vpcId: `vpc-${options.idFiller}`,
    cidr: `${octets[0]}.${octets[1]}.0.0/16`,
    vni: parseInt(options.idFiller.slice(0, 6), 16) || 1,
  };
  if (Number(prefix) < 16 && !options.vpc) throw new Error("give a vpc for a subnet wider than /16");
  return {
    vpcId: vpc.vpcId,
    vpcCidr: vpc.cidr,
    vni: vpc.vni,
    subnetId: options.subnet.subnetId,
    subnetCidr: options.subnet.cidr,
    eniId: `eni-${options.idFiller}${n.toString(16).padStart(8, "0")}`,
    privateIpv4Address: address.join("."),
    macAddress: `02:42:${address.map((octet) => octet.toString(16).padStart(2, "0")).join(":")}`,
    securityGroups: options.securityGroups ?? [],
    assignPublicIp: options.assignPublicIp ?? "DISABLED",
  };
}

export type HostTaskSpecOverrides = Partial<Pick<TaskSpec, "cpuUnits" | "memoryMiB" | "ephemeralStorageGiB" | "stopTimeoutMs" | "pullPolicy">> & {
  readonly volumes?: TaskDefinition["volumes"];
};

/** Returns a maker of specs with fresh task ids (a counter, padded to 32 hex digits). */
export function hostTaskSpecs(options: HostTaskSpecOptions): (containers: ContainerDefinition[], overrides?: HostTaskSpecOverrides) => TaskSpec {
  let counter = 0;
  const { family } = options;
  return (containers, overrides = {}) => {
    const taskId = `${(++counter).toString(16).padStart(4, "0")}${options.idFiller.repeat(32)}`.slice(0, 32);
    const containerDefinitions = containers.map((c) => ({ essential: true, ...(options.defaultImage ? { image: options.defaultImage } : {}), ...c }));
    return {
      protocolVersion,
      taskArn: `arn:aws:ecs:us-east-1:123456789012:task/${family}/${taskId}`,
      taskId,
      clusterArn: `arn:aws:ecs:us-east-1:123456789012:cluster/${family}`,
      family,
      revision: 1,
      taskDefinition: { family, revision: 1, ...(overrides.volumes ? { volumes: overrides.volumes } : {}), containerDefinitions },
      cpuUnits: overrides.cpuUnits ?? 256,
      memoryMiB: overrides.memoryMiB ?? 512,
      ephemeralStorageGiB: overrides.ephemeralStorageGiB ?? 1,
      platform: { os: "linux", architecture: "amd64" },
      network: allocatedInterface(options, counter),
      region: "us-east-1",
      availabilityZone: "us-east-1a",
      desiredStatus: "RUNNING",
      stopTimeoutMs: overrides.stopTimeoutMs ?? 30_000,
      pullPolicy: overrides.pullPolicy ?? "if-not-present",
      logConfigurations: {},
      credentials: {},
      createdAtMs: Date.now(),
    };
  };
}

/** Waits (real time, 50 ms polls) until `condition` holds; fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(condition, { what, timeoutMs });
}
