export { TaskNetworks, METADATA_ENDPOINT_ADDRESS, bridgeName, privateDnsName } from "./task-networks.js";
export type { SubnetSpec, TaskAttachment, CommandRunner } from "./task-networks.js";
export { Ipam, subnetRange } from "./ipam.js";
export { HostFirewall } from "./host-firewall.js";
export type { IpForwardPolicy } from "./host-firewall.js";
export { FIREWALL_TABLE, METADATA_ENDPOINT } from "./host-firewall-rules.js";
export { HostAgentLock } from "./host-agent-lock.js";
