// CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer and the load balancer attributes.
// A load balancer sits in subnets of Berth's EC2 store (one per Availability Zone, two zones at
// least for an application load balancer) with security groups of the same VPC. Its nodes, one per
// subnet, are placed and served by src/control/load-balancer-nodes.ts and the hosts' agents.
//
//   provisioning ──(PROVISIONING_MS after creation)──▶ active ──DeleteLoadBalancer──▶ (gone)
import type {
  CreateLoadBalancerCommandInput,
  CreateLoadBalancerOutput,
  DeleteLoadBalancerOutput,
  DescribeLoadBalancerAttributesOutput,
  DescribeLoadBalancersOutput,
  LoadBalancer,
  ModifyLoadBalancerAttributesOutput,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Repositories, StoredLoadBalancer, SubnetRecord } from "../../store/index.js";
import type { OperationHandlers, RequestContext } from "../service-module.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import { applyAttributes, attributeList, defaultAttributes } from "./attributes.js";
import {
  deletionProtected,
  duplicateLoadBalancerName,
  invalidConfigurationRequest,
  loadBalancerNotFound,
  loadBalancersNotFound,
  securityGroupInvalid,
  subnetNotFound,
  tooManyLoadBalancers,
  twoZonesRequired,
  validationError,
} from "./elbv2-errors.js";
import type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
import { checkArn, checkName, checkTags, elbArn, hexId, page } from "./elbv2-shapes.js";

/** How long a new load balancer reports "provisioning" (AWS takes minutes; Berth has nothing to wait for yet). */
export const PROVISIONING_MS = 1000;

/** Route 53 hosted zones of ELB DNS names (Elastic Load Balancing endpoints and quotas); us-east-1's for other regions. */
const HOSTED_ZONES: Readonly<Record<string, { application: string; network: string }>> = {
  "us-east-1": { application: "Z35SXDOTRQ7X7K", network: "Z26RNL4JYFTOTI" },
  "us-east-2": { application: "Z3AADJGX6KTTL2", network: "ZLMOA37VPKANP" },
  "us-west-2": { application: "Z1H1FL5HABSF5", network: "Z18D5FSROUN65G" },
  "eu-west-1": { application: "Z32O12XQLNTSW2", network: "Z2IFOLAFXWLO4F" },
  "eu-central-1": { application: "Z215JYRZR1TBD5", network: "Z3F0SRJ5LGBH90" },
};

/** The answer's shape: the stored document with the state as of `now`. */
export function loadBalancerShape(record: StoredLoadBalancer, now: number): LoadBalancer {
  return { ...record.loadBalancer, State: { Code: now - record.createdAt >= PROVISIONING_MS ? "active" : "provisioning" } };
}

/**
 * Where an internet-facing load balancer's nodes are published on their hosts' public addresses:
 * each address as LoadBalancerAddresses[].IpAddress ("the static IP address") of its node's zone.
 * A zone whose node is not published: none.
 */
export function withPublishedAddresses(shape: LoadBalancer, published: readonly { subnetId: string; ipAddress: string }[] | undefined): LoadBalancer {
  if (!published || published.length === 0) return shape;
  return {
    ...shape,
    AvailabilityZones: (shape.AvailabilityZones ?? []).map((zone) => {
      const node = published.find((entry) => entry.subnetId === zone.SubnetId);
      return node ? { ...zone, LoadBalancerAddresses: [{ IpAddress: node.ipAddress }] } : zone;
    }),
  };
}

/** The load balancer of `arn` (checked), or LoadBalancerNotFound. */
export async function existingLoadBalancer(options: Elbv2ServiceOptions, arn: string): Promise<StoredLoadBalancer> {
  checkArn("load balancer", arn);
  const record = await options.store.elbv2.getLoadBalancer(arn);
  if (record === undefined) throw loadBalancerNotFound();
  return record;
}

/** The subnets named (each must exist), one per zone, all in one VPC. */
export async function subnetsOf(
  store: Pick<Repositories, "vpcs">,
  input: Pick<CreateLoadBalancerCommandInput, "Subnets" | "SubnetMappings">,
  type: string,
): Promise<SubnetRecord[]> {
  if (input.Subnets !== undefined && input.SubnetMappings !== undefined) throw validationError("You can specify subnets or subnet mappings, not both");
  for (const mapping of input.SubnetMappings ?? []) {
    if (mapping.AllocationId !== undefined || mapping.PrivateIPv4Address !== undefined || mapping.IPv6Address !== undefined) {
      throw validationError("Berth does not support Elastic IP allocations or fixed addresses in subnet mappings");
    }
  }
  const ids = input.Subnets ?? (input.SubnetMappings ?? []).map((mapping) => mapping.SubnetId ?? "");
  if (ids.length === 0) throw validationError("At least one subnet must be specified");
  if (ids.length > 20) throw validationError("A maximum of 20 subnets can be specified");
  const subnets: SubnetRecord[] = [];
  for (const id of ids) {
    const subnet = /^subnet-[0-9a-f]{8,17}$/.test(id) ? await store.vpcs.getSubnet(id) : undefined;
    if (subnet === undefined) throw subnetNotFound(id);
    if (!subnets.some((known) => known.subnetId === id)) subnets.push(subnet);
  }
  if (new Set(subnets.map((subnet) => subnet.vpcId)).size > 1) throw invalidConfigurationRequest("All subnets must belong to the same VPC");
  const zones = new Set(subnets.map((subnet) => subnet.availabilityZone));
  if (zones.size < subnets.length) throw invalidConfigurationRequest("A load balancer cannot be attached to multiple subnets in the same Availability Zone");
  if (type === "application" && zones.size < 2) throw twoZonesRequired();
  return subnets.sort((a, b) => a.availabilityZone.localeCompare(b.availabilityZone));
}

