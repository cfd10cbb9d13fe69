// The resources the operations of CloudWatch Logs, ECR, Secrets Manager, SSM, IAM, EC2 and ELBv2 are
// authorized against (the Service Authorization Reference of each service): a log group's or
// stream's ARN, a repository's, a secret's (looked up: a policy names the secret's full ARN, with
// its random suffix, or a pattern over it), a parameter's, a role's, user's or policy's, a
// security group's. Operations not listed here are authorized against "*".
import type { AccountScope } from "../../core/arn.js";
import { buildArn, parseArn } from "../../core/arn.js";
import type { RequestContext } from "../service-module.js";
import type { OperationAuthorization, ResourceTable } from "./request-authorizer.js";

type Input = Record<string, unknown>;
const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const texts = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []);
const scopeOf = (context: RequestContext): AccountScope => ({ partition: context.partition, region: context.region, accountId: context.accountId });
const arnIn = (context: RequestContext, service: string, resource: string, region?: string) => buildArn(scopeOf(context), service, resource, region);
const resource = (value: string | undefined): OperationAuthorization => ({ resources: [value ?? "*"] });
/** aws:TagKeys of an untagging call (the keys it removes). */
const tagKeys = (keys: unknown): Record<string, string[]> => (Array.isArray(keys) ? { "aws:TagKeys": texts(keys) } : {});

// CloudWatch Logs: arn:…:logs:…:log-group:NAME, and …:log-group:NAME:log-stream:STREAM.
// An identifier given as an ARN is read for its group name only (as the handlers read it), so the
// ARN checked is always this server's ARN of that group, whatever account or region the input named.
function logGroup(input: Input, context: RequestContext): string | undefined {
  const identifier = text(input.logGroupIdentifier);
  const fromArn = identifier !== undefined && parseArn(identifier) ? /^log-group:([^:]+)(?::\*)?$/.exec(parseArn(identifier)!.resource)?.[1] : undefined;
  const name = text(input.logGroupName) ?? fromArn ?? (identifier !== undefined && !parseArn(identifier) ? identifier : undefined);
  return name === undefined ? (identifier === undefined ? undefined : "arn:invalid") : arnIn(context, "logs", `log-group:${name}`);
}
const onLogGroup = (input: Input, context: RequestContext) => resource(logGroup(input, context));
const onLogStream = (input: Input, context: RequestContext) => {
  const group = logGroup(input, context);
  const stream = text(input.logStreamName);
  return resource(group === undefined || stream === undefined ? group : `${group}:log-stream:${stream}`);
};

export const LOGS_RESOURCES: ResourceTable = {
  CreateLogGroup: onLogGroup,
  DeleteLogGroup: onLogGroup,
  PutRetentionPolicy: onLogGroup,
  DeleteRetentionPolicy: onLogGroup,
  DescribeLogStreams: onLogGroup,
  FilterLogEvents: onLogGroup,
  CreateLogStream: onLogStream,
  DeleteLogStream: onLogStream,
  PutLogEvents: onLogStream,
  GetLogEvents: onLogStream,
  TagResource: (input, context) => resource(logGroup({ logGroupIdentifier: input.resourceArn }, context)),
  UntagResource: (input, context) => ({ ...resource(logGroup({ logGroupIdentifier: input.resourceArn }, context)), extra: tagKeys(input.tagKeys) }),
  ListTagsForResource: (input, context) => resource(logGroup({ logGroupIdentifier: input.resourceArn }, context)),
  TagLogGroup: onLogGroup,
  UntagLogGroup: onLogGroup,
  ListTagsLogGroup: onLogGroup,
  PutMetricFilter: onLogGroup,
  DeleteMetricFilter: onLogGroup,
  DescribeMetricFilters: onLogGroup,
  // Every group the session tails must be allowed.
  StartLiveTail: (input, context) => {
    const groups = texts(input.logGroupIdentifiers).map((identifier) => logGroup({ logGroupIdentifier: identifier }, context) ?? "arn:invalid");
    return { resources: groups.length > 0 ? groups : ["*"] };
  },
};

