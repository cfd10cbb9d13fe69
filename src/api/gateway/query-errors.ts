// Errors of the AWS query protocol, both flavours: the codes the decoder answers with, the
// translation of the gateway's own errors (named as the JSON protocols name them) into the codes
// query services use, and the XML error documents.
//   ec2:   HTTP 4xx/5xx, <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
//          (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html)
//   query: <ErrorResponse xmlns=…><Error><Type>Sender|Receiver</Type><Code/><Message/></Error><RequestId/></ErrorResponse>
//          (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#operation-error-serialization)
import { AwsError } from "../../core/errors.js";
import { xmlText } from "./query-xml.js";

export type QueryFlavour = "ec2" | "query";

/** A request the decoder cannot split into parameters (bad keys, too many, duplicates). */
export function malformedQuery(flavour: QueryFlavour, message: string): AwsError {
  return new AwsError(flavour === "ec2" ? "InvalidParameterValue" : "MalformedQueryString", message);
}

/** A parameter whose value is not of its member's type. */
export function badQueryValue(flavour: QueryFlavour, message: string): AwsError {
  return new AwsError(flavour === "ec2" ? "InvalidParameterValue" : "ValidationError", message);
}

/** A required member the request does not give; `key` is its wire key, `member` its model name. */
export function missingQueryParameter(flavour: QueryFlavour, key: string, member: string): AwsError {
  if (flavour === "ec2") return new AwsError("MissingParameter", `The request must contain the parameter ${key}`);
  const path = member.charAt(0).toLowerCase() + member.slice(1);
  return new AwsError("ValidationError", `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`);
}

/** An Action the service does not implement (the same code and wording in both flavours). */
export const invalidAction = (action: string) => new AwsError("InvalidAction", `The action ${action} is not valid for this web service.`);

export const missingAction = () => new AwsError("MissingAction", "The request must contain the parameter Action.");

export const missingVersion = () => new AwsError("MissingParameter", "The request must contain the parameter Version.");

export const unsupportedMethod = (method: string) =>
  new AwsError("InvalidAction", `The HTTP method ${method} is not valid for this web service; use GET or POST.`);

interface WireError {
  readonly code: string;
  readonly message: string;
  readonly httpStatus: number;
}

/**
 * The gateway's errors under the names query services give them. EC2 says AuthFailure for a key it
 * does not know or a signature that does not verify, RequestLimitExceeded when throttling and
 * InternalError; STS, IAM and the other query services say InvalidClientTokenId,
 * SignatureDoesNotMatch, Throttling and InternalFailure.
 */
const RENAMED: Readonly<Record<string, Readonly<Record<QueryFlavour, Partial<WireError> & { code: string }>>>> = {
  UnrecognizedClientException: {
    ec2: { code: "AuthFailure", message: "AWS was not able to validate the provided access credentials" },
    query: { code: "InvalidClientTokenId" },
  },
  InvalidSignatureException: { ec2: { code: "AuthFailure" }, query: { code: "SignatureDoesNotMatch" } },
  IncompleteSignatureException: { ec2: { code: "IncompleteSignature" }, query: { code: "IncompleteSignature" } },
  MissingAuthenticationTokenException: { ec2: { code: "MissingAuthenticationToken" }, query: { code: "MissingAuthenticationToken" } },
  ThrottlingException: {
    ec2: { code: "RequestLimitExceeded", message: "Request limit exceeded.", httpStatus: 503 },
    query: { code: "Throttling", message: "Rate exceeded" },
  },
  ServerException: {
    ec2: { code: "InternalError", message: "An internal error has occurred" },
    query: { code: "InternalFailure", message: "An internal error has occurred" },
  },
  // Expired temporary credentials: STS and IAM answer ExpiredToken; EC2's code for them is not confirmed (RequestExpired, which botocore also takes for expired credentials).
  ExpiredTokenException: { ec2: { code: "RequestExpired" }, query: { code: "ExpiredToken" } },
  AccessDeniedException: {
    ec2: { code: "UnauthorizedOperation", message: "You are not authorized to perform this operation." },
    query: { code: "AccessDenied" },
  },
};

export function queryWireError(error: AwsError, flavour: QueryFlavour): WireError {
  const renamed = RENAMED[error.code]?.[flavour];
  return {
    code: renamed?.code ?? error.code,
    message: renamed?.message ?? error.message,
    httpStatus: renamed?.httpStatus ?? error.httpStatus,
  };
}

/** The error document of the flavour. `xmlNamespace` is the service's, "" when no service was named. */
export function queryErrorXml(error: WireError, flavour: QueryFlavour, xmlNamespace: string, requestId: string): string {
  const code = `<Code>${xmlText(error.code)}</Code><Message>${xmlText(error.message)}</Message>`;
  if (flavour === "ec2") {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${code}</Error></Errors><RequestID>${xmlText(requestId)}</RequestID></Response>`;
  }
  const type = error.httpStatus >= 500 ? "Receiver" : "Sender";
  const namespace = xmlNamespace ? ` xmlns="${xmlText(xmlNamespace)}"` : "";
  return `<ErrorResponse${namespace}><Error><Type>${type}</Type>${code}</Error><RequestId>${xmlText(requestId)}</RequestId></ErrorResponse>`;
}
