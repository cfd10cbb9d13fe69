// The agent protocol over HTTP: POST <AGENT_ROUTE_PREFIX><call> with a JSON body, served by the
// control plane's Fleet. Not an AWS API, so no SigV4: agents hold a join token, never the account's
// keys. `register` takes a join token (Authorization: Bearer <join token>) and, for a host that is
// already registered and alive, its current secret (X-Berth-Host-Secret); it answers with a new
// secret bound to the host id. Every other call takes that host secret as its bearer token and may
// only name the host the secret was issued to.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import type { AgentCall, ControlPlaneLink } from "../protocol/index.js";
import {
  AGENT_ROUTE_PREFIX,
  HOST_NOT_REGISTERED,
  parseLogsBody,
  parsePollBody,
  parseRegisterBody,
  parseReportBody,
  parseTaskCredentialsBody,
} from "../protocol/index.js";
import { parseLoadBalancerMetricsBody, parseTargetHealthBody, parseTaskSecretsBody } from "../protocol/index.js";
import { isAwsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { BodyTooLargeError, discardRestAndClose, readBody } from "./gateway/request-body.js";

const MAX_BODY_BYTES = 8 * 1024 * 1024; // a log batch of 10,000 lines fits comfortably
/** What is read of a body before its sender is authenticated (when the host id is not in a header). */
const PRE_AUTH_BODY_BYTES = 64 * 1024;

/** Decides which host a presented secret speaks for (the Fleet). */
export interface HostAuthenticator {
  authenticateHost(hostId: string, secret: string): Promise<boolean>;
  mayRegister(hostId: string, presentedSecret: string | undefined): Promise<boolean>;
}

export interface AgentRouteOptions {
  readonly fleet: ControlPlaneLink & HostAuthenticator;
  /** sha256 (hex) of join tokens accepted without expiry (tests and in-process fleets; the server passes none). */
  readonly acceptedTokenHashes?: () => readonly string[];
  /** What a token (by sha256 hex) the server issued is worth now: valid, expired, revoked or unknown. */
  readonly joinTokenStatus?: (tokenSha256: string) => Promise<TokenStatus>;
  readonly logger: Pick<Logger, "error">;
}

type TokenStatus = "valid" | "expired" | "revoked" | "unknown";
type Reply = (status: number, body: unknown) => void;

const REFUSAL: Record<Exclude<TokenStatus, "valid">, string> = {
  expired: "The join token has expired; issue a new one with `berth join-token create` on the server.",
  revoked: "The join token was revoked (`berth join-token revoke`); issue a new one with `berth join-token create` on the server.",
  unknown: "A valid agent join token is required.",
};

const bearer = (header: string | undefined) => /^Bearer (\S+)$/.exec(header ?? "")?.[1];

export function createAgentRoute(options: AgentRouteOptions) {
  return {
    prefix: AGENT_ROUTE_PREFIX,
    async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
      const reply = replyTo(request, response);
      if (request.method !== "POST") return reply(405, { code: "MethodNotAllowed", message: "Use POST." });
      const call = (request.url ?? "").slice(AGENT_ROUTE_PREFIX.length).split("?")[0];
      // The host is named in a header (the agent sends X-Berth-Host-Id) so that its credentials are
      // checked before up to MAX_BODY_BYTES of body are read; a caller that names it only in the
      // body gets PRE_AUTH_BODY_BYTES read before it is authenticated, no more.
      const namedHost = request.headers["x-berth-host-id"];
      let body = typeof namedHost === "string" ? undefined : await readJsonOrReply(request, PRE_AUTH_BODY_BYTES, reply);
      if (typeof namedHost !== "string" && body === undefined) return;
      const hostId = typeof namedHost === "string" ? namedHost : typeof body?.hostId === "string" ? body.hostId : "";
      if (!(await admitted(options, request, call, hostId, reply))) return;
      if (body === undefined) {
        body = await readJsonOrReply(request, MAX_BODY_BYTES, reply);
        if (body === undefined) return;
        if (body.hostId !== hostId) return reply(400, { code: "BadRequest", message: "The body's hostId differs from the X-Berth-Host-Id header." });
      }
      const abort = new AbortController();
      response.on("close", () => abort.abort());
      try {
        const answer = await answerCall(options.fleet, call, hostId, body, abort.signal);
        return reply(answer.status, answer.body);
      } catch (error) {
        if (isAwsError(error) && error.isClientFault) return reply(error.httpStatus === 403 ? 403 : 400, { code: error.code, message: error.message });
        if (isAwsError(error) && error.httpStatus === 503) return reply(503, { code: error.code, message: error.message });
        options.logger.error({ err: error, call }, "agent protocol call failed");
        return reply(500, { code: "ServerError", message: "Internal error" });
      }
    },
  };
}

