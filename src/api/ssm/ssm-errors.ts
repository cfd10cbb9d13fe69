// SSM's error names (from the @aws-sdk/client-ssm model) and messages as Parameter Store words
// them. Confirmed against answers users quote from AWS unless marked otherwise.
import { AwsError } from "../../core/errors.js";

const error = (code: string) => (message: string) => new AwsError(code, message);

export const validation = error("ValidationException");
export const parameterNotFound = () => new AwsError("ParameterNotFound", ""); // AWS answers GetParameter's with an empty message
export const parameterAlreadyExists = () =>
  new AwsError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.");
/** Any name breaking the naming rules (AWS gives this one text whatever the rule broken). */
export const invalidName = () =>
  validation(
    `Parameter name: can't be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_`,
  );
export const invalidPath = () =>
  validation(
    `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can't be prefixed with \\"aws\\" or \\"ssm\\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.`,
  );
// wording not confirmed (the ones below)
export const versionNotFound = (name: string, version: string) =>
  new AwsError("ParameterVersionNotFound", `Systems Manager could not find version ${version} of ${name}. Verify the version and try again.`);
export const hierarchyTooDeep = () =>
  new AwsError(
    "HierarchyLevelLimitExceededException",
    "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for parameter names in the AWS Systems Manager User Guide.",
  );
export const patternMismatch = (pattern: string) =>
  new AwsError("ParameterPatternMismatchException", `Parameter value, cannot be validated against allowedPattern: ${pattern}`);
export const invalidAllowedPattern = () => new AwsError("InvalidAllowedPatternException", "The allowed pattern is not a valid regular expression.");
export const labelLimitExceeded = () =>
  new AwsError(
    "ParameterVersionLabelLimitExceeded",
    "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.",
  );
export const maxVersionsExceeded = (name: string, oldest: number) =>
  new AwsError(
    "ParameterMaxVersionLimitExceeded",
    `You attempted to create a new version of ${name} by calling the PutParameter API with the overwrite flag. Version ${oldest}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.`,
  );
export const invalidNextToken = () => new AwsError("InvalidNextToken", "The specified token isn't valid.");
export const invalidFilterKey = () => new AwsError("InvalidFilterKey", "The specified key is not valid.");
export const constraint = (member: string, value: string, rule: string) =>
  validation(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${rule}`);
