// The one listener of the control plane. Request path:
//   GET /_berth/health                  → 200, no auth (the only anonymous path)
//   <route prefix>…  (e.g. /v2/, agents) → that route's handler, which does its own auth
//   anything else                       → SigV4 from the head (throttled per address while it
//                                          fails) → body read (size-limited; before the signature
//                                          check only when the signature covers the body's hash)
//                                          → POST only → service by the signed X-Amz-Target →
//                                          operation → schema check → handler → JSON
//   no X-Amz-Target, SigV4 scope names a → the AWS query protocol (query-protocol.ts): the same
//   query service (ec2, sts, …)            authentication → Action → input decoded by the SDK's
//                                          schema → handler → XML (ec2 or query flavour)
// Every failure is an AwsError on the wire ({"__type", "message"}, x-amzn-ErrorType on the JSON
// path; the flavour's XML error document on the query path); anything else is a ServerException
// (500), logged with its stack. Requests node's parser refuses are answered by client-error.ts.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import type { AwsError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { serializationException, serverException, unknownOperationException } from "../../core/errors.js";
import type { AuthorizationQuery } from "../../control/authorizer.js";
import type { AuthorizedCall } from "../authorization/request-authorizer.js";
import type { JsonServiceModule, QueryServiceModule, RequestContext, ServiceModule } from "../service-module.js";
import { RawJsonOutput, toWireJson } from "../wire-json.js";
import { eventStreamOf, writeEventStream } from "./event-stream-answer.js";
import type { Principal } from "./authenticate.js";
import { authenticate, callerContext } from "./authenticate.js";
import { answerFailure, closeAfterUnreadBody } from "./failure-answer.js";
import type { QueryParts } from "./query-protocol.js";
import { handleQuery, queryOperationSchemas, queryRoute, sendQueryError } from "./query-protocol.js";
import { ByteBudget } from "./request-body.js";
import type { RequestThrottle } from "./request-throttle.js";
import { operationInputSchemas, validateInput } from "./schema-validation.js";

export type { Principal } from "./authenticate.js";

export interface HttpRoute {
  readonly prefix: string;
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** The route's own answer to an address over its failed-authentication rate (default: 429 JSON). */
  refuseThrottled?(response: ServerResponse): void;
}

export interface GatewayAuthorization {
  /** Throws AccessDeniedException unless the call is allowed (after its input passed the schema, before its handler); a promise when it must read first. */
  check(call: AuthorizedCall): Promise<void> | undefined;
  /** RequestContext.authorize for a handler's further decisions. */
  forHandler(context: Pick<RequestContext, "caller" | "sourceIp" | "secureTransport">): (query: AuthorizationQuery) => Promise<void>;
}

export interface GatewayOptions {
  /** JSON modules (routed by X-Amz-Target) and query modules (routed by the SigV4 scope's service). */
  readonly services: readonly ServiceModule[];
  readonly httpRoutes?: readonly HttpRoute[];
  readonly principalFor: (accessKeyId: string) => Promise<Principal | undefined>;
  readonly region: string;
  readonly partition: string;
  readonly clock: Clock;
  readonly logger: Pick<Logger, "error">;
  readonly maxBodyBytes?: number;
  readonly health: () => object;
  /** Per-address and per-key request limits (request-throttle.ts); none when absent. */
  readonly throttle?: RequestThrottle;
  /** Policy enforcement for callers other than the root (api/authorization); none: every authenticated caller may do anything. */
  readonly authorization?: GatewayAuthorization;
  /** Bytes all bodies of not-yet-authenticated senders may hold together (and per address). */
  readonly unverifiedBodyBudget?: ByteBudget;
}

const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
const DEFAULT_UNVERIFIED_BUDGET = () => new ByteBudget(128 * 1024 * 1024, 16 * 1024 * 1024);
/** A presigned request's X-Amz-Target (smithy's presigner hoists it as "x-amz-target"), or "". */
function queryTarget(url: string): string {
  const query = url.indexOf("?");
  if (query < 0) return "";
  for (const [name, value] of new URLSearchParams(url.slice(query + 1))) if (name.toLowerCase() === "x-amz-target") return value;
  return "";
}

