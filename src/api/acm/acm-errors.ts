// ACM's errors (AWS Certificate Manager API Reference, "Errors" of each action), as AWS JSON 1.1
// answers them: the code in __type, HTTP 400.
import { AwsError } from "../../core/errors.js";

export const validationException = (message: string) => new AwsError("ValidationException", message);

export const invalidParameter = (message: string) => new AwsError("InvalidParameterException", message);

/** An ARN that is not an ACM certificate's. */
export const invalidArn = (arn: string) => new AwsError("InvalidArnException", `String '${arn.slice(0, 2048)}' is not a valid ARN`); // wording not confirmed

export const notFound = (arn: string) => new AwsError("ResourceNotFoundException", `Could not find certificate ${arn}.`); // wording not confirmed

export const invalidTag = (message: string) => new AwsError("InvalidTagException", message);

export const tooManyTags = () => new AwsError("TooManyTagsException", "the TagSet: exceeds the tag limit of 50"); // wording not confirmed

/** DeleteCertificate of a certificate a load balancer's listener uses (AWS's text, as quoted in public deletion failures). */
export const certificateInUse = (arn: string, accountId: string) =>
  new AwsError("ResourceInUseException", `Certificate ${arn} in account ${accountId} is in use.`);
