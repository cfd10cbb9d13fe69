// CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup and the target
// group attributes. Berth's targets are task addresses: only the "ip" target type exists (Berth
// runs no instances, Lambda functions or load balancers as targets).
import type {
  CreateTargetGroupCommandInput,
  CreateTargetGroupOutput,
  DeleteTargetGroupOutput,
  DescribeTargetGroupAttributesOutput,
  DescribeTargetGroupsOutput,
  ModifyTargetGroupAttributesOutput,
  ModifyTargetGroupOutput,
  TargetGroup,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Elbv2Repository, StoredTargetGroup } from "../../store/index.js";
import type { OperationHandlers, RequestContext } from "../service-module.js";
import { applyAttributes, attributeList, defaultAttributes, targetGroupAttributeKind } from "./attributes.js";
import { duplicateTargetGroupName, loadBalancerNotFound, targetGroupInUse, targetGroupNotFound, validationError } from "./elbv2-errors.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
import { checkArn, checkName, checkTags, elbArn, hexId, page } from "./elbv2-shapes.js";
import { healthCheckSettings } from "./health-checks.js";
import { targetGroupUsage } from "./target-group-usage.js";

const PROTOCOLS = ["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP"];

/** The target group of `arn` (checked), or TargetGroupNotFound. */
export async function existingTargetGroup(options: Elbv2ServiceOptions, arn: string): Promise<StoredTargetGroup> {
  checkArn("target group", arn);
  const record = await options.store.elbv2.getTargetGroup(arn);
  if (record === undefined) throw targetGroupNotFound();
  return record;
}

function checkTargetType(targetType: string | undefined): void {
  if (targetType === "ip") return;
  if (targetType === undefined || targetType === "instance") {
    throw validationError("Berth runs no EC2 instances: target groups take the 'ip' target type (task addresses); specify TargetType ip");
  }
  throw validationError(`Target type '${targetType}' is not supported by Berth: target groups take the 'ip' target type (task addresses)`);
}

function newTargetGroup(input: CreateTargetGroupCommandInput, arn: string): TargetGroup {
  checkTargetType(input.TargetType);
  const protocol = input.Protocol;
  if (protocol === undefined || input.Port === undefined || input.VpcId === undefined) {
    throw validationError("A protocol, a port and a VPC ID must be specified for target groups of the 'ip' target type");
  }
  if (!PROTOCOLS.includes(protocol)) throw validationError(`Target group protocol '${protocol}' is not supported by Berth`);
  if (!Number.isInteger(input.Port) || input.Port < 1 || input.Port > 65535) throw validationError("Port must be between 1 and 65535");
  const http = protocol === "HTTP" || protocol === "HTTPS";
  if (input.ProtocolVersion !== undefined && !http) throw validationError("A protocol version can only be specified for HTTP and HTTPS target groups");
  const protocolVersion = http ? (input.ProtocolVersion ?? "HTTP1") : undefined;
  if (protocolVersion !== undefined && !["HTTP1", "HTTP2", "GRPC"].includes(protocolVersion))
    throw validationError(`Protocol version '${protocolVersion}' is not valid`);
  if ((input.IpAddressType ?? "ipv4") !== "ipv4") throw validationError("Berth supports only the 'ipv4' IP address type");
  return {
    TargetGroupArn: arn,
    TargetGroupName: input.Name,
    Protocol: protocol,
    Port: input.Port,
    VpcId: input.VpcId,
    ...healthCheckSettings(protocol, protocolVersion, input),
    LoadBalancerArns: [],
    TargetType: "ip",
    ProtocolVersion: protocolVersion,
    IpAddressType: "ipv4",
  };
}

const SETTINGS: readonly (keyof TargetGroup)[] = [
  "Protocol",
  "Port",
  "VpcId",
  "TargetType",
  "ProtocolVersion",
  "HealthCheckProtocol",
  "HealthCheckPort",
  "HealthCheckEnabled",
  "HealthCheckIntervalSeconds",
  "HealthCheckTimeoutSeconds",
  "HealthyThresholdCount",
  "UnhealthyThresholdCount",
  "HealthCheckPath",
];
const sameSettings = (a: TargetGroup, b: TargetGroup) =>
  SETTINGS.every((key) => a[key] === b[key]) && a.Matcher?.HttpCode === b.Matcher?.HttpCode && a.Matcher?.GrpcCode === b.Matcher?.GrpcCode;

export function targetGroupShape(record: StoredTargetGroup, usage: ReadonlyMap<string, ReadonlySet<string>>): TargetGroup {
  return { ...record.targetGroup, LoadBalancerArns: [...(usage.get(record.arn) ?? [])].sort() };
}

async function createTargetGroup(
  options: Elbv2ServiceOptions,
  input: CreateTargetGroupCommandInput,
  context: RequestContext,
): Promise<CreateTargetGroupOutput> {
  const name = input.Name ?? "";
  checkName("Target group", name);
  const id = hexId();
  const arn = elbArn(context, `targetgroup/${name}/${id}`);
  const targetGroup = newTargetGroup(input, arn);
  const tags = checkTags(input.Tags);
  // Under the network lock, as CreateLoadBalancer: the VPC cannot go between the check and the insert.
  return options.store.exclusively("network", async (tx) => {
    if ((await tx.vpcs.getVpc(input.VpcId ?? "")) === undefined) throw validationError(`The VPC ID '${(input.VpcId ?? "").slice(0, 64)}' is not found`);
    return tx.elbv2.locked((elbv2) => insertTargetGroup(options, elbv2, { name, arn, targetGroup, tags }));
  });
}

