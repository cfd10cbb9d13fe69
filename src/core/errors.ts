// The one error hierarchy of Berth (DESIGN.md, rule 5). Every failure a user can see is an
// AwsError: it carries the AWS error code ("__type" on the wire), the message as AWS words it,
// the HTTP status the gateway answers with, and optionally the cause. Only the gateway turns these
// into the wire shape; anything thrown that is not an AwsError becomes ServerException there.

export interface AwsErrorOptions {
  /** HTTP status; AWS answers client faults with 400 and auth faults with 403. */
  readonly httpStatus?: number;
  readonly cause?: unknown;
  /** Extra members some errors carry on the wire (e.g. ECR's registryId). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export class AwsError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly extra: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options: AwsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.httpStatus = options.httpStatus ?? 400;
    this.extra = options.extra;
  }

  /** Whether the fault is the caller's (4xx) rather than the server's. */
  get isClientFault(): boolean {
    return this.httpStatus < 500;
  }
}

const make =
  (code: string, httpStatus = 400) =>
  (message: string, options: Omit<AwsErrorOptions, "httpStatus"> = {}): AwsError =>
    new AwsError(code, message, { ...options, httpStatus });

// ECS (names and statuses from the ECS API model).
export const clientException = make("ClientException");
export const invalidParameterException = make("InvalidParameterException");
export const clusterNotFoundException = make("ClusterNotFoundException");
export const clusterContainsServicesException = make("ClusterContainsServicesException");
export const clusterContainsTasksException = make("ClusterContainsTasksException");
export const clusterContainsContainerInstancesException = make("ClusterContainsContainerInstancesException");
export const resourceNotFoundException = make("ResourceNotFoundException");
export const resourceInUseException = make("ResourceInUseException");
export const limitExceededException = make("LimitExceededException");
export const updateInProgressException = make("UpdateInProgressException");
export const serviceNotFoundException = make("ServiceNotFoundException");
export const serviceNotActiveException = make("ServiceNotActiveException");
export const platformUnknownException = make("PlatformUnknownException");
export const platformTaskDefinitionIncompatibilityException = make("PlatformTaskDefinitionIncompatibilityException");
export const accessDeniedException = make("AccessDeniedException", 403);
export const unsupportedFeatureException = make("UnsupportedFeatureException");
export const conflictException = make("ConflictException");
export const serviceDeploymentNotFoundException = make("ServiceDeploymentNotFoundException");
export const namespaceNotFoundException = make("NamespaceNotFoundException");

// Shared by the JSON protocols.
export const serializationException = make("SerializationException");
export const validationException = make("ValidationException");
export const unknownOperationException = make("UnknownOperationException");
export const throttlingException = make("ThrottlingException");
export const serverException = make("ServerException", 500);

// Authentication (SigV4); AWS answers these with 403.
export const unrecognizedClientException = make("UnrecognizedClientException", 403);
export const invalidSignatureException = make("InvalidSignatureException", 403);
export const missingAuthenticationTokenException = make("MissingAuthenticationTokenException", 403);
export const incompleteSignatureException = make("IncompleteSignatureException", 403);

/** Narrowing helper for catch blocks. */
export function isAwsError(error: unknown): error is AwsError {
  return error instanceof AwsError;
}

// CloudWatch Logs and ECR.
export const resourceAlreadyExistsException = make("ResourceAlreadyExistsException");