/** Answers a request with a JSON body, closing the connection when a large unread body would follow. */
function replyTo(request: IncomingMessage, response: ServerResponse): Reply {
  return (status, body) => {
    // Answered before the body was read (refused from the head): drain a little, then close.
    const unread = !request.complete;
    const text = JSON.stringify(body);
    response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    response.end(text);
    // A body of known length within the limit is discarded by node, the connection kept.
    if (unread && (request.headers["content-length"] === undefined || Number(request.headers["content-length"]) > MAX_BODY_BYTES)) discardRestAndClose(request);
  };
}

/** The body as a JSON object, or undefined once the refusal (too large, not JSON) is answered. */
async function readJsonOrReply(request: IncomingMessage, limit: number, reply: Reply): Promise<Record<string, unknown> | undefined> {
  try {
    return await readJson(request, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError && limit === PRE_AUTH_BODY_BYTES) {
      reply(413, {
        code: "RequestTooLarge",
        message: `A body over ${PRE_AUTH_BODY_BYTES} bytes needs the X-Berth-Host-Id header, so that the host is authenticated before it is read.`,
      });
    } else {
      reply(error instanceof BodyTooLargeError ? 413 : 400, { code: "BadRequest", message: (error as Error).message });
    }
    return undefined;
  }
}

/**
 * Whether the caller may make this call for this host: `register` with a valid join token (or the
 * host's own secret), every other call with the host's secret. A refusal is answered here.
 */
async function admitted(options: AgentRouteOptions, request: IncomingMessage, call: string | undefined, hostId: string, reply: Reply): Promise<boolean> {
  const token = bearer(request.headers.authorization);
  if (call !== "register") {
    if (token && (await options.fleet.authenticateHost(hostId, token))) return true;
    // Unknown host, stale secret (the server forgot the host) or another host's secret: the
    // agent answers 401 by registering again with its join token.
    reply(401, { code: HOST_NOT_REGISTERED, message: `Host ${hostId} is not registered, or the presented host secret is not its own.` });
    return false;
  }
  const current = typeof request.headers["x-berth-host-secret"] === "string" ? request.headers["x-berth-host-secret"] : undefined;
  // A host that proves itself with the secret it was issued registers again (agent restart)
  // whatever became of the join token it first came with: expiry and revocation stop new
  // hosts joining, never registered ones.
  const provenHost = current !== undefined && (await options.fleet.authenticateHost(hostId, current));
  const status = provenHost ? "valid" : await joinTokenStatus(options, token);
  if (status !== "valid") {
    reply(401, { code: status === "unknown" ? "Unauthorized" : status === "expired" ? "ExpiredToken" : "RevokedToken", message: REFUSAL[status] });
    return false;
  }
  if (!provenHost && !(await options.fleet.mayRegister(hostId, current))) {
    reply(403, { code: "HostIdInUse", message: `Host ${hostId} is registered and alive; only its own agent (with its host secret) may register it again.` });
    return false;
  }
  return true;
}

