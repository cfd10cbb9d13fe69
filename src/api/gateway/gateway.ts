// The one listener of the control plane. Request path:
//   GET /_berth/health                  → 200, no auth (the only anonymous path)
//   <route prefix>…  (e.g. /v2/, agents) → that route's handler, which does its own auth
//   anything else                       → SigV4 from the head (throttled per address while it
//                                          fails) → body read (size-limited; before the signature
//                                          check only when the signature covers the body's hash)
//                                          → POST only → service by the signed X-Amz-Target →
//                                          operation → schema check → handler → JSON
// Every failure is an AwsError on the wire ({"__type", "message"}, x-amzn-ErrorType); anything
// else is a ServerException (500), logged with its stack. Requests node's parser refuses are
// answered by client-error.ts.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import type { AwsError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { isAwsError, serializationException, serverException, throttlingException, unknownOperationException } from "../../core/errors.js";
import type { JsonServiceModule, RequestContext } from "../service-module.js";
import { RawJsonOutput, toWireJson } from "../wire-json.js";
import { BodyTooLargeError, ByteBudget, discardRestAndClose, readBody } from "./request-body.js";
import type { RequestThrottle } from "./request-throttle.js";
import { operationInputSchemas, validateInput } from "./schema-validation.js";
import { verifySigV4 } from "./sigv4.js";

export interface Principal {
  readonly secretAccessKey: string;
  readonly accountId: string;
  readonly principalArn: string;
}

export interface HttpRoute {
  readonly prefix: string;
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** The route's own answer to an address over its failed-authentication rate (default: 429 JSON). */
  refuseThrottled?(response: ServerResponse): void;
}

export interface GatewayOptions {
  readonly services: readonly JsonServiceModule[];
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
  /** Bytes all bodies of not-yet-authenticated senders may hold together (and per address). */
  readonly unverifiedBodyBudget?: ByteBudget;
}

const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
const DEFAULT_UNVERIFIED_BUDGET = () => new ByteBudget(128 * 1024 * 1024, 16 * 1024 * 1024);
/**
 * After an answer given before the body was read. A body of a declared length within the limit is
 * left to node, which discards it and keeps the connection for the next request (clients reuse it
 * at once); a body too large or of unknown length (chunked) is drained with caps and the connection
 * closed (request-body.ts).
 */
function closeAfterUnreadBody(request: IncomingMessage, tooLarge: boolean): void {
  if (tooLarge || request.headers["content-length"] === undefined) discardRestAndClose(request);
}

/** A presigned request's X-Amz-Target (smithy's presigner hoists it as "x-amz-target"), or "". */
function queryTarget(url: string): string {
  const query = url.indexOf("?");
  if (query < 0) return "";
  for (const [name, value] of new URLSearchParams(url.slice(query + 1))) if (name.toLowerCase() === "x-amz-target") return value;
  return "";
}

/** What an attacker holding nothing gets wrong: missing, malformed or failing credentials. */
const isAuthFailure = (error: unknown) => isAwsError(error) && error.httpStatus === 403;

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
    void handleJson(parts, request, response, requestId).catch((error: unknown) => {
      options.logger.error({ err: error }, "gateway failed");
      sendError(response, requestId, serverException("Internal server error"), "application/x-amz-json-1.1");
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
}

function gatewayParts(options: GatewayOptions): GatewayParts {
  return {
    options,
    limit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    budget: options.unverifiedBodyBudget ?? DEFAULT_UNVERIFIED_BUDGET(),
    byPrefix: new Map(options.services.map((service) => [service.targetPrefix, service])),
    // Throws when an operation has no input schema: the server does not start (schema-validation.ts).
    inputSchemas: new Map(options.services.map((service) => [service, operationInputSchemas(service)])),
    // Without a known target the caller is still authenticated, against any of our signing names,
    // so that a signed request learns it named no operation (and an unsigned one learns nothing).
    signingNames: new Set(options.services.map((service) => service.signingName)),
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
    const caller = await authenticate(parts, request, target.service, receivedAt);
    // Authenticated first: an anonymous caller learns nothing, not even which methods exist.
    const operation = findOperation(parts, request.method, target);
    const input = parseJsonObject(caller.body);
    validateInput(operation.schema, input, "InvalidParameterException");
    const context: RequestContext = {
      requestId,
      accountId: caller.principal.accountId,
      region: parts.options.region,
      partition: parts.options.partition,
      accessKeyId: caller.accessKeyId,
      principalArn: caller.principal.principalArn,
      receivedAt,
    };
    const output = await operation.handler(input, context);
    const text = output instanceof RawJsonOutput ? output.text : toWireJson(output);
    response.writeHead(200, { "content-type": contentType, "x-amzn-requestid": requestId, "content-length": Buffer.byteLength(text) });
    response.end(text);
  } catch (error) {
    answerFailure(parts.options.logger, { request, response, requestId, contentType, target: target.name }, error);
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

interface AuthenticatedCaller {
  readonly accessKeyId: string;
  readonly principal: Principal;
  readonly body: Buffer;
}

/** Throttle by address, refuse an oversized body, check SigV4 (reading the body), throttle by key. */
async function authenticate(
  parts: GatewayParts,
  request: IncomingMessage,
  service: JsonServiceModule | undefined,
  receivedAt: number,
): Promise<AuthenticatedCaller> {
  const { options, limit, budget } = parts;
  const throttle = options.throttle;
  const address = request.socket.remoteAddress ?? "";
  if (throttle && !throttle.addressMayTry(address)) throw throttlingException("Rate exceeded");
  // A body larger than the limit is refused on its declared length alone, before anything else.
  const declared = request.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) throw new BodyTooLargeError(limit);
  // The principal looked up for the signature check is the caller once the check passes.
  let principal: Principal | undefined;
  let verified;
  try {
    verified = await verifySigV4(
      { method: request.method ?? "", url: request.url ?? "/", headers: request.headers },
      {
        region: options.region,
        service: service?.signingName ?? parts.signingNames,
        now: receivedAt,
        secretFor: async (accessKeyId) => (principal = await options.principalFor(accessKeyId))?.secretAccessKey,
      },
      (signatureChecked) => readBody(request, limit, signatureChecked ? undefined : budget),
    );
  } catch (error) {
    if (throttle && isAuthFailure(error)) throttle.chargeFailure(address);
    throw error;
  }
  if (throttle && !throttle.admitKey(verified.accessKeyId)) throw throttlingException("Rate exceeded");
  if (!principal) throw new Error("SigV4 verified a caller without looking up its principal");
  return { accessKeyId: verified.accessKeyId, principal, body: verified.body };
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

interface JsonExchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly requestId: string;
  readonly contentType: string;
  readonly target: string;
}

/** A failure of the JSON path on the wire: AwsErrors as they are, anything else a logged 500. */
function answerFailure(logger: Pick<Logger, "error">, exchange: JsonExchange, error: unknown): void {
  const { request, response, requestId, contentType, target } = exchange;
  // An answer given before the whole body arrived (refused from the head, or mid-body): the rest
  // is discarded, never kept (closeAfterUnreadBody).
  const unread = !request.complete;
  if (isAwsError(error)) {
    if (!error.isClientFault) logger.error({ err: error, target }, "server fault");
    sendError(response, requestId, error, contentType);
    if (unread) closeAfterUnreadBody(request, error instanceof BodyTooLargeError);
    return;
  }
  logger.error({ err: error, target }, "unexpected error");
  sendError(response, requestId, serverException("Internal server error"), contentType);
  if (unread) closeAfterUnreadBody(request, false);
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
