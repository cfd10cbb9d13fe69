// CreateTags, DeleteTags and DescribeTags for the EC2 resources Berth has: VPCs, subnets, security
// groups and their rules, network interfaces
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTags.html and siblings).
// Every resource must exist (each type's NotFound error; an id of no known type is InvalidID);
// keys are checked as EC2 checks them, "aws:" keys are refused and a resource holds at most 50
// tags. A write runs under the store's "network" lock with the existence checks, so a tag never
// outlives a resource deleted meanwhile.
import type { CreateTagsRequest, DeleteTagsRequest, DescribeTagsRequest, DescribeTagsResult, ResourceType, TagDescription } from "@aws-sdk/client-ec2";
import type { Ec2ResourceType } from "../../core/ec2/ec2-ids.js";
import { ec2IdType } from "../../core/ec2/ec2-ids.js";
import type { FilterFields } from "../../core/ec2/filters.js";
import { compileFilters } from "../../core/ec2/filters.js";
import { printable } from "../../core/ec2/security-group-rules.js";
import { AwsError } from "../../core/errors.js";
import type { Repositories } from "../../store/index.js";
import { missingParameter, refuseDryRun } from "./ec2-errors.js";
import { checkTag, checkTags, MAX_IDS, notFound, page } from "./ec2-resource-inputs.js";
import type { Ec2NetworkOperationsOptions } from "./vpcs.js";

const RESOURCE_TYPES: Record<Ec2ResourceType, ResourceType> = {
  vpc: "vpc",
  subnet: "subnet",
  sg: "security-group",
  sgr: "security-group-rule",
  eni: "network-interface",
};

type Reads = Pick<Repositories, "vpcs" | "securityGroups" | "networkInterfaces">;

async function exists(tx: Reads, type: Ec2ResourceType, id: string): Promise<boolean> {
  switch (type) {
    case "vpc":
      return (await tx.vpcs.getVpc(id)) !== undefined;
    case "subnet":
      return (await tx.vpcs.getSubnet(id)) !== undefined;
    case "sg":
      return (await tx.securityGroups.getGroups([id])).length > 0;
    case "sgr":
      return (await tx.securityGroups.getRules([id])).length > 0;
    case "eni":
      return (await tx.networkInterfaces.get(id)) !== undefined;
  }
}

function missing(type: Ec2ResourceType, id: string): AwsError {
  if (type === "sg") return new AwsError("InvalidGroup.NotFound", `The security group '${id}' does not exist`);
  if (type === "sgr") return new AwsError("InvalidSecurityGroupRuleId.NotFound", `The security group rule ID '${id}' does not exist`);
  return notFound(type, id);
}

/** The resources a request names, each with its type; checked before anything is read. */
function checkResources(resources: readonly string[] | undefined): [string, Ec2ResourceType][] {
  if (!resources || resources.length === 0) throw missingParameter("resourceIdSet");
  if (resources.length > MAX_IDS) throw new AwsError("InvalidParameterValue", `At most ${MAX_IDS} resources may be tagged at once.`);
  return [...new Set(resources)].map((id) => {
    const type = ec2IdType(id);
    if (type === undefined) throw new AwsError("InvalidID", `The ID '${printable(id)}' is not valid`);
    return [id, type];
  });
}

async function requireResources(tx: Reads, resources: readonly [string, Ec2ResourceType][]): Promise<void> {
  for (const [id, type] of resources) if (!(await exists(tx, type, id))) throw missing(type, id);
}

export async function createTags(options: Ec2NetworkOperationsOptions, input: CreateTagsRequest): Promise<Record<string, never>> {
  refuseDryRun(input);
  const resources = checkResources(input.Resources);
  if (!input.Tags || input.Tags.length === 0) throw missingParameter("tagSet");
  const tags = checkTags(input.Tags);
  await options.store.exclusively("network", async (tx) => {
    await requireResources(tx, resources);
    for (const [id] of resources) {
      if (!(await tx.ec2Tags.put(id, tags))) throw new AwsError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.");
    }
  });
  return {};
}

export async function deleteTags(options: Ec2NetworkOperationsOptions, input: DeleteTagsRequest): Promise<Record<string, never>> {
  refuseDryRun(input);
  const resources = checkResources(input.Resources);
  // A tag without Value deletes the key whatever its value; with one (even ""), only that value.
  const keys = input.Tags === undefined || input.Tags.length === 0 ? undefined : new Map(input.Tags.map((tag) => [checkTag(tag)[0], tag.Value]));
  await options.store.exclusively("network", async (tx) => {
    await requireResources(tx, resources);
    for (const [id] of resources) await tx.ec2Tags.remove(id, keys);
  });
  return {};
}

const TAG_FILTERS: FilterFields<TagDescription> = {
  key: (tag) => tag.Key,
  value: (tag) => tag.Value,
  "resource-id": (tag) => tag.ResourceId,
  "resource-type": (tag) => tag.ResourceType,
};

export async function describeTags(options: Ec2NetworkOperationsOptions, input: DescribeTagsRequest): Promise<DescribeTagsResult> {
  refuseDryRun(input);
  const matches = compileFilters(input.Filters, TAG_FILTERS);
  const descriptions = (await options.store.ec2Tags.list())
    .map((tag): TagDescription & { position: string } => {
      const type = ec2IdType(tag.resourceId);
      return {
        ResourceId: tag.resourceId,
        ResourceType: type === undefined ? undefined : RESOURCE_TYPES[type],
        Key: tag.key,
        Value: tag.value,
        position: `${tag.resourceId}\u0001${tag.key}`,
      };
    })
    .filter((tag) => matches(tag, new Map([[tag.Key ?? "", tag.Value ?? ""]])));
  const { items, NextToken } = page(descriptions, (tag) => tag.position, input, { parameter: "", given: false });
  return { Tags: items.map(({ position: _position, ...tag }) => tag), NextToken };
}
