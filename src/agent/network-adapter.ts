// NetworkPort over the host's real task networks (src/network): the task's namespace, veth and
// address in its subnet; teardown also removes the subnet's bridge once no task uses it.
import type { TaskNetworkSpec } from "../protocol/index.js";
import type { TaskNetworks } from "../network/index.js";
import type { NetworkPort, TaskNetworkInfo } from "./ports.js";

export class HostNetworkAdapter implements NetworkPort {
  constructor(private readonly networks: TaskNetworks) {}

  async setup(taskId: string, network: TaskNetworkSpec): Promise<TaskNetworkInfo> {
    const attachment = await this.networks.attach(taskId, { subnetId: network.subnetId, cidr: network.subnetCidr });
    return { netnsPath: attachment.netnsPath, ipv4: attachment.ipv4, macAddress: attachment.macAddress, eniId: attachment.eniId, privateDnsName: attachment.privateDnsName };
  }

  async teardown(taskId: string): Promise<void> {
    const subnetId = this.networks.list().find((attachment) => attachment.taskId === taskId)?.subnetId;
    await this.networks.detach(taskId);
    if (subnetId) await this.networks.removeSubnetIfIdle(subnetId);
  }
}
