// NetworkPort over the host's real task networks (src/network): the task's namespace (reserve),
// its veth and address in its subnet (connect). Teardown also removes the subnet's bridge once no
// task uses it, except for the subnets the host serves: their bridges live as long as the agent
// (made at registration, removed at close), so a launch does not pay for re-creating one.
import type { IdRange } from "../core/id-range.js";
import type { TaskNetworkSpec } from "../protocol/index.js";
import type { TaskNetworks } from "../network/index.js";
import type { NetworkPort, TaskNetworkInfo } from "./ports.js";

export class HostNetworkAdapter implements NetworkPort {
  constructor(
    private readonly networks: TaskNetworks,
    private readonly servedSubnets: ReadonlySet<string> = new Set(),
  ) {}

  async reserve(taskId: string, network: TaskNetworkSpec, ids: IdRange): Promise<TaskNetworkInfo> {
    const attachment = await this.networks.reserve(taskId, { subnetId: network.subnetId, cidr: network.subnetCidr }, ids);
    if (!attachment.userNamespacePath) throw new Error(`task ${taskId}'s network namespace was made without a user namespace`);
    return {
      netnsPath: attachment.netnsPath,
      userNamespacePath: attachment.userNamespacePath,
      ipv4: attachment.ipv4,
      macAddress: attachment.macAddress,
      eniId: attachment.eniId,
      privateDnsName: attachment.privateDnsName,
    };
  }

  async connect(taskId: string): Promise<void> {
    await this.networks.connect(taskId);
  }

  async teardown(taskId: string): Promise<void> {
    const subnetId = this.networks.list().find((attachment) => attachment.taskId === taskId)?.subnetId;
    await this.networks.detach(taskId);
    if (subnetId && !this.servedSubnets.has(subnetId)) await this.networks.removeSubnetIfIdle(subnetId);
  }
}
