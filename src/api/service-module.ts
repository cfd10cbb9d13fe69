// The contract between the gateway and the per-service modules (ECS, CloudWatch Logs, ECR, …).
// The gateway owns the wire (HTTP, SigV4, JSON 1.0/1.1 framing or the query protocol's forms and
// XML, shape validation against the AWS SDK's own schemas, error mapping); a module owns the
// behaviour of its operations, written the same way for both protocols.
//
// A module writes its handlers against a typed operation table (SdkOperations): each handler takes
// the SDK's `<Operation>CommandInput` and answers the SDK's `<Operation>CommandOutput` without
// `$metadata`, so a response of the wrong shape fails the typecheck. jsonOperations() checks each
// handler against the table, then erases the types into the one handler type the gateway calls.
import type { CallerIdentity } from "../core/iam/index.js";
import type { AuthorizationQuery } from "../control/authorizer.js";
import type { RawJsonOutput } from "./wire-json.js";

/** Who is calling and where: filled by the gateway after SigV4 verification. */
export interface RequestContext {
  readonly requestId: string;
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly accessKeyId: string;
  /** ARN of the authenticated principal, e.g. arn:aws:iam::123456789012:root (ECS registeredBy). */
  readonly principalArn: string;
  /** Who signed: the root, a user or a role session (policy decisions, GetCallerIdentity). */
  readonly caller: CallerIdentity;
  /** The caller's address (aws:SourceIp). */
  readonly sourceIp?: string;
  /** Whether the request came over TLS (aws:SecureTransport). */
  readonly secureTransport?: boolean;
  /** When the caller's temporary credentials expire (ms since epoch); absent for long-term keys. What is derived from them (a registry token) expires no later. */
  readonly credentialsExpireAt?: number;
  /**
   * A further policy decision for this caller, for what a handler learns while it works (the roles a
   * task definition names: iam:PassRole); throws AccessDeniedException. Absent when the gateway
   * enforces no policies (tests of a module alone).
   */
  readonly authorize?: (query: AuthorizationQuery) => Promise<void>;
  /** When the gateway received the request (ms since epoch). */
  readonly receivedAt: number;
}

/** One operation's shapes: the request body a client sends and the response body it parses. */
export interface OperationShapes {
  readonly input: object;
  readonly output: object;
}

/** The shapes of an SDK `<Operation>Command` class, read from what its instances take and resolve to. */
type CommandShapes<Command> = Command extends abstract new (...args: never[]) => infer Instance
  ? Instance extends { input: infer Input extends object; resolveMiddleware(...args: never[]): (args: never) => Promise<{ output: infer Output }> }
    ? // $metadata is what the client adds from the HTTP exchange; it is never part of the body.
      { input: Input; output: ResponseBody<Output> }
    : never
  : never;

/**
 * The operation table of an @aws-sdk/client-* module (`typeof import(...)`), one entry per
 * `<Operation>Command` class it exports: `RunTask` → { input: RunTaskCommandInput, output:
 * RunTaskCommandOutput minus `$metadata` }. The SDK exports no such map, but every command class
 * declares both types, so the table follows the SDK version in package.json with nothing to edit.
 */
export type SdkOperations<Sdk> = {
  // `$Command` is smithy's base class, which the clients re-export; it is no operation.
  readonly [Name in keyof Sdk as Name extends "$Command" ? never : Name extends `${infer Operation}Command` ? Operation : never]: CommandShapes<Sdk[Name]>;
};

/**
 * The response body of an SDK `<Operation>CommandOutput`, for the operations whose models name no
 * `<Operation>Response` (CloudWatch Logs' CreateLogGroup, …: their answer is an empty body).
 */
export type ResponseBody<CommandOutput> = Omit<CommandOutput, "$metadata">;

/** An operation's answer: the response object, or the same response already in wire form. */
export type OperationOutput<Shapes extends OperationShapes> = Shapes["output"] | RawJsonOutput<Shapes["output"]>;

/** The handler of one operation of a typed table. */
export type OperationHandler<Shapes extends OperationShapes> = (input: Shapes["input"], context: RequestContext) => Promise<OperationOutput<Shapes>>;

/** The operations a module implements, a subset of its table, each handler typed by its entry. */
export type OperationHandlers<Table> = {
  readonly [Name in keyof Table]?: Table[Name] extends OperationShapes ? OperationHandler<Table[Name]> : never;
};

/**
 * One operation as the gateway dispatches it. `input` has already been checked against the SDK
 * schema of the operation's input shape (types, required members); handlers enforce the rest and
 * throw AwsError. The returned object is serialised as the JSON response body (undefined members
 * dropped), a RawJsonOutput sent as it is.
 */
