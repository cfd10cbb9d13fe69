// DescribeVpcs, CreateVpc, DeleteVpc and DescribeAccountAttributes
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpc.html and siblings).
// A VPC's block is IPv4 /16../28 (InvalidVpc.Range otherwise); each VPC gets a VXLAN id (its
// routing domain across hosts) and a "default" security group with AWS's default rules, made in
// the same transaction. DeleteVpc refuses while subnets, other groups or interfaces remain
// (DependencyViolation); the default VPC can be deleted too, as in AWS. Writes run under the
// store's "network" lock, so the quota, VNI and id checks hold across replicas.
import type {
  AccountAttribute,
  CreateVpcRequest,
  CreateVpcResult,
  DeleteVpcRequest,
  DescribeAccountAttributesRequest,
  DescribeAccountAttributesResult,
  DescribeVpcsRequest,
  DescribeVpcsResult,
  Vpc,
} from "@aws-sdk/client-ec2";
import type { Clock } from "../../core/clock.js";
import { cidrsOverlap, formatCidr, MAX_PREFIX, MIN_PREFIX, parseCidr } from "../../core/ec2/cidr.js";
import { newEc2Id } from "../../core/ec2/ec2-ids.js";
import type { FilterFields } from "../../core/ec2/filters.js";
import { compileFilters } from "../../core/ec2/filters.js";
import { printable } from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import type { Store, VpcRecord } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { invalidParameterValue, missingParameter, refuseDryRun } from "./ec2-errors.js";
import { checkId, checkIds, notFound, page, requireAll, specifiedTags, toTagList } from "./ec2-resource-inputs.js";

export interface Ec2NetworkOperationsOptions {
  readonly store: Store;
  readonly clock: Clock;
}

/** EC2's default quota of VPCs per region ("VPCs per Region": 5, the default VPC included). */
export const VPCS_PER_REGION = 5;

/** The answer's VPC: one IPv4 block, associated (Berth has no secondary blocks). */
export function toVpc(vpc: VpcRecord, tags: ReadonlyMap<string, string> | undefined): Vpc {
  return {
    VpcId: vpc.vpcId,
    OwnerId: vpc.ownerId,
    CidrBlock: vpc.cidrBlock,
    State: vpc.state === "available" ? "available" : "pending",
    InstanceTenancy: "default",
    IsDefault: vpc.isDefault,
    CidrBlockAssociationSet: [{ AssociationId: `vpc-cidr-assoc-${vpc.vpcId.slice(4)}`, CidrBlock: vpc.cidrBlock, CidrBlockState: { State: "associated" } }],
    Ipv6CidrBlockAssociationSet: [],
    Tags: toTagList(tags),
  };
}

/** DescribeVpcs' filters (the API reference's list, less IPv6 and DHCP options, which Berth has not). */
const VPC_FILTERS: FilterFields<Vpc> = {
  "vpc-id": (vpc) => vpc.VpcId,
  cidr: (vpc) => vpc.CidrBlock,
  "cidr-block-association.cidr-block": (vpc) => vpc.CidrBlock,
  "cidr-block-association.association-id": (vpc) => vpc.CidrBlockAssociationSet?.map((association) => association.AssociationId),
  "cidr-block-association.state": (vpc) => vpc.CidrBlockAssociationSet?.map((association) => association.CidrBlockState?.State),
  "is-default": (vpc) => vpc.IsDefault,
  state: (vpc) => vpc.State,
  "owner-id": (vpc) => vpc.OwnerId,
};

export async function describeVpcs(options: Ec2NetworkOperationsOptions, input: DescribeVpcsRequest): Promise<DescribeVpcsResult> {
  refuseDryRun(input);
  const ids = checkIds("vpc", input.VpcIds);
  const matches = compileFilters(input.Filters, VPC_FILTERS);
  const records = await options.store.vpcs.listVpcs(ids);
  requireAll(
    "vpc",
    ids,
    records.map((vpc) => vpc.vpcId),
  );
  const tags = await options.store.ec2Tags.byResource(records.map((vpc) => vpc.vpcId));
  const vpcs = records.map((vpc) => toVpc(vpc, tags.get(vpc.vpcId))).filter((vpc) => matches(vpc, tags.get(vpc.VpcId ?? "") ?? new Map()));
  const { items, NextToken } = page(vpcs, (vpc) => vpc.VpcId ?? "", input, { parameter: "vpcIds", given: ids !== undefined });
  return { Vpcs: items, NextToken };
}

/** A VPC or subnet block: malformed text is InvalidParameterValue, a valid block of the wrong size `rangeCode`. */
export function checkBlock(text: string | undefined, rangeCode: "InvalidVpc.Range" | "InvalidSubnet.Range"): string {
  if (text === undefined || text === "") throw missingParameter("cidrBlock");
  const cidr = parseCidr(text);
  if (!cidr) throw invalidParameterValue(`Value (${printable(text)}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`);
  if (cidr.prefixLength < MIN_PREFIX || cidr.prefixLength > MAX_PREFIX) throw new AwsError(rangeCode, `The CIDR '${formatCidr(cidr)}' is invalid.`);
  return formatCidr(cidr);
}