async function joinTokenStatus(options: AgentRouteOptions, token: string | undefined): Promise<TokenStatus> {
  if (!token) return "unknown";
  const presented = createHash("sha256").update(token).digest();
  const fixed = (options.acceptedTokenHashes?.() ?? []).some((hash) => {
    const accepted = Buffer.from(hash, "hex");
    return accepted.length === presented.length && timingSafeEqual(accepted, presented);
  });
  // Issued tokens are looked up by their hash: the lookup never sees the token itself.
  return fixed ? "valid" : ((await options.joinTokenStatus?.(presented.toString("hex"))) ?? "unknown");
}

/**
 * One call, its body checked against the protocol's schema before the Fleet sees it
 * (src/protocol/agent-bodies.ts): a wrong type or a limit passed is a 400 naming the field.
 */
async function answerCall(
  fleet: ControlPlaneLink,
  call: string | undefined,
  hostId: string,
  body: unknown,
  signal: AbortSignal,
): Promise<{ status: number; body: unknown }> {
  const malformed = (what: AgentCall, problem: string) => ({ status: 400, body: { code: "BadRequest", message: `The ${what} body is malformed: ${problem}` } });
  const done = { status: 200, body: {} };
  switch (call) {
    case "register": {
      const checked = parseRegisterBody(body);
      return checked.ok ? { status: 200, body: await fleet.register(checked.value) } : malformed("register", checked.problem);
    }
    case "poll": {
      const checked = parsePollBody(body);
      return checked.ok ? { status: 200, body: await fleet.poll(hostId, checked.value.knownGeneration ?? -1, signal) } : malformed("poll", checked.problem);
    }
    case "report": {
      const checked = parseReportBody(body);
      if (!checked.ok) return malformed("report", checked.problem);
      await fleet.report(hostId, { reports: checked.value.reports ?? [] });
      return done;
    }
    case "heartbeat":
      await fleet.heartbeat(hostId);
      return done;
    case "logs": {
      const checked = parseLogsBody(body);
      if (!checked.ok) return malformed("logs", checked.problem);
      await fleet.putLogs(hostId, checked.value.batches ?? []);
      return done;
    }
    case "taskCredentials": {
      const checked = parseTaskCredentialsBody(body);
      if (!checked.ok) return malformed("taskCredentials", checked.problem);
      if (!fleet.taskCredentials) return { status: 404, body: { code: "UnknownCall", message: "Unknown agent protocol call: taskCredentials" } };
      return { status: 200, body: await fleet.taskCredentials(hostId, checked.value.taskArn) };
    }
    case "secrets": {
      const checked = parseTaskSecretsBody(body);
      if (!checked.ok) return malformed("secrets", checked.problem);
      if (!fleet.taskSecrets) return { status: 404, body: { code: "UnknownCall", message: "Unknown agent protocol call: secrets" } };
      return { status: 200, body: await fleet.taskSecrets(hostId, checked.value.taskArn) };
    }
    case "targetHealth": {
      const checked = parseTargetHealthBody(body);
      if (!checked.ok) return malformed("targetHealth", checked.problem);
      if (!fleet.targetHealth) return { status: 404, body: { code: "UnknownCall", message: "Unknown agent protocol call: targetHealth" } };
      await fleet.targetHealth(hostId, { results: checked.value.results ?? [] });
      return done;
    }
    case "loadBalancerMetrics": {
      const checked = parseLoadBalancerMetricsBody(body);
      if (!checked.ok) return malformed("loadBalancerMetrics", checked.problem);
      if (!fleet.loadBalancerMetrics) return { status: 404, body: { code: "UnknownCall", message: "Unknown agent protocol call: loadBalancerMetrics" } };
      await fleet.loadBalancerMetrics(hostId, { metrics: checked.value.metrics });
      return done;
    }
    default:
      return { status: 404, body: { code: "UnknownCall", message: `Unknown agent protocol call: ${call}` } };
  }
}

async function readJson(request: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const text = (await readBody(request, limit)).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text || "{}");
  } catch {
    throw new Error("The body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("Expected a JSON object.");
  return parsed as Record<string, unknown>;
}
