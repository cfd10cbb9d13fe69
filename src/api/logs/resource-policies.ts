// PutResourcePolicy, DescribeResourcePolicies, DeleteResourcePolicy: the account's Logs resource
// policies (those that let services such as Route 53 write to log groups). Stored and listed as
// AWS does; Berth does not enforce them (no AWS service writes to it). Resource-scoped policies
// (resourceArn, expectedRevisionId) are refused rather than stored as account ones.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html
import type {
  DeleteResourcePolicyCommandOutput,
  DeleteResourcePolicyRequest,
  DescribeResourcePoliciesRequest,
  DescribeResourcePoliciesResponse,
  PutResourcePolicyRequest,
  PutResourcePolicyResponse,
  ResourcePolicy,
} from "@aws-sdk/client-cloudwatch-logs";
import { invalidParameterException, limitExceededException, resourceNotFoundException } from "../../core/errors.js";
import type { LogResourcePoliciesRepository, LogResourcePolicyRecord } from "../../store/index.js";
import type { ResponseBody } from "../service-module.js";
import type { LogsContext } from "./log-groups.js";
import { decodeOpaqueToken, encodeOpaqueToken } from "./log-tokens.js";
import { checkPolicyName } from "./metric-filter-inputs.js";

export interface ResourcePoliciesContext extends LogsContext {
  readonly resourcePolicies: LogResourcePoliciesRepository;
}

/** AWS: "You can have up to 10 resource policies per account per Region"; a document is at most 5120 characters. */
export const MAX_RESOURCE_POLICIES = 10;
export const MAX_POLICY_DOCUMENT_LENGTH = 5120;
const DESCRIBE_LIMIT_DEFAULT = 50;

function refuseResourceScope(input: { resourceArn?: string | undefined; expectedRevisionId?: string | undefined }): void {
  if (input.resourceArn !== undefined || input.expectedRevisionId !== undefined) {
    // wording not confirmed: Berth keeps account-level policies only.
    throw invalidParameterException("Resource-scoped policies (resourceArn, expectedRevisionId) are not supported by Berth");
  }
}

export async function putResourcePolicy(context: ResourcePoliciesContext, input: PutResourcePolicyRequest): Promise<PutResourcePolicyResponse> {
  refuseResourceScope(input);
  const policyName = checkPolicyName(input.policyName);
  const policyDocument = input.policyDocument;
  if (policyDocument === undefined || policyDocument.length < 1 || policyDocument.length > MAX_POLICY_DOCUMENT_LENGTH) {
    throw invalidParameterException(
      `1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length ${policyDocument ? `less than or equal to ${MAX_POLICY_DOCUMENT_LENGTH}` : "greater than or equal to 1"}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(policyDocument);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalidParameterException("Policy document is not a valid JSON object."); // wording not confirmed
  }
  const record: LogResourcePolicyRecord = { policyName, policyDocument, updatedAt: context.clock.now() };
  if (!(await context.resourcePolicies.put(record, MAX_RESOURCE_POLICIES))) {
    throw limitExceededException("Resource limit exceeded."); // AWS's words (seen through Terraform and CloudFormation)
  }
  return { resourcePolicy: policyOf(record) };
}

function policyOf(record: LogResourcePolicyRecord): ResourcePolicy {
  return { policyName: record.policyName, policyDocument: record.policyDocument, lastUpdatedTime: record.updatedAt, policyScope: "ACCOUNT" };
}

type PoliciesPage = { n: string };
const isPage = (value: unknown): value is PoliciesPage => typeof (value as PoliciesPage)?.n === "string";

export async function describeResourcePolicies(
  context: ResourcePoliciesContext,
  input: DescribeResourcePoliciesRequest,
): Promise<DescribeResourcePoliciesResponse> {
  refuseResourceScope(input);
  if (input.policyScope !== undefined && input.policyScope !== "ACCOUNT") {
    throw invalidParameterException("Resource-scoped policies are not supported by Berth"); // wording not confirmed
  }
  const limit = input.limit ?? DESCRIBE_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 50) {
    throw invalidParameterException(
      `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value ${limit < 1 ? "greater than or equal to 1" : "less than or equal to 50"}`,
    );
  }
  const page = input.nextToken === undefined ? undefined : decodeOpaqueToken(input.nextToken, isPage);
  const found = await context.resourcePolicies.list({ ...(page ? { afterName: page.n } : {}), limit: limit + 1 });
  const shown = found.slice(0, limit);
  const last = shown.at(-1);
  return {
    resourcePolicies: shown.map(policyOf),
    ...(found.length > limit && last ? { nextToken: encodeOpaqueToken({ n: last.policyName }) } : {}),
  };
}

export async function deleteResourcePolicy(
  context: ResourcePoliciesContext,
  input: DeleteResourcePolicyRequest,
): Promise<ResponseBody<DeleteResourcePolicyCommandOutput>> {
  refuseResourceScope(input);
  if (!(await context.resourcePolicies.delete(checkPolicyName(input.policyName)))) {
    throw resourceNotFoundException(`Policy with name [${input.policyName ?? ""}] does not exist`); // wording not confirmed
  }
  return {};
}