/**
 * Blocks no VPC may overlap: this host (0.0.0.0/8, 127.0.0.0/8), link-local (169.254.0.0/16,
 * where metadata services answer) and multicast/reserved (224.0.0.0/3). Tasks and load balancer
 * targets get addresses from the VPC's block; the data plane refuses these as targets
 * (src/lb/load-balancer-model.ts isForbiddenTargetAddress), so a VPC of them could hold nothing.
 */
const FORBIDDEN_VPC_BLOCKS = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"].map((block) => parseCidr(block)!);
function refuseForbiddenBlock(cidrBlock: string): void {
  const cidr = parseCidr(cidrBlock)!;
  // wording not confirmed: AWS answers InvalidVpc.Range for blocks it does not allow.
  if (FORBIDDEN_VPC_BLOCKS.some((forbidden) => cidrsOverlap(forbidden, cidr))) throw new AwsError("InvalidVpc.Range", `The CIDR '${cidrBlock}' is invalid.`);
}

function refuseUnsupportedVpcOptions(input: CreateVpcRequest): void {
  if (input.AmazonProvidedIpv6CidrBlock === true || input.Ipv6CidrBlock !== undefined || input.Ipv6Pool !== undefined || input.Ipv6IpamPoolId !== undefined) {
    throw invalidParameterValue("IPv6 CIDR blocks are not supported by this endpoint.");
  }
  if (input.Ipv4IpamPoolId !== undefined) throw invalidParameterValue("IPAM pools are not supported by this endpoint.");
  if (input.InstanceTenancy !== undefined && input.InstanceTenancy !== "default") {
    throw invalidParameterValue(`Value (${printable(input.InstanceTenancy)}) for parameter instanceTenancy is invalid. Only 'default' is supported.`);
  }
}

export async function createVpc(options: Ec2NetworkOperationsOptions, input: CreateVpcRequest, context: RequestContext): Promise<CreateVpcResult> {
  refuseDryRun(input);
  refuseUnsupportedVpcOptions(input);
  const cidrBlock = checkBlock(input.CidrBlock, "InvalidVpc.Range");
  refuseForbiddenBlock(cidrBlock);
  const tags = specifiedTags(input.TagSpecifications, "vpc");
  const vpcId = newEc2Id("vpc");
  const vpc = await options.store.exclusively("network", async (tx) => {
    if ((await tx.vpcs.listVpcs()).length >= VPCS_PER_REGION) throw new AwsError("VpcLimitExceeded", "The maximum number of VPCs has been reached.");
    await tx.vpcs.createVpc({
      vpcId,
      ownerId: context.accountId,
      cidrBlock,
      isDefault: false,
      createdAtMs: options.clock.now(),
      defaultGroup: { groupId: newEc2Id("sg"), description: "default VPC security group", ingressRuleId: newEc2Id("sgr"), egressRuleId: newEc2Id("sgr") },
    });
    await tx.ec2Tags.put(vpcId, tags);
    return tx.vpcs.getVpc(vpcId);
  });
  if (!vpc) throw new Error(`VPC ${vpcId} vanished after its creation`);
  return { Vpc: toVpc(vpc, tags) };
}

export async function deleteVpc(options: Ec2NetworkOperationsOptions, input: DeleteVpcRequest): Promise<Record<string, never>> {
  refuseDryRun(input);
  const vpcId = checkId("vpc", input.VpcId);
  const outcome = await options.store.exclusively("network", (tx) => tx.vpcs.deleteVpc(vpcId));
  if (outcome === "missing") throw notFound("vpc", vpcId);
  if (outcome === "has-dependencies") throw new AwsError("DependencyViolation", `The vpc '${vpcId}' has dependencies and cannot be deleted.`);
  return {};
}

/** The attributes DescribeAccountAttributes lists, with Berth's values (AWS's defaults for the limits). */
const ACCOUNT_ATTRIBUTES = [
  "supported-platforms",
  "default-vpc",
  "max-instances",
  "vpc-max-security-groups-per-interface",
  "max-elastic-ips",
  "vpc-max-elastic-ips",
];

export async function describeAccountAttributes(
  options: Ec2NetworkOperationsOptions,
  input: DescribeAccountAttributesRequest,
): Promise<DescribeAccountAttributesResult> {
  refuseDryRun(input);
  const wanted = input.AttributeNames ?? [];
  for (const name of wanted) {
    if (!ACCOUNT_ATTRIBUTES.includes(name))
      throw invalidParameterValue(`Value (${printable(name)}) for parameter attributeName is invalid. Unknown attribute.`);
  }
  const defaultVpc = (await options.store.vpcs.listVpcs()).find((vpc) => vpc.isDefault);
  const values: Record<string, string[]> = {
    "supported-platforms": ["VPC"],
    "default-vpc": [defaultVpc?.vpcId ?? "none"],
    "max-instances": ["20"],
    "vpc-max-security-groups-per-interface": ["5"],
    "max-elastic-ips": ["5"],
    "vpc-max-elastic-ips": ["5"],
  };
  const names = wanted.length > 0 ? ACCOUNT_ATTRIBUTES.filter((name) => wanted.includes(name as never)) : ACCOUNT_ATTRIBUTES;
  const attributes: AccountAttribute[] = names.map((name) => ({
    AttributeName: name,
    AttributeValues: (values[name] ?? []).map((AttributeValue) => ({ AttributeValue })),
  }));
  return { AccountAttributes: attributes };
}
