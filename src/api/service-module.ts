// The contract between the gateway and the per-service modules (ECS, CloudWatch Logs, ECR, …).
// The gateway owns the wire (HTTP, SigV4, JSON 1.0/1.1 framing, shape validation against the
// AWS SDK's own schemas, error mapping); a module owns the behaviour of its operations.

/** Who is calling and where: filled by the gateway after SigV4 verification. */
export interface RequestContext {
  readonly requestId: string;
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly accessKeyId: string;
  /** ARN of the authenticated principal, e.g. arn:aws:iam::123456789012:root (ECS registeredBy). */
  readonly principalArn: string;
  /** When the gateway received the request (ms since epoch). */
  readonly receivedAt: number;
}

/**
 * One operation. `input` has already been checked against the SDK schema of the operation's
 * input shape (types, required members); handlers enforce the rest and throw AwsError.
 * The returned object is serialised as the JSON response body (undefined members dropped).
 */
export type JsonOperationHandler = (input: Record<string, unknown>, context: RequestContext) => Promise<unknown> | unknown;

export interface JsonServiceModule {
  /** SigV4 signing name, e.g. "ecs", "logs", "ecr". */
  readonly signingName: string;
  /** The X-Amz-Target prefix, e.g. "AmazonEC2ContainerServiceV20141113". */
  readonly targetPrefix: string;
  /** AWS JSON protocol version: content type application/x-amz-json-<version>. */
  readonly jsonVersion: "1.0" | "1.1";
  /**
   * The SDK module exporting the service's schemas (`<Operation>$`, `<Shape>$`), e.g. the
   * namespace import of "@aws-sdk/client-ecs"; the gateway validates inputs with it.
   */
  readonly schemas: Readonly<Record<string, unknown>>;
  /** Implemented operations by name ("RunTask"); any other target is UnknownOperationException. */
  readonly operations: Readonly<Record<string, JsonOperationHandler>>;
}
