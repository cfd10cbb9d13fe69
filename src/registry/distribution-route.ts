// The OCI distribution API on the server's listener under /v2/, authenticated like ECR:
//   Authorization: Basic base64("AWS:<password from GetAuthorizationToken>")
//   Authorization: Bearer <token from GET /v2/token, which itself takes that basic auth>
// Anything else is 401 UNAUTHORIZED with a Bearer challenge naming /v2/token as the realm.
// A token issued to an IAM user or role session is held to that identity's policies, request by
// request, with the ECR action the request stands for (each route's `needs`, from ECR's docs:
// pushing needs InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, BatchCheckLayerAvailability
// and PutImage; pulling BatchGetImage and GetDownloadUrlForLayer) on the repository's ARN; refused
// is 403 DENIED with IAM's message, as ECR answers, before the repository is looked up (a refused
// caller learns nothing of which repositories exist).
// Request path: auth → route by path → policy → repository must exist (NAME_UNKNOWN, as ECR) → handler;
// a DistributionError becomes the spec's {"errors":[…]} body, anything else a logged 500.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpRoute } from "../api/gateway/gateway.js";
import { discardRestAndClose } from "../api/gateway/request-body.js";
import { REPOSITORY_NAME_PATTERN, repositoryArnOf } from "../api/ecr/index.js";
import type { CallerIdentity } from "../core/iam/index.js";
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
import type { RegistryTokens, TokenGrant, TokenIdentity } from "./registry-tokens.js";
import { DownloadUrls } from "./download-urls.js";

/** The policy decision for one request: AWS's AccessDenied message when `identity` may not do `action` on `resource`, undefined when it may. */
export type RegistryAuthorize = (identity: CallerIdentity, action: string, resource: string, sourceIp: string) => Promise<string | undefined>;

export interface DistributionRouteOptions {
  readonly context: RegistryContext;
  readonly tokens: RegistryTokens;
  /** The signed blob URLs of GetDownloadUrlForLayer (download-urls.ts). */
  readonly downloads?: DownloadUrls;
  /** Absent: a token issued to an identity opens nothing (never everything). */
  readonly authorize?: RegistryAuthorize;
}

/** ECR actions a request needs: every entry, each satisfied by any one of its actions. */
type Needs = readonly (readonly string[])[];

type Route = {
  readonly pattern: RegExp;
  readonly methods: readonly string[];
  readonly needs: (method: string, request: IncomingMessage) => Needs;
  readonly handle: (target: RepositoryRequest, match: RegExpExecArray) => Promise<void>;
  /** Whether a URL signed by GetDownloadUrlForLayer (download-urls.ts) may stand in for credentials here: blob reads only. */
  readonly signedDownloads?: true;
};

const PULL_MANIFEST: Needs = [["ecr:BatchGetImage"]];

const ACCOUNT_USER = "AWS";
/** Catalog page size when the client gives no `n` (the Link header leads to the rest). */
const CATALOG_PAGE = 1_000;
const READ_METHODS = ["GET", "HEAD"];