export type JsonOperationHandler = (input: Record<string, unknown>, context: RequestContext) => Promise<unknown> | unknown;

/** The response shape an answer stands for (a RawJsonOutput's text encodes its `Output`). */
type AnswerShape<Answer> = Answer extends RawJsonOutput<infer Output> ? Output : Answer;

/**
 * Every member of an SDK output is optional, so `object` would pass for any of them: a handler must
 * declare an answer naming all the output's members (in practice, the SDK's `<Operation>Response`).
 */
type DeclaringOutputs<Table, Handlers> = {
  readonly [Name in keyof Handlers]: Name extends keyof Table
    ? Table[Name] extends OperationShapes
      ? NonNullable<Handlers[Name]> extends (...args: never[]) => Promise<infer Answer>
        ? [keyof Table[Name]["output"]] extends [keyof AnswerShape<Answer>]
          ? Handlers[Name]
          : `${Name & string}: declare the SDK's response type as the handler's answer`
        : Handlers[Name]
      : never
    : never;
};

/**
 * Builds a module's operations from handlers typed by `Table`, then erases those types into the one
 * handler type the gateway dispatches to. Called in two steps, `jsonOperations<Table>()(handlers)`,
 * because TypeScript names `Table` only if it also names the handlers' type, which it must infer.
 *
 * Erasing the input type is sound because the gateway calls a handler only with a body that passed
 * the input schema of the very operation it was registered under (gateway.ts refuses to start
 * without that schema).
 */
export function jsonOperations<Table>() {
  return <Handlers extends OperationHandlers<Table>>(
    handlers: Handlers & DeclaringOutputs<Table, Handlers>,
  ): Readonly<Record<string, JsonOperationHandler>> => {
    const operations: Record<string, JsonOperationHandler> = {};
    for (const [name, handler] of Object.entries(handlers as OperationHandlers<Table>)) {
      if (handler !== undefined) operations[name] = handler as JsonOperationHandler;
    }
    return operations;
  };
}

export interface JsonServiceModule {
  /** SigV4 signing name, e.g. "ecs", "logs", "ecr". */
  readonly signingName: string;
  /** The X-Amz-Target prefix, e.g. "AmazonEC2ContainerServiceV20141113". */
  readonly targetPrefix: string;
  /** AWS JSON protocol version: content type application/x-amz-json-<version>. */
  readonly jsonVersion: "1.0" | "1.1";
  /**
   * The SDK module exporting the service's schemas (`<Operation>$`, `<Shape>$`), e.g. the
   * namespace import of "@aws-sdk/client-ecs"; the gateway validates inputs with it and refuses to
   * start when an operation below has no input schema in it.
   */
  readonly schemas: Readonly<Record<string, unknown>>;
  /** Implemented operations by name ("RunTask"); any other target is UnknownOperationException. */
  readonly operations: Readonly<Record<string, JsonOperationHandler>>;
  /** The error a missing required member is (InvalidParameterException unless given; SSM says ValidationException). */
  readonly missingMemberCode?: string;
}

/**
 * A service on the AWS query protocol (form-encoded `Action=…&Version=…` requests, XML answers), in
 * one of its two flavours: "ec2" (EC2: members named by the ec2QueryName trait, lists always
 * flattened `Name.1`, answers `<OpResponse><requestId/>…`) or "query" (IAM, STS, ELBv2, CloudWatch:
 * `Member.member.1` lists, answers wrapped in `<OpResult>` beside `<ResponseMetadata>`). The gateway
 * routes to it by the signed credential scope's service name, which must be `signingName`.
 */
export interface QueryServiceModule {
  readonly protocol: "ec2" | "query";
  /** SigV4 signing name, e.g. "ec2", "sts". */
  readonly signingName: string;
  /** The API version clients send as `Version` (EC2 "2016-11-15", STS "2011-06-15"). */
  readonly apiVersion: string;
  /** The answers' XML namespace, e.g. "http://ec2.amazonaws.com/doc/2016-11-15/". */
  readonly xmlNamespace: string;
  /** The SDK module exporting the service's schemas (`<Operation>$`, `<Shape>$`), as for JSON modules. */
  readonly schemas: Readonly<Record<string, unknown>>;
  /** Implemented operations by name ("DescribeVpcs"), built with jsonOperations<SdkOperations<…>>(). */
  readonly operations: Readonly<Record<string, JsonOperationHandler>>;
}

/** Every kind of service module the gateway serves. */
export type ServiceModule = JsonServiceModule | QueryServiceModule;
