// A task's interface on this host (its record under the state dir), and the check that turns the
// control plane's TaskNetworkInput into one (pure). The control plane allocates the interface (VPC,
// VNI, subnet, address, MAC, ENI id: src/protocol/task-spec.ts); the agent does no IPAM of its own,
// it only refuses a spec that lacks any of them or whose values do not fit together.
import type { TaskNetworkInput } from "./view-types.js";
import { AWS_ID, CIDR, IPV4, MAC, cidrContains, checked, privateDnsName, subnetRange, taskVethName } from "./names.js";
import { ipv4ToNumber } from "../core/default-network.js";

export interface TaskAttachment {
  readonly taskId: string;
  readonly vpcId: string;
  readonly vpcCidr: string;
  /** The VPC's VXLAN network identifier. */
  readonly vni: number;
  readonly subnetId: string;
  readonly netnsName: string;
  readonly netnsPath: string;
  /**
   * The user namespace that owns the network namespace (reserve with an id range): the task's
   * containers join both, so they can mount sysfs and be exec'd into without host privileges.
   */
  readonly userNamespacePath?: string;
  readonly interfaceName: "eth0";
  /** The router end of the task's veth (in routerNetns). */
  readonly hostVeth: string;
  /** The VPC router's namespace on this host. */
  readonly routerNetns: string;
  readonly ipv4: string;
  readonly prefixLength: number;
  readonly gateway: string;
  readonly subnetCidr: string;
  readonly macAddress: string;
  readonly eniId: string;
  readonly privateDnsName: string;
  /** The groups at launch (the view's current ones win once it names the interface). */
  readonly securityGroupIds: readonly string[];
  readonly assignPublicIp: boolean;
  /** eth0's MTU: 1450 with the overlay (VXLAN's headers), 1500 without. */
  readonly mtu: number;
  /** The veth, address and routes are in place (set by connect). */
  readonly connected?: boolean;
}

/** The network of a spec with every member the control plane allocates. */
export type AllocatedNetwork = Required<TaskNetworkInput>;

const ALLOCATED = ["vpcId", "vpcCidr", "vni", "eniId", "privateIpv4Address", "macAddress"] as const;

/**
 * The spec's network, checked: every allocated member present and well formed, the subnet inside
 * the VPC, the address inside the subnet and not one of the five AWS reserves. An Error naming the
 * task and the problem otherwise (the launch fails with it: nothing is created).
 */
export function allocatedNetwork(taskId: string, network: TaskNetworkInput): AllocatedNetwork {
  const missing = ALLOCATED.filter((key) => network[key] === undefined);
  if (missing.length > 0) throw new Error(`task ${taskId}'s network has no ${missing.join(", ")}: the control plane allocates them with the task's interface`);
  const spec = network as AllocatedNetwork;
  const problem = (what: string) => new Error(`task ${taskId}'s network is invalid: ${what}`);
  for (const [value, pattern, what] of [
    [spec.vpcId, AWS_ID, "vpcId"],
    [spec.eniId, AWS_ID, "eniId"],
    [spec.vpcCidr, CIDR, "vpcCidr"],
    [spec.subnetCidr, CIDR, "subnetCidr"],
    [spec.privateIpv4Address, IPV4, "privateIpv4Address"],
    [spec.macAddress, MAC, "macAddress (a lower-case unicast MAC)"],
  ] as const) {
    if (typeof value !== "string" || !pattern.test(value)) throw problem(`${what} '${String(value)}'`);
  }
  if (!Number.isInteger(spec.vni) || spec.vni < 1 || spec.vni > 0xffffff) throw problem(`vni ${String(spec.vni)} (1 to 16777215)`);
  for (const groupId of spec.securityGroups) if (typeof groupId !== "string" || !AWS_ID.test(groupId)) throw problem(`security group '${String(groupId)}'`);
  if (!cidrContains(spec.vpcCidr, spec.subnetCidr)) throw problem(`subnet ${spec.subnetCidr} is not inside VPC ${spec.vpcCidr}`);
  let range;
  try {
    range = subnetRange(spec.subnetCidr);
  } catch (error) {
    throw problem((error as Error).message);
  }
  const number = ipv4ToNumber(spec.privateIpv4Address);
  if (number < range.firstUsable || number > range.lastUsable) throw problem(`${spec.privateIpv4Address} is not a usable address of ${spec.subnetCidr}`);
  return spec;
}

/** Where task user namespaces are kept (bind mounts of nsfs files, like `ip netns`' /run/netns). */
export const USER_NAMESPACES_DIR = "/run/berth/userns";

/** The names of a task's namespaces and veth: fixed by its id. */
export function taskLinkNames(taskId: string): Pick<TaskAttachment, "netnsName" | "netnsPath" | "hostVeth"> & { readonly userNamespacePath: string } {
  const netnsName = `bth-${taskId.slice(0, 12)}`;
  return { netnsName, netnsPath: `/var/run/netns/${netnsName}`, userNamespacePath: `${USER_NAMESPACES_DIR}/${netnsName}`, hostVeth: taskVethName(taskId) };
}

export function describeAttachment(
  taskId: string,
  spec: AllocatedNetwork,
  options: { region: string; routerNetns: string; mtu: number; withUserNamespace: boolean },
): TaskAttachment {
  const range = subnetRange(spec.subnetCidr);
  const { netnsName, netnsPath, hostVeth, userNamespacePath } = taskLinkNames(taskId);
  return {
    taskId,
    vpcId: checked(spec.vpcId, AWS_ID, "VPC id"),
    vpcCidr: spec.vpcCidr,
    vni: spec.vni,
    subnetId: spec.subnetId,
    netnsName,
    netnsPath,
    ...(options.withUserNamespace ? { userNamespacePath } : {}),
    interfaceName: "eth0",
    hostVeth,
    routerNetns: options.routerNetns,
    ipv4: spec.privateIpv4Address,
    prefixLength: range.prefixLength,
    gateway: range.gateway,
    subnetCidr: spec.subnetCidr,
    macAddress: spec.macAddress,
    eniId: spec.eniId,
    privateDnsName: privateDnsName(spec.privateIpv4Address, options.region),
    securityGroupIds: [...spec.securityGroups],
    assignPublicIp: spec.assignPublicIp === "ENABLED",
    mtu: options.mtu,
    connected: false,
  };
}