export function createGateway(options: GatewayOptions): RequestListener {
  const parts = gatewayParts(options);
  return (request, response) => {
    const url = request.url ?? "/";
    if (request.method === "GET" && url === "/_berth/health") {
      sendHealth(response, options.health());
      return;
    }
    const route = options.httpRoutes?.find((candidate) => url.startsWith(candidate.prefix));
    if (route) {
      passToRoute(route, request, response, options);
      return;
    }
    const requestId = randomUUID();
    const query = queryRoute(parts.query, request);
    const handled = query ? handleQuery(parts.query, query.service, request, response, requestId) : handleJson(parts, request, response, requestId);
    handled.catch((error: unknown) => {
      options.logger.error({ err: error }, "gateway failed");
      if (query)
        sendQueryError(response, serverException("Internal server error"), query.service?.protocol ?? "query", query.service?.xmlNamespace ?? "", requestId);
      else sendError(response, requestId, serverException("Internal server error"), "application/x-amz-json-1.1");
    });
  };
}

/** What the gateway derives once from its options; every JSON request reads it. */
interface GatewayParts {
  readonly options: GatewayOptions;
  readonly limit: number;
  readonly budget: ByteBudget;
  readonly byPrefix: ReadonlyMap<string, JsonServiceModule>;
  readonly inputSchemas: ReadonlyMap<JsonServiceModule, ReturnType<typeof operationInputSchemas>>;
  readonly signingNames: ReadonlySet<string>;
  readonly query: QueryParts;
}

const isQueryModule = (service: ServiceModule): service is QueryServiceModule => "protocol" in service;

function gatewayParts(options: GatewayOptions): GatewayParts {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const budget = options.unverifiedBodyBudget ?? DEFAULT_UNVERIFIED_BUDGET();
  const jsonServices = options.services.filter((service): service is JsonServiceModule => !isQueryModule(service));
  const queryServices = options.services.filter(isQueryModule);
  return {
    options,
    limit,
    budget,
    byPrefix: new Map(jsonServices.map((service) => [service.targetPrefix, service])),
    // Throws when an operation has no input schema: the server does not start (schema-validation.ts).
    inputSchemas: new Map(jsonServices.map((service) => [service, operationInputSchemas(service)])),
    // Without a known target the caller is still authenticated, against any of our signing names,
    // so that a signed request learns it named no operation (and an unsigned one learns nothing).
    signingNames: new Set(jsonServices.map((service) => service.signingName)),
    query: {
      options,
      limit,
      budget,
      bySigningName: new Map(queryServices.map((service) => [service.signingName, service])),
      operations: new Map(queryServices.map((service) => [service, queryOperationSchemas(service)])),
      signingNames: new Set(queryServices.map((service) => service.signingName)),
    },
  };
}

function sendHealth(response: ServerResponse, health: object): void {
  const body = JSON.stringify(health);
  response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  response.end(body);
}

/** Hands a request to a route, which authenticates on its own; the gateway only throttles failures. */
function passToRoute(route: HttpRoute, request: IncomingMessage, response: ServerResponse, options: GatewayOptions): void {
  const throttle = options.throttle;
  if (throttle) {
    const address = request.socket.remoteAddress ?? "";
    if (!throttle.addressMayTry(address)) {
      if (route.refuseThrottled) route.refuseThrottled(response);
      else response.writeHead(429, { "content-type": "application/json" }).end(JSON.stringify({ code: "TooManyRequests", message: "Rate exceeded" }));
      closeAfterUnreadBody(request, false);
      return;
    }
    // Routes authenticate on their own; their 401/403 answers count as failures here.
    response.once("finish", () => {
      if (response.statusCode === 401 || response.statusCode === 403) throttle.chargeFailure(address);
    });
  }
  route.handle(request, response).catch((error: unknown) => {
    options.logger.error({ err: error, url: request.url ?? "/" }, "route handler failed");
    if (!response.headersSent) response.writeHead(500).end();
    else response.destroy();
  });
}