/** The security groups named (each in `vpcId`), or the VPC's default group for an application load balancer that names none. */
export async function securityGroupsOf(
  store: Pick<Repositories, "securityGroups">,
  groupIds: readonly string[] | undefined,
  vpcId: string,
  type: string,
): Promise<string[] | undefined> {
  if (groupIds === undefined || groupIds.length === 0) {
    if (type !== "application") return undefined;
    const fallback = await store.securityGroups.findByName(vpcId, "default");
    return fallback === undefined ? [] : [fallback.groupId];
  }
  if (groupIds.length > 5) throw validationError("A maximum of 5 security groups can be specified");
  const found = await store.securityGroups.getGroups(groupIds.filter((id) => /^sg-[0-9a-f]{8,17}$/.test(id)));
  for (const id of groupIds) {
    if (!found.some((group) => group.groupId === id && group.vpcId === vpcId)) throw securityGroupInvalid(id);
  }
  return [...new Set(groupIds)];
}

function sameSettings(existing: LoadBalancer, wanted: LoadBalancer): boolean {
  const zones = (lb: LoadBalancer) => (lb.AvailabilityZones ?? []).map((zone) => zone.SubnetId).join(",");
  return (
    existing.Type === wanted.Type &&
    existing.Scheme === wanted.Scheme &&
    existing.IpAddressType === wanted.IpAddressType &&
    zones(existing) === zones(wanted) &&
    [...(existing.SecurityGroups ?? [])].sort().join(",") === [...(wanted.SecurityGroups ?? [])].sort().join(",")
  );
}

async function createLoadBalancer(
  options: Elbv2ServiceOptions,
  input: CreateLoadBalancerCommandInput,
  context: RequestContext,
): Promise<CreateLoadBalancerOutput> {
  const name = input.Name ?? "";
  checkName("Load balancer", name);
  const type = input.Type ?? "application";
  if (type !== "application" && type !== "network")
    throw validationError(`Load balancer type '${type}' is not supported by Berth (application and network only)`);
  const scheme = input.Scheme ?? "internet-facing";
  if ((input.IpAddressType ?? "ipv4") !== "ipv4") throw validationError("Berth supports only the 'ipv4' IP address type");
  if (input.CustomerOwnedIpv4Pool !== undefined || input.IpamPools !== undefined)
    throw validationError("Berth supports no customer-owned or IPAM address pools");
  const tags = checkTags(input.Tags);
  // Under the network lock: EC2 cannot delete a subnet or group between the check and the insert.
  return options.store.exclusively("network", async (tx) => {
    const subnets = await subnetsOf(tx, input, type);
    const groups = await securityGroupsOf(tx, input.SecurityGroups, subnets[0]!.vpcId, type);
    const now = options.clock.now();
    const loadBalancer = newLoadBalancer(context, { name, type, scheme, subnets, groups, now });
    const arn = loadBalancer.LoadBalancerArn ?? "";
    return tx.elbv2.locked(async (elbv2) => {
      const existing = await elbv2.loadBalancerByName(name);
      if (existing !== undefined) {
        // AWS answers the existing load balancer to a create with the same name and settings.
        if (sameSettings(existing.loadBalancer, loadBalancer)) return { LoadBalancers: [loadBalancerShape(existing, now)] };
        throw duplicateLoadBalancerName(name);
      }
      // AWS's default quota: 50 load balancers per region (application and network each; Berth counts them together).
      if ((await elbv2.listLoadBalancers()).length >= MAX_LOAD_BALANCERS) throw tooManyLoadBalancers();
      const record: StoredLoadBalancer = { arn, name, createdAt: now, loadBalancer, attributes: defaultAttributes(type) };
      await elbv2.insertLoadBalancer(record);
      if (tags.size > 0) await elbv2.putTags(arn, tags);
      return { LoadBalancers: [loadBalancerShape(record, now)] };
    });
  });
}

