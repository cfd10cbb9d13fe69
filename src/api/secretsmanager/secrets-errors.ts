// Secrets Manager's error names (from the @aws-sdk/client-secrets-manager model) and messages as
// the service words them. Confirmed against answers users quote from AWS unless marked otherwise.
import { AwsError } from "../../core/errors.js";

const error = (code: string) => (message: string) => new AwsError(code, message);

export const invalidParameter = error("InvalidParameterException");
export const invalidRequest = error("InvalidRequestException");
export const resourceExists = error("ResourceExistsException");
export const resourceNotFound = error("ResourceNotFoundException");
export const limitExceeded = error("LimitExceededException");

export const secretNotFound = () => resourceNotFound("Secrets Manager can't find the specified secret.");
export const versionIdNotFound = (versionId: string) => resourceNotFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
export const stageNotFound = (stage: string) => resourceNotFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`);
export const markedForDeletion = () => invalidRequest("You can't perform this operation on the secret because it was marked for deletion.");
export const nameScheduledForDeletion = () => invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.");
export const secretExists = (name: string) => resourceExists(`The operation failed because the secret ${name} already exists.`);
export const bothValues = () => invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");

export const validation = error("ValidationException");

/** A member failing its model constraint, in the words of AWS's request validation (a ValidationException, as for an invalid name). */
export const constraint = (member: string, value: string, rule: string) =>
  // wording not confirmed (Secrets Manager's own constraint messages are not published)
  validation(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${rule}`);
