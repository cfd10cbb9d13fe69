// The one listener of the control plane. Request path:
//   GET /_berth/health                  → 200, no auth (the only anonymous path)
//   <route prefix>…  (e.g. /v2/, agents) → that route's handler, which does its own auth
//   anything else                       → read body (size-limited) → SigV4 → POST only → service
//                                          by X-Amz-Target prefix → operation → schema check →
//                                          handler → JSON
// Every failure is an AwsError on the wire ({"__type", "message"}, x-amzn-ErrorType); anything
// else is a ServerException (500), logged with its stack. Requests node's parser refuses are
// answered by client-error.ts.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import type { AwsError } from "../../core/errors.js";
import { isAwsError, serializationException, serverException, unknownOperationException } from "../../core/errors.js";
import type { JsonServiceModule, RequestContext } from "../service-module.js";
import { RawJsonOutput, toWireJson } from "../wire-json.js";
import { BodyTooLargeError, discardRestAndClose, readBody } from "./request-body.js";
import { inputSchemaOf, validateInput } from "./schema-validation.js";
import { verifySigV4 } from "./sigv4.js";

export interface Principal {
  readonly secretAccessKey: string;
  readonly accountId: string;
  readonly principalArn: string;
}

export interface HttpRoute {
  readonly prefix: string;
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

export interface GatewayLogger {
  error(details: object, message: string): void;
  debug?(details: object, message: string): void;
}

export interface GatewayOptions {
  readonly services: readonly JsonServiceModule[];
  readonly httpRoutes?: readonly HttpRoute[];
  readonly principalFor: (accessKeyId: string) => Promise<Principal | undefined>;
  readonly region: string;
  readonly partition: string;
  readonly clock: Clock;
  readonly logger: GatewayLogger;
  readonly maxBodyBytes?: number;
  readonly health: () => object;
}

const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

export function createGateway(options: GatewayOptions): RequestListener {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const byPrefix = new Map(options.services.map((service) => [service.targetPrefix, service]));
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
    const target = String(request.headers["x-amz-target"] ?? "");
    const dot = target.lastIndexOf(".");
    const service = dot > 0 ? byPrefix.get(target.slice(0, dot)) : undefined;
    const contentType = `application/x-amz-json-${service?.jsonVersion ?? "1.1"}`;
    try {
      const body = await readBody(request, limit);
      // The principal looked up for the signature check is the caller once the check passes.
      let principal: Principal | undefined;
      const caller = await verifySigV4(
        { method: request.method ?? "", url: request.url ?? "/", headers: request.headers, body },
        {
          region: options.region,
          service: service?.signingName ?? signingNames,
          now: receivedAt,
          secretFor: async (accessKeyId) => (principal = await options.principalFor(accessKeyId))?.secretAccessKey,
        },
      );
      // Authenticated first: an anonymous caller learns nothing, not even which methods exist.
      if (request.method !== "POST") throw unknownOperationException(`${request.method} is not supported; AWS JSON APIs use POST.`);
      if (!service) throw unknownOperationException(target ? `Unknown target: ${target}` : "Missing X-Amz-Target header.");
      const operationName = target.slice(dot + 1);
      const handler = service.operations[operationName];
      if (!handler) throw unknownOperationException(`Unknown operation ${operationName}.`);
      let input: unknown;
      try {
        input = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
      } catch {
        throw serializationException("Request body is not valid JSON.");
      }
      if (typeof input !== "object" || input === null || Array.isArray(input)) throw serializationException("Request body must be a JSON object.");
      const schema = inputSchemaOf(service.schemas, operationName);
      if (schema !== undefined) validateInput(schema, input, "InvalidParameterException");
      if (!principal) throw new Error("SigV4 verified a caller without looking up its principal");
      const context: RequestContext = {
        requestId,
        accountId: principal.accountId,
        region: options.region,
        partition: options.partition,
        accessKeyId: caller.accessKeyId,
        principalArn: principal.principalArn,
        receivedAt,
      };
      const output = await handler(input as Record<string, unknown>, context);
      const text = output instanceof RawJsonOutput ? output.text : toWireJson(output);
      response.writeHead(200, { "content-type": contentType, "x-amzn-requestid": requestId, "content-length": Buffer.byteLength(text) });
      response.end(text);
    } catch (error) {
      if (isAwsError(error)) {
        if (!error.isClientFault) options.logger.error({ err: error, target }, "server fault");
        sendError(response, requestId, error, contentType);
        if (error instanceof BodyTooLargeError) discardRestAndClose(request);
        return;
      }
      options.logger.error({ err: error, target }, "unexpected error");
      sendError(response, requestId, serverException("Internal server error"), contentType);
    }
  }
}
