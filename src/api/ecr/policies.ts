// ECR's resource policies and registry description: SetRepositoryPolicy, GetRepositoryPolicy,
// DeleteRepositoryPolicy, PutRegistryPolicy, GetRegistryPolicy, DeleteRegistryPolicy,
// DescribeRegistry. A repository's policy is enforced (src/control/authorizer.ts, asked by the
// gateway for ECR operations and by /v2/ for each registry request): an explicit Deny in it or in
// the caller's identity policies denies, otherwise an Allow in either allows. The registry policy
// is stored and validated; on ECR it grants replication and pull-through cache actions, which
// Berth does not have (unsupported-features.ts), so nothing reads it for a decision.
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_SetRepositoryPolicy.html
import type {
  DeleteRegistryPolicyResponse,
  DeleteRepositoryPolicyRequest,
  DeleteRepositoryPolicyResponse,
  DescribeRegistryResponse,
  GetRegistryPolicyResponse,
  GetRepositoryPolicyRequest,
  GetRepositoryPolicyResponse,
  PutRegistryPolicyRequest,
  PutRegistryPolicyResponse,
  SetRepositoryPolicyRequest,
  SetRepositoryPolicyResponse,
} from "@aws-sdk/client-ecr";
import { AwsError } from "../../core/errors.js";
import type { CallerIdentity } from "../../core/iam/index.js";
import { evaluate, parsePolicyDocument } from "../../core/iam/index.js";
import type { PolicyDocument } from "../../core/iam/index.js";
import type { RequestContext } from "../service-module.js";
import type { EcrContext } from "./ecr-context.js";
import { registryIdOf, requireRepository } from "./ecr-context.js";
import { invalidParameter, invalidParameterMessage } from "./ecr-errors.js";

/** policyText: length 0 to 10,240 (SetRepositoryPolicy and PutRegistryPolicy). */
export const MAX_POLICY_CHARS = 10_240;

const repositoryPolicyNotFound = (name: string, registryId: string) =>
  new AwsError(
    "RepositoryPolicyNotFoundException",
    `Repository policy does not exist for the repository with name '${name}' in the registry with id '${registryId}'`,
  );

const registryPolicyNotFound = (registryId: string) =>
  new AwsError("RegistryPolicyNotFoundException", `Registry policy does not exist in the registry with id '${registryId}'`); // wording not confirmed

/** ECR's answer to a policy it will not store (the constraint text seen in ECR's responses). */
const invalidPolicy = (constraint: string) => invalidParameterMessage(`Invalid parameter at 'PolicyText' failed to satisfy constraint: '${constraint}'`);

/**
 * A policy text checked as ECR checks it: an IAM resource policy (a Principal in every statement,
 * Conditions compiled), whose user and role principals exist; a repository's names no Resource (it
 * applies to its repository: ECR refuses one that does). Answers the compiled document.
 */
export async function checkResourcePolicy(context: EcrContext, text: string | undefined, kind: "repository" | "registry"): Promise<PolicyDocument> {
  if (text === undefined) throw invalidParameter("policyText", "Member must not be null");
  if (text.length > MAX_POLICY_CHARS) throw invalidParameter("policyText", `Member must have length less than or equal to ${MAX_POLICY_CHARS}`);
  const named: string[] = [];
  let document: PolicyDocument;
  try {
    document = parsePolicyDocument(text, "resource", { principalExists: (arn) => (named.push(arn), true) });
  } catch (error) {
    if (error instanceof AwsError) throw invalidPolicy(`Invalid ${kind} policy provided`);
    throw error;
  }
  if (kind === "repository" && document.statements.some((statement) => statement.resources !== undefined))
    throw invalidPolicy("Invalid repository policy provided");
  // The parser's principal check is synchronous: ask the store about the ARNs it named, once each.
  for (const arn of new Set(named)) if (!(await context.principalExists(arn))) throw invalidPolicy("Principal not found");
  return document;
}

/**
 * Whether the policy would deny the caller a later SetRepositoryPolicy (ECR's lock-out check: such a
 * policy needs `force`). The root is not bound by repository policies here, so it never locks itself out.
 */
function locksOut(document: PolicyDocument, caller: CallerIdentity, repositoryArn: string): boolean {
  if (caller.kind === "root") return false;
  const request = { principalArn: caller.arn, action: "ecr:SetRepositoryPolicy", resources: [repositoryArn] };
  return evaluate(request, { identity: [], resource: document }).decision === "ExplicitDeny";
}

export async function setRepositoryPolicy(
  context: EcrContext,
  input: SetRepositoryPolicyRequest,
  request: Pick<RequestContext, "caller">,
): Promise<SetRepositoryPolicyResponse> {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const document = await checkResourcePolicy(context, input.policyText, "repository");
  if (input.force !== true && locksOut(document, request.caller, repository.arn)) {
    throw invalidParameterMessage(
      "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'The policy would prevent you from setting a repository policy in the future; set force to apply it'",
    ); // wording not confirmed
  }
  await context.policies.setRepositoryPolicy(repository, input.policyText!);
  return { registryId: repository.registryId, repositoryName: repository.name, policyText: input.policyText };
}

async function existingRepositoryPolicy(context: EcrContext, input: GetRepositoryPolicyRequest) {
  const repository = await requireRepository(context, input.repositoryName, input.registryId);
  const policyText = await context.policies.repositoryPolicy(repository);
  if (policyText === undefined) throw repositoryPolicyNotFound(repository.name, repository.registryId);
  return { repository, response: { registryId: repository.registryId, repositoryName: repository.name, policyText } };
}

export async function getRepositoryPolicy(context: EcrContext, input: GetRepositoryPolicyRequest): Promise<GetRepositoryPolicyResponse> {
  return (await existingRepositoryPolicy(context, input)).response;
}

export async function deleteRepositoryPolicy(context: EcrContext, input: DeleteRepositoryPolicyRequest): Promise<DeleteRepositoryPolicyResponse> {
  const { repository, response } = await existingRepositoryPolicy(context, input);
  if (!(await context.policies.deleteRepositoryPolicy(repository))) throw repositoryPolicyNotFound(repository.name, repository.registryId);
  return response;
}

export async function putRegistryPolicy(context: EcrContext, input: PutRegistryPolicyRequest): Promise<PutRegistryPolicyResponse> {
  const registryId = registryIdOf(context, undefined);
  await checkResourcePolicy(context, input.policyText, "registry");
  await context.policies.setRegistryPolicy(registryId, input.policyText!);
  return { registryId, policyText: input.policyText };
}

export async function getRegistryPolicy(context: EcrContext): Promise<GetRegistryPolicyResponse> {
  const registryId = registryIdOf(context, undefined);
  const policyText = await context.policies.registryPolicy(registryId);
  if (policyText === undefined) throw registryPolicyNotFound(registryId);
  return { registryId, policyText };
}

export async function deleteRegistryPolicy(context: EcrContext): Promise<DeleteRegistryPolicyResponse> {
  const { registryId, policyText } = await getRegistryPolicy(context);
  if (!(await context.policies.deleteRegistryPolicy(registryId!))) throw registryPolicyNotFound(registryId!);
  return { registryId, policyText };
}

export function describeRegistry(context: EcrContext): DescribeRegistryResponse {
  // Berth replicates nothing: the configuration is empty, as an AWS registry's is before any rule.
  return { registryId: registryIdOf(context, undefined), replicationConfiguration: { rules: [] } };
}