// ECR: arn:…:ecr:…:repository/NAME, decided with the repository's policy when it has one;
// GetAuthorizationToken and the account's settings on "*".
const REPOSITORY_OPS = [
  "CreateRepository",
  "DeleteRepository",
  "DescribeImages",
  "ListImages",
  "BatchGetImage",
  "BatchDeleteImage",
  "PutImage",
  "GetDownloadUrlForLayer",
  "BatchCheckLayerAvailability",
  "InitiateLayerUpload",
  "UploadLayerPart",
  "CompleteLayerUpload",
  "PutLifecyclePolicy",
  "GetLifecyclePolicy",
  "DeleteLifecyclePolicy",
  "PutImageTagMutability",
  "PutImageScanningConfiguration",
  "SetRepositoryPolicy",
  "GetRepositoryPolicy",
  "DeleteRepositoryPolicy",
  "StartImageScan",
  "DescribeImageScanFindings",
];

/** The stored policy of a repository by name, undefined when it has none (or does not exist). */
export type RepositoryPolicyOf = (name: string) => Promise<string | undefined>;

export function ecrResources(policyOf: RepositoryPolicyOf): ResourceTable {
  const onRepository = async (input: Input, context: RequestContext): Promise<OperationAuthorization> => {
    const name = text(input.repositoryName);
    const found = resource(name === undefined ? undefined : arnIn(context, "ecr", `repository/${name}`));
    const policy = name === undefined ? undefined : await policyOf(name);
    return policy === undefined ? found : { ...found, resourcePolicy: policy };
  };
  const onRepositories = (input: Input, context: RequestContext) => {
    const names = texts(input.repositoryNames);
    return names.length === 0 ? resource("*") : { resources: names.map((name) => arnIn(context, "ecr", `repository/${name}`)) };
  };
  const onArn = async (input: Input, context: RequestContext): Promise<OperationAuthorization> => {
    const arn = text(input.resourceArn);
    const name = arn === undefined ? undefined : /^arn:[^:]+:ecr:[^:]*:\d{12}:repository\/(.+)$/.exec(arn)?.[1];
    const found = resource(arn);
    const policy = name === undefined || arn !== arnIn(context, "ecr", `repository/${name}`) ? undefined : await policyOf(name);
    return policy === undefined ? found : { ...found, resourcePolicy: policy };
  };
  return {
    ...Object.fromEntries(REPOSITORY_OPS.map((operation) => [operation, onRepository])),
    DescribeRepositories: onRepositories,
    TagResource: onArn,
    UntagResource: async (input, context) => ({ ...(await onArn(input, context)), extra: tagKeys(input.tagKeys) }),
    ListTagsForResource: onArn,
  };
}

// Secrets Manager: a secret's full ARN (arn:…:secret:NAME-AbCdEf), looked up from the name or
// partial ARN the request gives; a secret that does not exist (yet) is evaluated as
// arn:…:secret:NAME (CreateSecret, or a name that answers ResourceNotFound after the check).
export function secretsResources(arnOf: (secretId: string) => Promise<string | undefined>): ResourceTable {
  const onSecret = async (input: Input, context: RequestContext) => {
    const id = text(input.SecretId) ?? text(input.Name);
    if (id === undefined) return resource("*");
    const found = resource((await arnOf(id)) ?? (parseArn(id) ? id : arnIn(context, "secretsmanager", `secret:${id}`)));
    return Array.isArray(input.TagKeys) ? { ...found, extra: tagKeys(input.TagKeys) } : found;
  };
  const operations = [
    "CreateSecret",
    "GetSecretValue",
    "PutSecretValue",
    "UpdateSecret",
    "DescribeSecret",
    "DeleteSecret",
    "RestoreSecret",
    "TagResource",
    "UntagResource",
  ];
  return {
    ...Object.fromEntries(operations.map((operation) => [operation, onSecret])),
    // BatchGetSecretValue needs secretsmanager:GetSecretValue on each secret it returns as well. By
    // filters, the secrets are not known before the call: GetSecretValue on "*" is required then
    // (stricter than AWS, which leaves the ones the caller may not read out of the answer).
    BatchGetSecretValue: async (input, context) => {
      const ids = texts(input.SecretIdList);
      const secrets = ids.length === 0 ? ["*"] : await Promise.all(ids.map(async (id) => (await onSecret({ SecretId: id }, context)).resources[0] ?? "*"));
      return { resources: ["*"], also: [{ action: "secretsmanager:GetSecretValue", resources: secrets }] };
    },
  };
}

// SSM parameters: arn:…:ssm:…:parameter/NAME (a name's leading "/" is the ARN's separator).
const parameterArn = (name: string, context: RequestContext) =>
  parseArn(name) ? name : arnIn(context, "ssm", `parameter${name.startsWith("/") ? name : `/${name}`}`);
