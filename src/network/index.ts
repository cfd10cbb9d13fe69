export { TaskNetworks, METADATA_ENDPOINT_ADDRESS, bridgeName, privateDnsName } from "./task-networks.js";
export type { SubnetSpec, TaskAttachment, CommandRunner } from "./task-networks.js";
export { Ipam, subnetRange } from "./ipam.js";
