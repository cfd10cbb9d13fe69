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
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const budget = options.unverifiedBodyBudget ?? DEFAULT_UNVERIFIED_BUDGET();
  const throttle = options.throttle;
  const byPrefix = new Map(options.services.map((service) => [service.targetPrefix, service]));
  // Throws when an operation has no input schema: the server does not start (schema-validation.ts).
  const inputSchemas = new Map(options.services.map((service) => [service, operationInputSchemas(service)]));
  // Without a known target the caller is still authenticated, against any of our signing names,
  // so that a signed request learns it named no operation (and an unsigned one learns nothing).
  const signingNames: ReadonlySet<string> = new Set(options.services.map((service) => service.signingName));

  const sendError = (response: ServerResponse, requestId: string, error: AwsError, contentType: string) => {
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
  };

  return (request, response) => {
    const requestId = randomUUID();
    const url = request.url ?? "/";
    if (request.method === "GET" && url === "/_berth/health") {
      const body = JSON.stringify(options.health());
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    const route = options.httpRoutes?.find((candidate) => url.startsWith(candidate.prefix));
    if (route) {
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
        options.logger.error({ err: error, url }, "route handler failed");
        if (!response.headersSent) response.writeHead(500).end();
        else response.destroy();
      });
      return;
    }
    void handleJson(request, response, requestId).catch((error: unknown) => {
      options.logger.error({ err: error }, "gateway failed");
      sendError(response, requestId, serverException("Internal server error"), "application/x-amz-json-1.1");
    });
  };

  async function handleJson(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    const receivedAt = options.clock.now();
    const address = request.socket.remoteAddress ?? "";
    const url = request.url ?? "/";
    // Routing follows X-Amz-Target, which SigV4 below requires to be signed: as a header, or for a
    // presigned URL (where the SDK's presigner moves x-amz-* headers) as a signed query parameter.
    const headerTarget = request.headers["x-amz-target"];
    const target = typeof headerTarget === "string" ? headerTarget : queryTarget(url);
    const dot = target.lastIndexOf(".");
    const service = dot > 0 ? byPrefix.get(target.slice(0, dot)) : undefined;
    const contentType = `application/x-amz-json-${service?.jsonVersion ?? "1.1"}`;
    try {
      if (throttle && !throttle.addressMayTry(address)) throw throttlingException("Rate exceeded");
      // A body larger than the limit is refused on its declared length alone, before anything else.
      const declared = request.headers["content-length"];
      if (declared !== undefined && Number(declared) > limit) throw new BodyTooLargeError(limit);
      // The principal looked up for the signature check is the caller once the check passes.
      let principal: Principal | undefined;
      let verified;
      try {
        verified = await verifySigV4(
          { method: request.method ?? "", url, headers: request.headers },
          {
            region: options.region,
            service: service?.signingName ?? signingNames,
            now: receivedAt,
            secretFor: async (accessKeyId) => (principal = await options.principalFor(accessKeyId))?.secretAccessKey,
          },
          (signatureChecked) => readBody(request, limit, signatureChecked ? undefined : budget),
        );
      } catch (error) {
        if (throttle && isAuthFailure(error)) throttle.chargeFailure(address);
        throw error;
      }
      const body = verified.body;
      if (throttle && !throttle.admitKey(verified.accessKeyId)) throw throttlingException("Rate exceeded");
      // Authenticated first: an anonymous caller learns nothing, not even which methods exist.
      if (request.method !== "POST") throw unknownOperationException(`${request.method} is not supported; AWS JSON APIs use POST.`);
      if (!service) throw unknownOperationException(target ? `Unknown target: ${target}` : "Missing X-Amz-Target header.");
      const operationName = target.slice(dot + 1);
      const handler = service.operations[operationName];
      const schema = inputSchemas.get(service)?.get(operationName);
      if (!handler || schema === undefined) throw unknownOperationException(`Unknown operation ${operationName}.`);
      let input: unknown;
      try {
        input = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
      } catch {
        throw serializationException("Request body is not valid JSON.");
      }
      if (typeof input !== "object" || input === null || Array.isArray(input)) throw serializationException("Request body must be a JSON object.");
      validateInput(schema, input, "InvalidParameterException");
      if (!principal) throw new Error("SigV4 verified a caller without looking up its principal");
      const context: RequestContext = {
        requestId,
        accountId: principal.accountId,
        region: options.region,
        partition: options.partition,
        accessKeyId: verified.accessKeyId,
        principalArn: principal.principalArn,
        receivedAt,
      };
      const output = await handler(input as Record<string, unknown>, context);
      const text = output instanceof RawJsonOutput ? output.text : toWireJson(output);
      response.writeHead(200, { "content-type": contentType, "x-amzn-requestid": requestId, "content-length": Buffer.byteLength(text) });
      response.end(text);
    } catch (error) {
      // An answer given before the whole body arrived (refused from the head, or mid-body): the rest
      // is discarded, never kept (closeAfterUnreadBody).
      const unread = !request.complete;
      if (isAwsError(error)) {
        if (!error.isClientFault) options.logger.error({ err: error, target }, "server fault");
        sendError(response, requestId, error, contentType);
        if (unread) closeAfterUnreadBody(request, error instanceof BodyTooLargeError);
        return;
      }
      options.logger.error({ err: error, target }, "unexpected error");
      sendError(response, requestId, serverException("Internal server error"), contentType);
      if (unread) closeAfterUnreadBody(request, false);
    }
  }
}