export const SSM_RESOURCES: ResourceTable = {
  PutParameter: (input, context) => resource(parameterArn(text(input.Name) ?? "", context)),
  GetParameter: (input, context) => resource(parameterArn((text(input.Name) ?? "").replace(/:[^:/]*$/, ""), context)),
  GetParameterHistory: (input, context) => resource(parameterArn(text(input.Name) ?? "", context)),
  DeleteParameter: (input, context) => resource(parameterArn(text(input.Name) ?? "", context)),
  LabelParameterVersion: (input, context) => resource(parameterArn(text(input.Name) ?? "", context)),
  UnlabelParameterVersion: (input, context) => resource(parameterArn(text(input.Name) ?? "", context)),
  GetParameters: (input, context) => ({ resources: texts(input.Names).map((name) => parameterArn(name.replace(/:[^:/]*$/, ""), context)) }),
  DeleteParameters: (input, context) => ({ resources: texts(input.Names).map((name) => parameterArn(name, context)) }),
  GetParametersByPath: (input, context) => resource(parameterArn(text(input.Path) ?? "/", context)),
};

// EC2: security groups, VPCs, subnets and network interfaces on their ARNs
// (arn:…:ec2:…:security-group/sg-…); a group named by GroupName (default VPC) is looked up to its id.
const EC2_KINDS: Readonly<Record<string, string>> = { sg: "security-group", vpc: "vpc", subnet: "subnet", eni: "network-interface" };
const ec2Arn = (context: RequestContext, id: string) => arnIn(context, "ec2", `${EC2_KINDS[id.split("-")[0] ?? ""] ?? "resource"}/${id}`);
export function ec2Resources(groupIdByName: (name: string) => Promise<string | undefined>): ResourceTable {
  const onGroup = async (input: Input, context: RequestContext) => {
    const id = text(input.GroupId) ?? (text(input.GroupName) === undefined ? undefined : await groupIdByName(text(input.GroupName)!));
    return resource(id === undefined ? undefined : ec2Arn(context, id));
  };
  const onIds =
    (...fields: string[]) =>
    (input: Input, context: RequestContext) => {
      const ids = fields.flatMap((field) =>
        Array.isArray(input[field]) ? texts(input[field]) : [text(input[field])].filter((id): id is string => id !== undefined),
      );
      return { resources: ids.length === 0 ? ["*"] : ids.map((id) => ec2Arn(context, id)) };
    };
  return {
    DeleteSecurityGroup: onGroup,
    AuthorizeSecurityGroupIngress: onGroup,
    AuthorizeSecurityGroupEgress: onGroup,
    RevokeSecurityGroupIngress: onGroup,
    RevokeSecurityGroupEgress: onGroup,
    ModifySecurityGroupRules: onGroup,
    UpdateSecurityGroupRuleDescriptionsIngress: onGroup,
    UpdateSecurityGroupRuleDescriptionsEgress: onGroup,
    CreateSecurityGroup: onIds("VpcId"),
    DeleteVpc: onIds("VpcId"),
    CreateSubnet: onIds("VpcId"),
    DeleteSubnet: onIds("SubnetId"),
    ModifySubnetAttribute: onIds("SubnetId"),
    ModifyNetworkInterfaceAttribute: onIds("NetworkInterfaceId", "Groups"),
    CreateTags: onIds("Resources"),
    DeleteTags: onIds("Resources"),
  };
}

// ACM: each certificate operation on the certificate's ARN as given (a malformed one is refused by
// the handler); an import of a new certificate and the listing on "*".
const onCertificate = (input: Input): OperationAuthorization => resource(text(input.CertificateArn));
export const ACM_RESOURCES: ResourceTable = {
  ImportCertificate: onCertificate,
  DescribeCertificate: onCertificate,
  GetCertificate: onCertificate,
  DeleteCertificate: onCertificate,
  AddTagsToCertificate: onCertificate,
  RemoveTagsFromCertificate: onCertificate,
  ListTagsForCertificate: onCertificate,
};

