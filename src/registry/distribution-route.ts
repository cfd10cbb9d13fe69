// The OCI distribution API on the server's listener under /v2/, authenticated like ECR:
//   Authorization: Basic base64("AWS:<password from GetAuthorizationToken>")
//   Authorization: Bearer <token from GET /v2/token, which itself takes that basic auth>
// Anything else is 401 UNAUTHORIZED with a Bearer challenge naming /v2/token as the realm.
// Request path: auth → route by path → repository must exist (NAME_UNKNOWN, as ECR) → handler;
// a DistributionError becomes the spec's {"errors":[…]} body, anything else a logged 500.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpRoute } from "../api/gateway/gateway.js";
import { discardRestAndClose } from "../api/gateway/request-body.js";
import { REPOSITORY_NAME_PATTERN } from "../api/ecr/index.js";
import { continueUpload, deleteBlob, headOrGetBlob, startUpload } from "./blob-handlers.js";
import {
  digestInvalid,
  DistributionError,
  nameInvalid,
  nameUnknown,
  sendDistributionError,
  tagInvalid,
  tooManyRequests,
  unsupported,
} from "./distribution-errors.js";
import { deleteManifest, headOrGetManifest, listReferrers, listTags, manifestReferenceValid, putManifest } from "./manifest-handlers.js";
import { manifestUnknown } from "./distribution-errors.js";
import type { RegistryContext, RepositoryRequest } from "./registry-context.js";
import { nextLink, pagination, sendJson } from "./registry-context.js";
import type { RegistryTokens, TokenGrant } from "./registry-tokens.js";

export interface DistributionRouteOptions {
  readonly context: RegistryContext;
  readonly tokens: RegistryTokens;
}

type Route = {
  readonly pattern: RegExp;
  readonly methods: readonly string[];
  readonly handle: (target: RepositoryRequest, match: RegExpExecArray) => Promise<void>;
};

const ACCOUNT_USER = "AWS";
/** Catalog page size when the client gives no `n` (the Link header leads to the rest). */
const CATALOG_PAGE = 1_000;
const READ_METHODS = ["GET", "HEAD"];

/** ECR's answer to an authenticated principal without permission for the repository. */
const denied = (name: string) => new DistributionError("DENIED", 403, "requested access to the resource is denied", { repository: name });

/** A path segment decoded, or undefined for a malformed escape ("%zz"): a client error, never a URIError. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const unauthorized = (message: string, challenge: string) => new DistributionError("UNAUTHORIZED", 401, message, null, { "www-authenticate": challenge });

export function createDistributionRoute(options: DistributionRouteOptions): HttpRoute {
  const routes = repositoryRoutes(options.context);
  return {
    prefix: "/v2/",
    refuseThrottled(response) {
      sendDistributionError(response, tooManyRequests(), response.req.method);
    },
    async handle(request, response) {
      try {
        await dispatch(options, routes, request, response);
      } catch (error) {
        answerFailure(request, response, error);
      }
    },
  };
}

/** The per-repository endpoints; the repository name is always the first capture. */
function repositoryRoutes(context: RegistryContext): Route[] {
  return [
    {
      pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/,
      methods: ["POST", "GET", "PATCH", "PUT", "DELETE"],
      handle: (target, match) =>
        match[2] === ""
          ? target.request.method === "POST"
            ? startUpload(context, target)
            : Promise.reject(unsupported("use POST to start an upload"))
          : continueUpload(context, target, match[2]!),
    },
    {
      pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
      methods: ["GET", "HEAD", "DELETE"],
      handle: (target, match) => (target.request.method === "DELETE" ? Promise.resolve(deleteBlob()) : headOrGetBlob(context, target, match[2]!)),
    },
    {
      pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
      methods: ["GET", "HEAD", "PUT", "DELETE"],
      handle: (target, match) => {
        const reference = decodeSegment(match[2]!);
        if (reference === undefined) throw target.request.method === "PUT" ? tagInvalid("manifest tag did not match URI") : manifestUnknown(match[2]!);
        if (target.request.method === "PUT") return putManifest(context, target, reference);
        if (!manifestReferenceValid(reference)) throw manifestUnknown(reference);
        return target.request.method === "DELETE" ? deleteManifest(context, target, reference) : headOrGetManifest(context, target, reference);
      },
    },
    { pattern: /^\/v2\/(.+)\/tags\/list$/, methods: ["GET", "HEAD"], handle: (target) => listTags(context, target) },
    {
      pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
      methods: ["GET", "HEAD"],
      handle: (target, match) => {
        const digest = decodeSegment(match[2]!);
        if (digest === undefined) throw digestInvalid("invalid digest or unsupported algorithm (sha256 and sha512 are supported)", { digest: match[2] });
        return listReferrers(context, target, digest);
      },
    },
  ];
}