/** Load balancers per account and region (Elastic Load Balancing quotas: 50). */
export const MAX_LOAD_BALANCERS = 50;

interface NewLoadBalancer {
  readonly name: string;
  readonly type: "application" | "network";
  readonly scheme: string;
  readonly subnets: readonly SubnetRecord[];
  readonly groups: string[] | undefined;
  readonly now: number;
}

/** The document of a new load balancer: AWS's ARN, DNS name and hosted zone, one zone per subnet. */
function newLoadBalancer(context: RequestContext, { name, type, scheme, subnets, groups, now }: NewLoadBalancer): LoadBalancer {
  const id = hexId();
  const host = type === "application" ? `${name}-${id}.${context.region}.elb.amazonaws.com` : `${name}-${id}.elb.${context.region}.amazonaws.com`;
  return {
    LoadBalancerArn: elbArn(context, `loadbalancer/${type === "application" ? "app" : "net"}/${name}/${id}`),
    DNSName: scheme === "internal" ? `internal-${host}` : host,
    CanonicalHostedZoneId: (HOSTED_ZONES[context.region] ?? HOSTED_ZONES["us-east-1"]!)[type],
    CreatedTime: new Date(now),
    LoadBalancerName: name,
    Scheme: scheme as LoadBalancer["Scheme"],
    VpcId: subnets[0]!.vpcId,
    State: { Code: "provisioning" },
    Type: type,
    AvailabilityZones: subnets.map((subnet) => ({ ZoneName: subnet.availabilityZone, SubnetId: subnet.subnetId, LoadBalancerAddresses: [] })),
    SecurityGroups: groups,
    IpAddressType: "ipv4",
  };
}

export function loadBalancerHandlers(options: Elbv2ServiceOptions): OperationHandlers<Elbv2Operations> {
  return {
    CreateLoadBalancer: (input, context) => createLoadBalancer(options, input, context),
    DescribeLoadBalancers: async (input): Promise<DescribeLoadBalancersOutput> => {
      const arns = input.LoadBalancerArns ?? [];
      const names = input.Names ?? [];
      if (arns.length > 0 && names.length > 0) throw validationError("Load balancer names and load balancer ARNs cannot be specified at the same time");
      if (arns.length > 20 || names.length > 20) throw validationError("A maximum of 20 load balancers can be specified");
      let found: StoredLoadBalancer[];
      if (arns.length > 0) {
        found = await Promise.all(arns.map((arn) => existingLoadBalancer(options, arn)));
      } else if (names.length > 0) {
        const byName = await Promise.all(names.map((name) => options.store.elbv2.loadBalancerByName(name)));
        const missing = names.filter((_, index) => byName[index] === undefined);
        if (missing.length > 0) throw loadBalancersNotFound(missing);
        found = byName as StoredLoadBalancer[];
      } else {
        found = await options.store.elbv2.listLoadBalancers();
      }
      const now = options.clock.now();
      const { items, nextMarker } = page(found, input.Marker, input.PageSize);
      const published = (await options.publishedAddresses?.()) ?? new Map<string, { subnetId: string; ipAddress: string }[]>();
      return {
        LoadBalancers: items.map((record) => withPublishedAddresses(loadBalancerShape(record, now), published.get(record.arn))),
        NextMarker: nextMarker,
      };
    },
    DeleteLoadBalancer: async (input): Promise<DeleteLoadBalancerOutput> => {
      await existingLoadBalancer(options, input.LoadBalancerArn ?? "");
      await options.store.elbv2.locked(async (elbv2) => {
        const record = await elbv2.getLoadBalancer(input.LoadBalancerArn ?? "");
        if (record === undefined) return;
        if (record.attributes["deletion_protection.enabled"] === "true") throw deletionProtected(record.arn);
        await elbv2.deleteLoadBalancer(record.arn);
      });
      return {};
    },
    DescribeLoadBalancerAttributes: async (input): Promise<DescribeLoadBalancerAttributesOutput> => {
      const record = await existingLoadBalancer(options, input.LoadBalancerArn ?? "");
      return { Attributes: attributeList(record.attributes) };
    },
    ModifyLoadBalancerAttributes: async (input): Promise<ModifyLoadBalancerAttributesOutput> => {
      await existingLoadBalancer(options, input.LoadBalancerArn ?? "");
      return options.store.elbv2.locked(async (elbv2) => {
        const record = await elbv2.getLoadBalancer(input.LoadBalancerArn ?? "");
        if (record === undefined) throw loadBalancerNotFound();
        const type = record.loadBalancer.Type === "network" ? "network" : "application";
        const attributes = applyAttributes(type, record.attributes, input.Attributes ?? [], "Load balancer");
        await elbv2.updateLoadBalancer({ ...record, attributes });
        return { Attributes: attributeList(attributes) };
      });
    },
  };
}