// ELBv2: the load balancer, target group, listener or rule ARN the operation names (Service
// Authorization Reference, Elastic Load Balancing V2); a create is decided on the ARN it will make,
// its random id a "*" (arn:…:loadbalancer/app/NAME/*, …:targetgroup/NAME/*); Describe* on "*".
//
// Berth's rule, stricter than AWS (which asks no EC2 permission of ELBv2): whatever places a
// load balancer's traffic into a VPC is also decided as ec2:CreateNetworkInterface, the action
// that makes an address in a subnet behind security groups. CreateLoadBalancer needs it on each
// subnet and security group it names, CreateTargetGroup on its VPC (where the proxy will connect
// to targets); otherwise ELBv2 rights alone would reach into any VPC of the account.
// A create with tags is also decided as elasticloadbalancing:AddTags on the ARN it will make
// (AWS: "tag on create" needs AddTags permission), so a Deny on AddTags cannot be bypassed.
const onMember = (member: string) => (input: Input) => resource(text(input[member]));
const ec2Ids = (context: RequestContext, ids: readonly string[]) => [...new Set(ids)].map((id) => ec2Arn(context, id));
const hasTags = (input: Input) => Array.isArray(input.Tags) && input.Tags.length > 0;
/** The decision of a create on `arn`: `also` AddTags on it when tags come with it, and the EC2 decisions given. */
function creating(input: Input, arn: string, ec2: readonly string[] = []): OperationAuthorization {
  const also: { action: string; resources: string[] }[] = [];
  if (ec2.length > 0) also.push({ action: "ec2:CreateNetworkInterface", resources: [...ec2] });
  if (hasTags(input)) also.push({ action: "elasticloadbalancing:AddTags", resources: [arn] });
  return also.length === 0 ? resource(arn) : { resources: [arn], also };
}
/** The ARN a listener (or rule) of `parent` will have: the parent's resource path under `kind`, its id a "*". */
const childArn = (parent: string | undefined, from: string, kind: string) =>
  parent === undefined || !parent.includes(`:${from}/`) ? "*" : `${parent.replace(`:${from}/`, `:${kind}/`)}/*`;
function onCreateLoadBalancer(input: Input, context: RequestContext): OperationAuthorization {
  const arn = arnIn(context, "elasticloadbalancing", `loadbalancer/${text(input.Type) === "network" ? "net" : "app"}/${text(input.Name) ?? ""}/*`);
  const mappings = Array.isArray(input.SubnetMappings) ? input.SubnetMappings.map((m) => text((m as Input | undefined)?.SubnetId)) : [];
  const subnets = [...texts(input.Subnets), ...mappings.filter((id): id is string => id !== undefined)];
  return creating(input, arn, ec2Ids(context, [...subnets, ...texts(input.SecurityGroups)]));
}
export const ELBV2_RESOURCES: ResourceTable = {
  CreateLoadBalancer: onCreateLoadBalancer,
  CreateTargetGroup: (input, context) => {
    const vpc = text(input.VpcId);
    return creating(input, arnIn(context, "elasticloadbalancing", `targetgroup/${text(input.Name) ?? ""}/*`), vpc === undefined ? [] : ec2Ids(context, [vpc]));
  },
  DeleteLoadBalancer: onMember("LoadBalancerArn"),
  ModifyLoadBalancerAttributes: onMember("LoadBalancerArn"),
  CreateListener: (input) => ({ ...creating(input, childArn(text(input.LoadBalancerArn), "loadbalancer", "listener")), ...onMember("LoadBalancerArn")(input) }),
  ModifyTargetGroup: onMember("TargetGroupArn"),
  DeleteTargetGroup: onMember("TargetGroupArn"),
  ModifyTargetGroupAttributes: onMember("TargetGroupArn"),
  RegisterTargets: onMember("TargetGroupArn"),
  DeregisterTargets: onMember("TargetGroupArn"),
  ModifyListener: onMember("ListenerArn"),
  DeleteListener: onMember("ListenerArn"),
  CreateRule: (input) => ({ ...creating(input, childArn(text(input.ListenerArn), "listener", "listener-rule")), ...onMember("ListenerArn")(input) }),
  ModifyRule: onMember("RuleArn"),
  DeleteRule: onMember("RuleArn"),
  SetRulePriorities: (input) => {
    const arns = Array.isArray(input.RulePriorities)
      ? input.RulePriorities.map((entry) => text((entry as Input | undefined)?.RuleArn)).filter((arn) => arn !== undefined)
      : [];
    return { resources: arns.length === 0 ? ["*"] : arns };
  },
  AddTags: (input) => ({ resources: texts(input.ResourceArns).length === 0 ? ["*"] : texts(input.ResourceArns) }),
  RemoveTags: (input) => ({ resources: texts(input.ResourceArns).length === 0 ? ["*"] : texts(input.ResourceArns), extra: tagKeys(input.TagKeys) }),
};
