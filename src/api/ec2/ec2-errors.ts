// EC2's error codes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html)
// and messages as EC2 words them. EC2 answers every client error with HTTP 400 except DryRunOperation
// (412), which is how EC2 says "you would have been allowed".
import { AwsError } from "../../core/errors.js";

export const invalidParameterValue = (message: string) => new AwsError("InvalidParameterValue", message);

export const invalidParameterCombination = (message: string) => new AwsError("InvalidParameterCombination", message);

export const missingParameter = (parameter: string) => new AwsError("MissingParameter", `The request must contain the parameter ${parameter}`);

/** DryRun=true from a caller who may call the operation (Berth has no IAM policies yet: every caller may). */
export const dryRunOperation = () => new AwsError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", { httpStatus: 412 });

/** Answers a DryRun request: the permission check passed, so EC2 refuses with DryRunOperation. */
export function refuseDryRun(input: { readonly DryRun?: boolean | undefined }): void {
  if (input.DryRun === true) throw dryRunOperation();
}