/** ECR's answer to an authenticated principal without permission for the repository (with IAM's message when a policy decided). */
const denied = (name: string, message = "requested access to the resource is denied") => new DistributionError("DENIED", 403, message, { repository: name });

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
      // A session's status, chunks and cancel are its parts; a PUT carrying the last chunk is a part and the completion.
      needs: (method, request) =>
        method === "POST"
          ? [["ecr:InitiateLayerUpload"]]
          : method === "PUT"
            ? hasBody(request)
              ? [["ecr:UploadLayerPart"], ["ecr:CompleteLayerUpload"]]
              : [["ecr:CompleteLayerUpload"]]
            : [["ecr:UploadLayerPart"]],
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
      signedDownloads: true,
      // HEAD is how a push asks whether a layer is there (BatchCheckLayerAvailability) and how some pulls size it.
      needs: (method) =>
        method === "GET"
          ? [["ecr:GetDownloadUrlForLayer"]]
          : method === "HEAD"
            ? [["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer"]]
            : [["ecr:BatchDeleteImage"]],
      handle: (target, match) => (target.request.method === "DELETE" ? Promise.resolve(deleteBlob()) : headOrGetBlob(context, target, match[2]!)),
    },
    {
      pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
      methods: ["GET", "HEAD", "PUT", "DELETE"],
      needs: (method) => (method === "PUT" ? [["ecr:PutImage"]] : method === "DELETE" ? [["ecr:BatchDeleteImage"]] : PULL_MANIFEST),
      handle: (target, match) => {
        const reference = decodeSegment(match[2]!);
        if (reference === undefined) throw target.request.method === "PUT" ? tagInvalid("manifest tag did not match URI") : manifestUnknown(match[2]!);
        if (target.request.method === "PUT") return putManifest(context, target, reference);
        if (!manifestReferenceValid(reference)) throw manifestUnknown(reference);
        return target.request.method === "DELETE" ? deleteManifest(context, target, reference) : headOrGetManifest(context, target, reference);
      },
    },
    { pattern: /^\/v2\/(.+)\/tags\/list$/, methods: ["GET", "HEAD"], needs: () => [["ecr:ListImages"]], handle: (target) => listTags(context, target) },
    {
      pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
      methods: ["GET", "HEAD"],
      // The referrers of an image are read from its manifests.
      needs: () => PULL_MANIFEST,
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
): { accountId: string; expiresAt: number; grant?: TokenGrant; identity?: TokenIdentity } {
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

/**
 * A GetDownloadUrlForLayer URL used without credentials: the signature must cover this repository
 * and digest, and a read of it only (a grant of that one repository, pull only); the identity it
 * was issued to (none for the root) is asked again like a token's.
 */
function authenticateDownload(
  { context, downloads }: DistributionRouteOptions,
  request: IncomingMessage,
  url: URL,
  name: string,
  digest: string,
): { grant?: TokenGrant; identity?: TokenIdentity } {
  const scope = `repository:${name}:pull`;
  if (!downloads || !READ_METHODS.includes(request.method ?? "")) throw unauthorized("authentication required", challenge(context, request, scope));
  const checked = downloads.verify(url, name, digest);
  if (!checked.ok) {
    const message = checked.reason === "expired" ? "The download URL has expired; call GetDownloadUrlForLayer again." : "authentication required"; // wording not confirmed
    throw unauthorized(message, challenge(context, request, scope));
  }
  return checked.identity ? { identity: checked.identity } : { grant: { repositories: [name], pullOnly: true } };
}

/** A narrowed token (a task's pull credential) opens only its repositories, for reads only. */
function authorizeGrant(grant: TokenGrant | undefined, name: string, method: string): void {
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
  const issued = tokens.issueUntil(checked.accountId, checked.expiresAt, checked.grant, checked.identity);
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
  // Listing repositories is DescribeRepositories without names, which ECR's table evaluates on "*".
  if (checked.identity) await authorizeIdentity(options, checked.identity, request, "_catalog", "*", [["ecr:DescribeRepositories"]]);
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
    const signed = route.signedDownloads === true && DownloadUrls.isSigned(url) && request.headers.authorization === undefined;
    const { grant, identity } = signed
      ? authenticateDownload(options, request, url, name, match[2]!)
      : authenticate(options, request, `repository:${name}:pull,push`);
    if (!route.methods.includes(method)) throw unsupported(`${method} is not supported here`);
    authorizeGrant(grant, name, method);
    if (!validName(name)) throw nameInvalid(name);
    if (identity) {
      await authorizeIdentity(options, identity, request, name, repositoryArnOf(context.scope, name), route.needs(method, request));
      if (method === "POST") await dropUnreadableMount(options, identity, request, url);
    }
    const repository = await context.repositories.getRepository(name);
    if (!repository) throw nameUnknown(name, context.scope.accountId);
    return route.handle({ request, response, url, repository }, match);
  }
  authenticate(options, request, "");
  throw new DistributionError("NAME_UNKNOWN", 404, "unknown path", { path });
}

const validName = (name: string) => name.length >= 2 && name.length <= 256 && REPOSITORY_NAME_PATTERN.test(name);
const hasBody = (request: IncomingMessage) => request.headers["transfer-encoding"] !== undefined || Number(request.headers["content-length"] ?? 0) > 0;
/** aws:SourceIp: the peer's address, an IPv4-mapped IPv6 one as IPv4 (as the gateway gives it). */
const sourceIpOf = (request: IncomingMessage) => (request.socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");

/** Throws DENIED (IAM's message for the first action refused) unless `identity`'s policies allow every need on `resource`. */
async function authorizeIdentity(
  { authorize }: DistributionRouteOptions,
  identity: TokenIdentity,
  request: IncomingMessage,
  name: string,
  resource: string,
  needs: Needs,
): Promise<void> {
  if (!authorize) throw denied(name);
  const sourceIp = sourceIpOf(request);
  for (const alternatives of needs) {
    let first: string | undefined;
    let allowed = false;
    for (const action of alternatives) {
      const denial = await authorize(identity, action, resource, sourceIp);
      if (denial === undefined) {
        allowed = true;
        break;
      }
      first ??= denial;
    }
    if (!allowed) throw denied(name, first);
  }
}

/**
 * A cross-repository mount (POST ?mount=<digest>&from=<repo>) reads a layer of `from`: without
 * GetDownloadUrlForLayer there (what fetching that layer would need) it is not attempted, and the
 * request falls back to an ordinary upload session, as the spec says an unmountable one does, so
 * the answer tells nothing about the other repository either.
 */
async function dropUnreadableMount(options: DistributionRouteOptions, identity: TokenIdentity, request: IncomingMessage, url: URL): Promise<void> {
  const from = url.searchParams.get("from");
  if (url.searchParams.get("mount") === null || from === null) return;
  const readable =
    validName(from) &&
    options.authorize !== undefined &&
    (await options.authorize(identity, "ecr:GetDownloadUrlForLayer", repositoryArnOf(options.context.scope, from), sourceIpOf(request))) === undefined;
  if (!readable) url.searchParams.delete("mount");
}

/** A DistributionError becomes the spec's error body; a client gone away ends quietly; anything else propagates. */
function answerFailure(request: IncomingMessage, response: ServerResponse, error: unknown): void {
  if (error instanceof DistributionError) {
    // The request body is not wanted once the answer is an error. A body still coming (an
    // unauthenticated upload, say) is drained within caps and the connection closed, never
    // swallowed for as long as the client sends; a bodiless request keeps its connection.
    if (hasBody(request) && !request.complete) discardRestAndClose(request);
    else request.resume();
    return sendDistributionError(response, error, request.method);
  }
  if ((error as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE" || request.destroyed) {
    // The client went away mid-transfer; what was written stays as upload progress.
    return void response.destroy();
  }
  throw error;
}
