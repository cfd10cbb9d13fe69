// NetworkPort over the host's real task networks (src/network): the task's namespace (reserve),
// its veth into its VPC's router (connect), both from the interface the control plane allocated
// (the spec's network). Teardown removes the task's links; the router goes with the next network
// view that leaves it no task (TaskNetworks.applyView), or with the agent.
import type { IdRange } from "../core/id-range.js";
import type { TaskNetworkSpec } from "../protocol/index.js";
import type { TaskNetworks } from "../network/index.js";
import type { NetworkPort, TaskNetworkInfo } from "./ports.js";

export class HostNetworkAdapter implements NetworkPort {
  constructor(private readonly networks: TaskNetworks) {}

  async reserve(taskId: string, network: TaskNetworkSpec, ids: IdRange): Promise<TaskNetworkInfo> {
    const attachment = await this.networks.reserve(taskId, network, ids);
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
    await this.networks.detach(taskId);
  }
}
