// The resources the operations of CloudWatch Logs, ECR, Secrets Manager, SSM, IAM and EC2 are
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

// CloudWatch Logs: arn:…:logs:…:log-group:NAME, and …:log-group:NAME:log-stream:STREAM.
function logGroup(input: Input, context: RequestContext): string | undefined {
  const identifier = text(input.logGroupIdentifier);
  if (identifier !== undefined && parseArn(identifier)) return identifier.replace(/:\*$/, "");
  const name = text(input.logGroupName) ?? identifier;
  return name === undefined ? undefined : arnIn(context, "logs", `log-group:${name}`);
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
  TagResource: (input) => resource(text(input.resourceArn)),
  UntagResource: (input) => resource(text(input.resourceArn)),
  ListTagsForResource: (input) => resource(text(input.resourceArn)),
  TagLogGroup: onLogGroup,
  UntagLogGroup: onLogGroup,
  ListTagsLogGroup: onLogGroup,
};

// ECR: arn:…:ecr:…:repository/NAME; GetAuthorizationToken and the account's settings on "*".
const onRepository = (input: Input, context: RequestContext) => {
  const name = text(input.repositoryName);
  return resource(name === undefined ? undefined : arnIn(context, "ecr", `repository/${name}`));
};
const onRepositories = (input: Input, context: RequestContext) => {
  const names = texts(input.repositoryNames);
  return names.length === 0 ? resource("*") : { resources: names.map((name) => arnIn(context, "ecr", `repository/${name}`)) };
};
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
];
export const ECR_RESOURCES: ResourceTable = {
  ...Object.fromEntries(REPOSITORY_OPS.map((operation) => [operation, onRepository])),
  DescribeRepositories: onRepositories,
  TagResource: (input) => resource(text(input.resourceArn)),
  UntagResource: (input) => resource(text(input.resourceArn)),
  ListTagsForResource: (input) => resource(text(input.resourceArn)),
};

// Secrets Manager: a secret's full ARN (arn:…:secret:NAME-AbCdEf), looked up from the name or
// partial ARN the request gives; a secret that does not exist (yet) is evaluated as
// arn:…:secret:NAME (CreateSecret, or a name that answers ResourceNotFound after the check).
export function secretsResources(arnOf: (secretId: string) => Promise<string | undefined>): ResourceTable {
  const onSecret = async (input: Input, context: RequestContext) => {
    const id = text(input.SecretId) ?? text(input.Name);
    if (id === undefined) return resource("*");
    return resource((await arnOf(id)) ?? (parseArn(id) ? id : arnIn(context, "secretsmanager", `secret:${id}`)));
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

// IAM: arn:…:iam::ACCOUNT:role/NAME, user/NAME, or the policy ARN given. The path is not looked
// up: a role or user with a path is evaluated as <kind>/<name> (policies naming <kind>/* match both).
function iamEntity(context: RequestContext, kind: "role" | "user", name: string | undefined, path?: string): string | undefined {
  return name === undefined ? undefined : `arn:${context.partition}:iam::${context.accountId}:${kind}${path ?? "/"}${name}`;
}
const onRole = (input: Input, context: RequestContext) => resource(iamEntity(context, "role", text(input.RoleName), text(input.Path)));
const onUser = (input: Input, context: RequestContext) => resource(iamEntity(context, "user", text(input.UserName) ?? userOfCaller(context), text(input.Path)));
const onPolicy = (input: Input) => resource(text(input.PolicyArn));
/** IAM's user operations act on the caller when it names no user (GetUser, ListAccessKeys, CreateAccessKey, …). */
const userOfCaller = (context: RequestContext) => (context.caller.kind === "user" ? context.caller.userName : undefined);
const ROLE_OPS = ["CreateRole", "GetRole", "DeleteRole", "UpdateRole", "UpdateAssumeRolePolicy", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy"];
const ROLE_OPS_2 = ["ListRolePolicies", "AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies", "TagRole", "UntagRole", "ListRoleTags"];
const USER_OPS = ["CreateUser", "GetUser", "DeleteUser", "UpdateUser", "PutUserPolicy", "GetUserPolicy", "DeleteUserPolicy", "ListUserPolicies"];
const USER_OPS_2 = ["AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies", "CreateAccessKey", "DeleteAccessKey", "ListAccessKeys"];
const USER_OPS_3 = ["UpdateAccessKey", "TagUser", "UntagUser", "ListUserTags"];
const POLICY_OPS = ["GetPolicy", "DeletePolicy", "CreatePolicyVersion", "GetPolicyVersion", "DeletePolicyVersion", "ListPolicyVersions"];
const POLICY_OPS_2 = ["SetDefaultPolicyVersion", "TagPolicy", "UntagPolicy", "ListPolicyTags"];
export const IAM_RESOURCES: ResourceTable = {
  ...Object.fromEntries([...ROLE_OPS, ...ROLE_OPS_2].map((operation) => [operation, onRole])),
  ...Object.fromEntries([...USER_OPS, ...USER_OPS_2, ...USER_OPS_3].map((operation) => [operation, onUser])),
  ...Object.fromEntries([...POLICY_OPS, ...POLICY_OPS_2].map((operation) => [operation, onPolicy])),
  CreatePolicy: (input, context) =>
    resource(`arn:${context.partition}:iam::${context.accountId}:policy${text(input.Path) ?? "/"}${text(input.PolicyName) ?? ""}`),
};

// EC2: security groups on their ARNs (arn:…:ec2:…:security-group/sg-…), VPCs and subnets on theirs.
const ec2 = (context: RequestContext, kind: string, id: string | undefined) => resource(id === undefined ? undefined : arnIn(context, "ec2", `${kind}/${id}`));
const onGroup = (input: Input, context: RequestContext) => ec2(context, "security-group", text(input.GroupId));
export const EC2_RESOURCES: ResourceTable = {
  DeleteSecurityGroup: onGroup,
  AuthorizeSecurityGroupIngress: onGroup,
  AuthorizeSecurityGroupEgress: onGroup,
  RevokeSecurityGroupIngress: onGroup,
  RevokeSecurityGroupEgress: onGroup,
  ModifySecurityGroupRules: onGroup,
  UpdateSecurityGroupRuleDescriptionsIngress: onGroup,
  UpdateSecurityGroupRuleDescriptionsEgress: onGroup,
  DeleteVpc: (input, context) => ec2(context, "vpc", text(input.VpcId)),
  DeleteSubnet: (input, context) => ec2(context, "subnet", text(input.SubnetId)),
};