/** The JSON protocol path: target → SigV4 and body → operation → schema check → handler → JSON. */
async function handleJson(parts: GatewayParts, request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
  const receivedAt = parts.options.clock.now();
  const target = signedTarget(request, parts.byPrefix);
  const contentType = `application/x-amz-json-${target.service?.jsonVersion ?? "1.1"}`;
  try {
    const caller = await authenticate(parts, request, target.service?.signingName ?? parts.signingNames, receivedAt);
    // Authenticated first: an anonymous caller learns nothing, not even which methods exist.
    const operation = findOperation(parts, request.method, target);
    const input = parseJsonObject(caller.body);
    validateInput(operation.schema, input, target.service?.missingMemberCode ?? "InvalidParameterException");
    const context = callerContext(caller, parts.options, requestId, receivedAt);
    const decision = parts.options.authorization?.check({ signingName: target.service?.signingName ?? "", operation: target.operationName, input, context });
    if (decision !== undefined) await decision;
    const output = await operation.handler(input, context);
    const stream = eventStreamOf(output);
    if (stream) {
      await writeEventStream(request, response, requestId, stream, (error) =>
        parts.options.logger.error({ err: error, target: target.name }, "event stream failed"),
      );
      return;
    }
    const text = output instanceof RawJsonOutput ? output.text : toWireJson(output);
    response.writeHead(200, { "content-type": contentType, "x-amzn-requestid": requestId, "content-length": Buffer.byteLength(text) });
    response.end(text);
  } catch (error) {
    const send = (failure: AwsError) => sendError(response, requestId, failure, contentType);
    answerFailure(parts.options.logger, { request, response, target: target.name, send }, error);
  }
}

interface SignedTarget {
  /** The X-Amz-Target as sent, "" when absent. */
  readonly name: string;
  /** The service its prefix names, if any of ours. */
  readonly service: JsonServiceModule | undefined;
  /** The operation part, after the last dot. */
  readonly operationName: string;
}

/**
 * Routing follows X-Amz-Target, which SigV4 requires to be signed: as a header, or for a presigned
 * URL (where the SDK's presigner moves x-amz-* headers) as a signed query parameter.
 */
function signedTarget(request: IncomingMessage, byPrefix: ReadonlyMap<string, JsonServiceModule>): SignedTarget {
  const headerTarget = request.headers["x-amz-target"];
  const name = typeof headerTarget === "string" ? headerTarget : queryTarget(request.url ?? "/");
  const dot = name.lastIndexOf(".");
  return { name, service: dot > 0 ? byPrefix.get(name.slice(0, dot)) : undefined, operationName: name.slice(dot + 1) };
}

/** The handler and input schema the target names; only POST reaches an operation. */
function findOperation(parts: GatewayParts, method: string | undefined, target: SignedTarget) {
  if (method !== "POST") throw unknownOperationException(`${method} is not supported; AWS JSON APIs use POST.`);
  const service = target.service;
  if (!service) throw unknownOperationException(target.name ? `Unknown target: ${target.name}` : "Missing X-Amz-Target header.");
  const handler = service.operations[target.operationName];
  const schema = parts.inputSchemas.get(service)?.get(target.operationName);
  if (!handler || schema === undefined) throw unknownOperationException(`Unknown operation ${target.operationName}.`);
  return { handler, schema };
}

/** An empty body is an empty input; anything else must be a JSON object. */
function parseJsonObject(body: Buffer): Record<string, unknown> {
  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
  } catch {
    throw serializationException("Request body is not valid JSON.");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw serializationException("Request body must be a JSON object.");
  return input as Record<string, unknown>;
}

function sendError(response: ServerResponse, requestId: string, error: AwsError, contentType: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ __type: error.code, message: error.message, ...error.extra });
  response.writeHead(error.httpStatus, {
    "content-type": contentType,
    "x-amzn-requestid": requestId,
    "x-amzn-errortype": error.code,
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}
