// The AWS query protocol path of the gateway (both flavours, query-errors.ts):
//   request without X-Amz-Target whose SigV4 credential scope names a query service (or, unsigned,
//   a form body / GET with Action) → SigV4 against that service's signing name (body read as the
//   JSON path reads it) → parameters from the body (POST) or the query string (GET) → Action →
//   operation → input decoded by the SDK's schema (query-request.ts) → handler → XML (query-xml.ts)
// Authentication comes first, as on the JSON path: an unsigned caller learns no operation names.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AwsError } from "../../core/errors.js";
import type { QueryServiceModule } from "../service-module.js";
import { RawJsonOutput } from "../wire-json.js";
import type { AuthenticationParts } from "./authenticate.js";
import { authenticate, callerContext } from "./authenticate.js";
import { answerFailure } from "./failure-answer.js";
import type { GatewayOptions } from "./gateway.js";
import type { QueryFlavour } from "./query-errors.js";
import { invalidAction, missingAction, missingVersion, queryErrorXml, queryWireError, unsupportedMethod } from "./query-errors.js";
import { decodeQueryInput, parseQueryParameters } from "./query-request.js";
import { queryResponseXml } from "./query-xml.js";
import { unwrap } from "./schema-validation.js";

const CONTENT_TYPE = "text/xml;charset=UTF-8";

interface QueryOperation {
  readonly input: unknown;
  readonly output: unknown;
}

export interface QueryParts extends AuthenticationParts {
  readonly options: GatewayOptions;
  readonly bySigningName: ReadonlyMap<string, QueryServiceModule>;
  readonly operations: ReadonlyMap<QueryServiceModule, ReadonlyMap<string, QueryOperation>>;
  readonly signingNames: ReadonlySet<string>;
}

/**
 * The input and output schemas of every operation a query module implements, resolved once; a
 * missing one stops the server from starting, as for JSON modules (schema-validation.ts).
 */
export function queryOperationSchemas(service: QueryServiceModule): ReadonlyMap<string, QueryOperation> {
  const operations = new Map<string, QueryOperation>();
  const missing: string[] = [];
  for (const name of Object.keys(service.operations)) {
    const schema = unwrap(service.schemas[`${name}$`]);
    const operation = Array.isArray(schema) && schema[0] === 9 ? (schema as unknown[]) : undefined;
    const input = operation ? unwrap(operation[4]) : undefined;
    if (!operation || !Array.isArray(input) || input[0] !== 3) missing.push(name);
    else operations.set(name, { input, output: operation[5] === "unit" ? undefined : operation[5] });
  }
  if (missing.length > 0)
    throw new Error(`${service.signingName}: no input schema for ${missing.join(", ")} in the module's schemas; its inputs could not be decoded`);
  return operations;
}

/**
 * The service a SigV4 credential scope names: `Credential=AKID/date/region/<service>/aws4_request`.
 * A presigned scope is read decoded, and its last value, as sigv4.ts verifies it: any encoding of
 * it a signer may produce (`%2F`, `%65c2`) names the same service routing and verification see.
 */
function scopeService(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === "string") return /Credential=[^/,\s]+\/[^/,\s]+\/[^/,\s]+\/([^/,\s]+)\/aws4_request/.exec(authorization)?.[1];
  const url = request.url ?? "";
  const query = url.indexOf("?") < 0 ? "" : url.slice(url.indexOf("?") + 1);
  const credential = new URLSearchParams(query).getAll("X-Amz-Credential").at(-1);
  const parts = credential?.split("/");
  return parts?.length === 5 && parts[4] === "aws4_request" ? parts[3] : undefined;
}

/** Requests in the query protocol's form even when no service is named: form bodies, GET with an Action. */
function looksLikeQuery(request: IncomingMessage): boolean {
  const contentType = request.headers["content-type"] ?? "";
  if (request.method === "POST") return contentType.toLowerCase().startsWith("application/x-www-form-urlencoded");
  return request.method === "GET" && /[?&]Action=/.test(request.url ?? "");
}

/**
 * Whether a request is for the query path: never with an X-Amz-Target (the JSON protocols' routing
 * header, as a header or a presigned parameter); the service is the credential scope's when it
 * names a query module, none (answered in the generic query form) for a query-shaped request
 * that names none.
 */
export function queryRoute(parts: QueryParts, request: IncomingMessage): { service: QueryServiceModule | undefined } | undefined {
  if (parts.bySigningName.size === 0 || request.headers["x-amz-target"] !== undefined || /[?&]x-amz-target=/i.test(request.url ?? "")) return undefined;
  const named = scopeService(request);
  const service = named === undefined ? undefined : parts.bySigningName.get(named);
  if (service) return { service };
  return looksLikeQuery(request) ? { service: undefined } : undefined;
}

export async function handleQuery(
  parts: QueryParts,
  service: QueryServiceModule | undefined,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
): Promise<void> {
  const receivedAt = parts.options.clock.now();
  const flavour: QueryFlavour = service?.protocol ?? "query";
  let action = "";
  const send = (error: AwsError) => sendQueryError(response, error, flavour, service?.xmlNamespace ?? "", requestId);
  try {
    const caller = await authenticate(parts, request, service?.signingName ?? parts.signingNames, receivedAt);
    if (!service) throw new Error("a request signed for no query service passed authentication");
    const method = request.method ?? "";
    if (method !== "POST" && method !== "GET") throw unsupportedMethod(method);
    const url = request.url ?? "/";
    const text = method === "POST" ? caller.body.toString("utf8") : url.slice(url.indexOf("?") + 1 || url.length);
    const parameters = parseQueryParameters(text, flavour);
    if (!parameters.action) throw missingAction();
    action = parameters.action;
    // Authenticated first: only now may the caller learn which actions exist.
    const handler = Object.hasOwn(service.operations, action) ? service.operations[action] : undefined;
    const operation = parts.operations.get(service)?.get(action);
    if (!handler || !operation) throw invalidAction(action);
    if (!parameters.version) throw missingVersion();
    const input = decodeQueryInput(operation.input, parameters.root, flavour);
    const context = callerContext(caller, parts.options, requestId, receivedAt);
    const decision = parts.options.authorization?.check({ signingName: service.signingName, operation: action, input, context });
    if (decision !== undefined) await decision;
    const output = await handler(input, context);
    if (output instanceof RawJsonOutput) throw new Error(`${action}: a query protocol handler answered pre-encoded JSON`);
    const xml = queryResponseXml(action, operation.output, output, { flavour, xmlNamespace: service.xmlNamespace, requestId });
    response.writeHead(200, { "content-type": CONTENT_TYPE, "x-amzn-requestid": requestId, "content-length": Buffer.byteLength(xml) });
    response.end(xml);
  } catch (error) {
    answerFailure(parts.options.logger, { request, response, target: `${service?.signingName ?? "query"}:${action}`, send }, error);
  }
}

export function sendQueryError(response: ServerResponse, error: AwsError, flavour: QueryFlavour, xmlNamespace: string, requestId: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const wire = queryWireError(error, flavour);
  const body = queryErrorXml(wire, flavour, xmlNamespace, requestId);
  response.writeHead(wire.httpStatus, { "content-type": CONTENT_TYPE, "x-amzn-requestid": requestId, "content-length": Buffer.byteLength(body) });
  response.end(body);
}
