// SetSubnets, SetSecurityGroups and SetIpAddressType: a load balancer's network settings changed
// after creation. The API changes the stored document only; placement (src/control/
// load-balancer-nodes.ts) follows it: a node is made in each added subnet, the nodes of removed
// subnets are released, and every node's interface takes the new security groups (its host's
// router applies them with the next view).
import type {
  SetIpAddressTypeOutput,
  SetSecurityGroupsCommandInput,
  SetSecurityGroupsOutput,
  SetSubnetsCommandInput,
  SetSubnetsOutput,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Repositories, StoredLoadBalancer } from "../../store/index.js";
import type { OperationHandlers } from "../service-module.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import { invalidConfigurationRequest, loadBalancerNotFound, validationError } from "./elbv2-errors.js";
import type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
import { existingLoadBalancer, securityGroupsOf, subnetsOf, withPublishedAddresses } from "./load-balancers.js";

type Settings = "SetSubnets" | "SetSecurityGroups" | "SetIpAddressType";

/** Runs `change` on the load balancer under the network lock (EC2 cannot delete a subnet or group between the check and the write). */
async function changing<T>(
  options: Elbv2ServiceOptions,
  arn: string,
  change: (tx: Repositories, record: StoredLoadBalancer) => Promise<{ record: StoredLoadBalancer; answer: T }>,
): Promise<T> {
  await existingLoadBalancer(options, arn);
  return options.store.exclusively("network", async (tx) =>
    tx.elbv2.locked(async (elbv2) => {
      const record = await elbv2.getLoadBalancer(arn);
      if (record === undefined) throw loadBalancerNotFound();
      const { record: changed, answer } = await change(tx, record);
      await elbv2.updateLoadBalancer(changed);
      return answer;
    }),
  );
}

const typeOf = (record: StoredLoadBalancer) => (record.loadBalancer.Type === "network" ? "network" : "application");

async function setSubnets(options: Elbv2ServiceOptions, input: SetSubnetsCommandInput): Promise<SetSubnetsOutput> {
  if ((input.IpAddressType ?? "ipv4") !== "ipv4") throw validationError("Berth supports only the 'ipv4' IP address type");
  if (input.EnablePrefixForIpv6SourceNat === "on") throw validationError("Berth supports no IPv6 source NAT prefixes");
  const arn = input.LoadBalancerArn ?? "";
  const record = await changing(options, arn, async (tx, record) => {
    const subnets = await subnetsOf(tx, input, typeOf(record));
    if (subnets[0]!.vpcId !== record.loadBalancer.VpcId) {
      // wording not confirmed
      throw invalidConfigurationRequest(`Subnet '${subnets[0]!.subnetId}' is not in the load balancer's VPC '${record.loadBalancer.VpcId}'`);
    }
    const zones = subnets.map((subnet) => ({ ZoneName: subnet.availabilityZone, SubnetId: subnet.subnetId, LoadBalancerAddresses: [] }));
    const changed = { ...record, loadBalancer: { ...record.loadBalancer, AvailabilityZones: zones } };
    return { record: changed, answer: changed };
  });
  const published = (await options.publishedAddresses?.())?.get(arn);
  return { AvailabilityZones: withPublishedAddresses(record.loadBalancer, published).AvailabilityZones ?? [], IpAddressType: "ipv4" };
}

async function setSecurityGroups(options: Elbv2ServiceOptions, input: SetSecurityGroupsCommandInput): Promise<SetSecurityGroupsOutput> {
  const wanted = input.SecurityGroups ?? [];
  const enforce = input.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic;
  if (enforce !== undefined && enforce !== "on" && enforce !== "off") {
    throw validationError(
      `Value '${String(enforce).slice(0, 64)}' at 'enforceSecurityGroupInboundRulesOnPrivateLinkTraffic' failed to satisfy constraint: Member must satisfy enum value set: [on, off]`,
    );
  }
  return changing(options, input.LoadBalancerArn ?? "", async (tx, record) => {
    const type = typeOf(record);
    const had = record.loadBalancer.SecurityGroups ?? [];
    // wording not confirmed (the three refusals below)
    if (type === "application" && wanted.length === 0) throw validationError("At least one security group must be specified for an Application Load Balancer");
    if (type === "application" && enforce !== undefined)
      throw validationError("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic applies only to Network Load Balancers");
    if (type === "network" && had.length === 0 && wanted.length > 0) {
      throw invalidConfigurationRequest("You cannot add security groups to a Network Load Balancer that was created without security groups");
    }
    if (type === "network" && had.length > 0 && wanted.length === 0) {
      throw invalidConfigurationRequest("You cannot remove all security groups from a Network Load Balancer that was created with security groups");
    }
    const groups = wanted.length === 0 ? [] : ((await securityGroupsOf(tx, wanted, record.loadBalancer.VpcId ?? "", type)) ?? []);
    const kept = record.loadBalancer.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic === "off" ? "off" : "on";
    const enforcement = type === "network" && groups.length > 0 ? (enforce ?? kept) : undefined;
    const loadBalancer = { ...record.loadBalancer, SecurityGroups: groups, EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: enforcement };
    return {
      record: { ...record, loadBalancer },
      answer: { SecurityGroupIds: groups, ...(enforcement ? { EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: enforcement } : {}) },
    };
  });
}

export function loadBalancerSettingHandlers(options: Elbv2ServiceOptions): Pick<OperationHandlers<Elbv2Operations>, Settings> {
  return {
    SetSubnets: (input) => setSubnets(options, input),
    SetSecurityGroups: (input) => setSecurityGroups(options, input),
    SetIpAddressType: async (input): Promise<SetIpAddressTypeOutput> => {
      await existingLoadBalancer(options, input.LoadBalancerArn ?? "");
      if (input.IpAddressType !== "ipv4") throw validationError("Berth supports only the 'ipv4' IP address type");
      return { IpAddressType: "ipv4" };
    },
  };
}