function challenge(context: RegistryContext, request: IncomingMessage, scope: string): string {
  const host = request.headers.host ?? context.publicHost();
  // The token endpoint is on this listener: same scheme as the request came in on (TLS or not).
  const scheme = (request.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  return `Bearer realm="${scheme}://${host}/v2/token",service="${context.publicHost()}",scope="${scope}"`;
}

/** The account a password or bearer token belongs to (and its grant); throws 401 when there is none. */
function authenticate(
  { context, tokens }: DistributionRouteOptions,
  request: IncomingMessage,
  scope: string,
): { accountId: string; expiresAt: number; grant?: TokenGrant } {
  const header = request.headers.authorization ?? "";
  const [scheme, value = ""] = header.split(/\s+/, 2) as [string, string?];
  let token: string | undefined;
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0 && decoded.slice(0, colon) === ACCOUNT_USER) token = decoded.slice(colon + 1);
  } else if (scheme.toLowerCase() === "bearer") {
    token = value;
  }
  if (!token) throw unauthorized("authentication required", challenge(context, request, scope));
  const checked = tokens.verify(token);
  if (!checked.ok) {
    // ECR's wording for an expired token.
    const message = checked.reason === "expired" ? "Your authorization token has expired. Reauthenticate and try again." : "authentication required";
    throw unauthorized(message, challenge(context, request, scope));
  }
  if (checked.accountId !== context.scope.accountId) throw unauthorized("authentication required", challenge(context, request, scope));
  return checked;
}

/** A narrowed token (a task's pull credential) opens only its repositories, for reads only. */
function authorize(grant: TokenGrant | undefined, name: string, method: string): void {
  if (!grant) return;
  if (!grant.repositories.includes(name)) throw denied(name);
  if (grant.pullOnly && !READ_METHODS.includes(method)) throw denied(name);
}

/** GET /v2/token: the bearer flow's token endpoint; takes the same basic auth as the API. */
function issueBearer(options: DistributionRouteOptions, request: IncomingMessage, response: ServerResponse, url: URL): void {
  const { context, tokens } = options;
  const scope = url.searchParams.get("scope") ?? "";
  const header = request.headers.authorization ?? "";
  if (!/^basic\s/i.test(header)) throw unauthorized("authentication required", challenge(context, request, scope));
  const checked = authenticate(options, request, scope);
  // The bearer token lives no longer than the password it was exchanged for, and opens no more.
  const now = context.clock.now();
  const issued = tokens.issue(checked.accountId, checked.expiresAt - now, checked.grant);
  sendJson(response, 200, {
    token: issued.password,
    access_token: issued.password,
    expires_in: Math.floor((issued.expiresAt - now) / 1000),
    issued_at: new Date(now).toISOString(),
  });
}

/** GET /v2/ (the version check) and GET /v2/_catalog; a narrowed token may not list the catalog. */
async function serveBaseOrCatalog(
  options: DistributionRouteOptions,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  method: string,
): Promise<void> {
  const path = url.pathname;
  const checked = authenticate(options, request, path === "/v2/" ? "" : "registry:catalog:*");
  if (path === "/v2/") return sendJson(response, 200, {}, {}, method);
  if (checked.grant) throw denied("_catalog");
  const { limit: asked, last } = pagination(url);
  // Without `n` the server still pages (the spec allows it), always with a Link to the rest.
  const limit = asked ?? CATALOG_PAGE;
  const rows = await options.context.repositories.listRepositories({ ...(last !== undefined ? { afterName: last } : {}), limit: limit + 1 });
  const page = rows.slice(0, limit);
  const more = rows.length > limit && page.length > 0;
  return sendJson(
    response,
    200,
    { repositories: page.map((row) => row.name) },
    more ? { link: nextLink("/v2/_catalog", limit, page[page.length - 1]!.name) } : {},
    method,
  );
}

async function dispatch(options: DistributionRouteOptions, routes: readonly Route[], request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { context } = options;
  const url = new URL(request.url ?? "/", "http://registry.invalid");
  const path = url.pathname;
  const method = request.method ?? "GET";
  if (path === "/v2/token") {
    if (method !== "GET") throw unsupported(`${method} is not supported on the token endpoint`);
    return issueBearer(options, request, response, url);
  }
  if (path === "/v2/" || path === "/v2/_catalog") return serveBaseOrCatalog(options, request, response, url, method);
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const name = match[1]!;
    const { grant } = authenticate(options, request, `repository:${name}:pull,push`);
    if (!route.methods.includes(method)) throw unsupported(`${method} is not supported here`);
    authorize(grant, name, method);
    if (name.length < 2 || name.length > 256 || !REPOSITORY_NAME_PATTERN.test(name)) throw nameInvalid(name);
    const repository = await context.repositories.getRepository(name);
    if (!repository) throw nameUnknown(name, context.scope.accountId);
    return route.handle({ request, response, url, repository }, match);
  }
  authenticate(options, request, "");
  throw new DistributionError("NAME_UNKNOWN", 404, "unknown path", { path });
}

/** A DistributionError becomes the spec's error body; a client gone away ends quietly; anything else propagates. */
function answerFailure(request: IncomingMessage, response: ServerResponse, error: unknown): void {
  if (error instanceof DistributionError) {
    // The request body is not wanted once the answer is an error. A body still coming (an
    // unauthenticated upload, say) is drained within caps and the connection closed, never
    // swallowed for as long as the client sends; a bodiless request keeps its connection.
    const bodyDeclared = request.headers["transfer-encoding"] !== undefined || Number(request.headers["content-length"] ?? 0) > 0;
    if (bodyDeclared && !request.complete) discardRestAndClose(request);
    else request.resume();
    return sendDistributionError(response, error, request.method);
  }
  if ((error as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE" || request.destroyed) {
    // The client went away mid-transfer; what was written stays as upload progress.
    return void response.destroy();
  }
  throw error;
}