interface NewTargetGroup {
  readonly name: string;
  readonly arn: string;
  readonly targetGroup: TargetGroup;
  readonly tags: ReturnType<typeof checkTags>;
}

/** The group stored (under the ELBv2 lock), or the existing one of the same name and settings. */
async function insertTargetGroup(
  options: Elbv2ServiceOptions,
  elbv2: Elbv2Repository,
  { name, arn, targetGroup, tags }: NewTargetGroup,
): Promise<CreateTargetGroupOutput> {
  const existing = await elbv2.targetGroupByName(name);
  if (existing !== undefined) {
    // AWS answers the existing group to a create with the same name and settings.
    if (sameSettings(existing.targetGroup, targetGroup)) return { TargetGroups: [targetGroupShape(existing, await targetGroupUsage(elbv2))] };
    throw duplicateTargetGroupName(name);
  }
  const record: StoredTargetGroup = {
    arn,
    name,
    createdAt: options.clock.now(),
    targetGroup,
    attributes: defaultAttributes(targetGroupAttributeKind(targetGroup.Protocol)),
  };
  await elbv2.insertTargetGroup(record);
  if (tags.size > 0) await elbv2.putTags(arn, tags);
  return { TargetGroups: [targetGroupShape(record, new Map())] };
}

async function describeTargetGroups(
  options: Elbv2ServiceOptions,
  input: Elbv2Operations["DescribeTargetGroups"]["input"],
): Promise<DescribeTargetGroupsOutput> {
  const arns = input.TargetGroupArns ?? [];
  const names = input.Names ?? [];
  if ([arns.length > 0, names.length > 0, input.LoadBalancerArn !== undefined].filter(Boolean).length > 1) {
    throw validationError("Only one of load balancer ARN, target group ARNs or names can be specified");
  }
  if (arns.length > 20 || names.length > 20) throw validationError("A maximum of 20 target groups can be specified");
  const usage = await targetGroupUsage(options.store.elbv2);
  let found: StoredTargetGroup[];
  if (arns.length > 0) {
    found = await Promise.all(arns.map((arn) => existingTargetGroup(options, arn)));
  } else if (names.length > 0) {
    const byName = await Promise.all(names.map((name) => options.store.elbv2.targetGroupByName(name)));
    if (byName.some((record) => record === undefined)) throw targetGroupNotFound();
    found = byName as StoredTargetGroup[];
  } else {
    found = await options.store.elbv2.listTargetGroups();
    if (input.LoadBalancerArn !== undefined) {
      checkArn("load balancer", input.LoadBalancerArn);
      if ((await options.store.elbv2.getLoadBalancer(input.LoadBalancerArn)) === undefined) throw loadBalancerNotFound();
      const loadBalancerArn = input.LoadBalancerArn;
      found = found.filter((record) => usage.get(record.arn)?.has(loadBalancerArn));
    }
  }
  const { items, nextMarker } = page(found, input.Marker, input.PageSize);
  return { TargetGroups: items.map((record) => targetGroupShape(record, usage)), NextMarker: nextMarker };
}

export function targetGroupHandlers(options: Elbv2ServiceOptions): OperationHandlers<Elbv2Operations> {
  return {
    CreateTargetGroup: (input, context) => createTargetGroup(options, input, context),
    DescribeTargetGroups: (input) => describeTargetGroups(options, input),
    ModifyTargetGroup: async (input): Promise<ModifyTargetGroupOutput> => {
      await existingTargetGroup(options, input.TargetGroupArn ?? "");
      return options.store.elbv2.locked(async (elbv2) => {
        const record = await elbv2.getTargetGroup(input.TargetGroupArn ?? "");
        if (record === undefined) throw targetGroupNotFound();
        const current = record.targetGroup;
        const targetGroup = { ...current, ...healthCheckSettings(current.Protocol ?? "HTTP", current.ProtocolVersion, input, current) };
        await elbv2.updateTargetGroup({ ...record, targetGroup });
        return { TargetGroups: [targetGroupShape({ ...record, targetGroup }, await targetGroupUsage(elbv2))] };
      });
    },
    DeleteTargetGroup: async (input): Promise<DeleteTargetGroupOutput> => {
      await existingTargetGroup(options, input.TargetGroupArn ?? "");
      await options.store.elbv2.locked(async (elbv2) => {
        const arn = input.TargetGroupArn ?? "";
        if ((await targetGroupUsage(elbv2)).has(arn)) throw targetGroupInUse(arn);
        await elbv2.deleteTargetGroup(arn);
      });
      return {};
    },
    DescribeTargetGroupAttributes: async (input): Promise<DescribeTargetGroupAttributesOutput> => {
      const record = await existingTargetGroup(options, input.TargetGroupArn ?? "");
      return { Attributes: attributeList(record.attributes) };
    },
    ModifyTargetGroupAttributes: async (input): Promise<ModifyTargetGroupAttributesOutput> => {
      await existingTargetGroup(options, input.TargetGroupArn ?? "");
      return options.store.elbv2.locked(async (elbv2) => {
        const record = await elbv2.getTargetGroup(input.TargetGroupArn ?? "");
        if (record === undefined) throw targetGroupNotFound();
        const kind = targetGroupAttributeKind(record.targetGroup.Protocol);
        const attributes = applyAttributes(kind, record.attributes, input.Attributes ?? [], "Target group");
        await elbv2.updateTargetGroup({ ...record, attributes });
        return { Attributes: attributeList(attributes) };
      });
    },
  };
}
