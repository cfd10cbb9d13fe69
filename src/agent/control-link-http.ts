// The agent's side of the agent protocol over HTTP (see src/protocol/agent-api.ts): each call is a
// POST of JSON to <server><AGENT_ROUTE_PREFIX><call>. `register` presents the join token (and
// the host's current secret, if it has one); every other call presents the host secret the last
// registration returned (host-secret.ts). Every answer is checked before the agent acts on it:
// register and poll against the protocol's schemas, the others must be the JSON object the server
// sends. Retrying is the caller's business (the host loop backs off and re-sends, calls are
// idempotent; src/protocol/call-failure.ts says which failures are worth it); moving to another
// server of the agent's list is control-link-failover.ts's.
//
// A call that gets no answer (refused, reset, TLS refused, a redirect, or nothing within its
// timeout) fails with a ControlLinkError of status 0 naming the server; an answer that is not one
// the protocol defines (not JSON, malformed, over MAX_RESPONSE_BYTES) with status 502.
import type {
  AgentCall,
  ControlPlaneLink,
  LogBatch,
  PollAnswer,
  RegisterRequest,
  RegisterResponse,
  ReportRequest,
  TaskCredentialsAnswer,
} from "../protocol/index.js";
import {
  AGENT_ROUTE_PREFIX,
  ControlLinkError,
  HOST_NOT_REGISTERED,
  MAX_LOG_BATCH_MESSAGE_BYTES,
  HostNetworkViewSchema,
  MAX_LOG_EVENTS_PER_BATCH,
  PollTasksSchema,
  RegisterResponseSchema,
  TaskCredentialsAnswerSchema,
  compileCheck,
} from "../protocol/index.js";
import type { LoadBalancerMetricsRequest, TargetHealthRequest, TaskSecretsAnswer } from "../protocol/index.js";
import { LoadBalancerNodesSchema, TaskSecretsAnswerSchema } from "../protocol/index.js";
import { Agent } from "undici";
import { HostSecret } from "./host-secret.js";

export { ControlLinkError };

/**
 * The most of an answer the agent reads. A poll answer is the biggest: every task placed on the
 * host with its spec (at most 1,024 tasks); a server, or anything in between, that sends more is
 * refused rather than buffered without end.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** How long a call may take before the server counts as gone. A poll is held up to 20 s by the server. */
export const CALL_TIMEOUT_MS = 30_000;
export const POLL_TIMEOUT_MS = 60_000;
/** The most of an error answer's text kept in the error (and so in the agent's log). */
const MAX_ERROR_TEXT_CHARS = 512;

export interface HttpControlLinkOptions {
  readonly serverUrl: string;
  /** The join token the server issued (`<server data dir>/agent-token`). */
  readonly token: string;
  /** Where the host secret is kept across agent restarts; memory only when absent. */
  readonly secretFile?: string;
  /** PEM trust anchors for an https:// server (its pinned CA), replacing the system's roots. */
  readonly ca?: string;
  /** The most bytes of an answer read (default MAX_RESPONSE_BYTES). */
  readonly maxResponseBytes?: number;
  /** Timeouts of a poll and of every other call (defaults POLL_TIMEOUT_MS, CALL_TIMEOUT_MS). */
  readonly pollTimeoutMs?: number;
  readonly callTimeoutMs?: number;
}

/**
 * One server's end of the protocol: a call's answer, checked (register's a RegisterResponse,
 * poll's a PollResponse, the others' an empty object), or a ControlLinkError. The check is the
 * server's: an answer that fails it counts against the server that gave it.
 */
export type AgentCaller = (name: AgentCall, body: object, signal?: AbortSignal) => Promise<unknown>;

export type ServerCallerOptions = Omit<HttpControlLinkOptions, "serverUrl" | "secretFile" | "ca"> & {
  readonly secret: HostSecret;
  /** The TLS trust of https:// servers (see trustDispatcher). */
  readonly dispatcher?: Agent;
};

/** Verified TLS against the pinned CA (undici is the engine of Node's own fetch); undefined: the system's roots. */
export function trustDispatcher(ca: string | undefined): Agent | undefined {
  return ca ? new Agent({ connect: { ca, rejectUnauthorized: true } }) : undefined;
}

/** The protocol over HTTP to the one server at `serverUrl`. */
export function createHttpControlLink(options: HttpControlLinkOptions): ControlPlaneLink {
  const secret = new HostSecret(options.secretFile);
  const dispatcher = trustDispatcher(options.ca);
  return linkOver(serverCaller(options.serverUrl, { ...options, secret, ...(dispatcher ? { dispatcher } : {}) }), secret);
}

/** The ControlPlaneLink over a caller (one server's, or one that moves between servers). */
export function linkOver(call: AgentCaller, secret: HostSecret): ControlPlaneLink {
  return {
    register: async (request: RegisterRequest) => {
      const answer = (await call("register", request)) as RegisterResponse;
      secret.keep(answer.hostSecret);
      return answer;
    },
    poll: async (hostId: string, knownGeneration: number, signal?: AbortSignal) => (await call("poll", { hostId, knownGeneration }, signal)) as PollAnswer,
    report: async (hostId: string, request: ReportRequest) => {
      await call("report", { hostId, ...request });
    },
    heartbeat: async (hostId: string) => {
      await call("heartbeat", { hostId });
    },
    putLogs: async (hostId: string, batches: readonly LogBatch[]) => {
      // One call per part, in order, each within the server's per-batch limits. A failure part-way
      // rejects, and the caller sends the whole batch again: the server drops the lines whose
      // offsets it already stored.
      for (const batch of batches) for (const part of splitLogBatch(batch)) await call("logs", { hostId, batches: [part] });
    },
    taskCredentials: async (hostId: string, taskArn: string) => (await call("taskCredentials", { hostId, taskArn })) as TaskCredentialsAnswer,
    taskSecrets: async (hostId: string, taskArn: string) => (await call("secrets", { hostId, taskArn })) as TaskSecretsAnswer,
    targetHealth: async (hostId: string, request: TargetHealthRequest) => {
      await call("targetHealth", { hostId, ...request });
    },
    loadBalancerMetrics: async (hostId: string, request: LoadBalancerMetricsRequest) => {
      await call("loadBalancerMetrics", { hostId, ...request });
    },
  };
}

/** The protocol to the one server at `serverUrl` (with or without a trailing slash, a path allowed). */
export function serverCaller(serverUrl: string, options: ServerCallerOptions): AgentCaller {
  const origin = serverUrl.replace(/\/$/, "");
  const base = `${origin}${AGENT_ROUTE_PREFIX}`;
  const limit = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  return async (name, body, signal) => {
    const registering = name === "register";
    const hostSecret = options.secret.value;
    if (!registering && hostSecret === undefined) throw new ControlLinkError(`agent protocol ${name}: HTTP 401: not registered yet`, 401, HOST_NOT_REGISTERED);
    const timeoutMs = name === "poll" ? (options.pollTimeoutMs ?? POLL_TIMEOUT_MS) : (options.callTimeoutMs ?? CALL_TIMEOUT_MS);
    // Bounds the whole exchange, body included: a server that accepts and then says nothing, or
    // trickles its answer, is given up like one that refused the connection.
    const timeout = AbortSignal.timeout(timeoutMs);
    let answer: HttpAnswer;
    try {
      const response = await fetch(base + name, {
        method: "POST",
        headers: requestHeaders(body, registering ? options.token : hostSecret!, registering ? hostSecret : undefined),
        body: JSON.stringify(body),
        // A redirect is an error, never followed: following it would send the host secret (or the
        // join token) and the body to wherever the answer points.
        redirect: "error",
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        ...(options.dispatcher ? { dispatcher: options.dispatcher as never } : {}),
      });
      answer = { status: response.status, ok: response.ok, text: await readCapped(response, limit, name) };
    } catch (error) {
      // The caller's own abort (agent shutdown) stays what it is: no server failed.
      if (signal?.aborted || error instanceof ControlLinkError) throw error;
      const why = timeout.aborted ? `nothing within ${timeoutMs} ms` : failureText(error);
      throw new ControlLinkError(`agent protocol ${name}: no answer from ${origin}: ${why}`, 0);
    }
    return checkedAnswer(name, parsedAnswer(name, answer));
  };
}

interface HttpAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly text: string;
}

function requestHeaders(body: object, bearer: string, currentSecret: string | undefined): Record<string, string> {
  return {
    "content-type": "application/json",
    authorization: `Bearer ${bearer}`,
    // The server authenticates the host from the head, before it reads the body (logs batches are large).
    ...("hostId" in body && typeof body.hostId === "string" ? { "x-berth-host-id": body.hostId } : {}),
    ...(currentSecret !== undefined ? { "x-berth-host-secret": currentSecret } : {}),
  };
}

/** fetch's "fetch failed" with what lies under it (ECONNREFUSED, a certificate refused, a redirect). */
function failureText(error: unknown): string {
  const cause = (error as { cause?: { message?: unknown } } | undefined)?.cause;
  const message = error instanceof Error ? error.message : String(error);
  return typeof cause?.message === "string" ? `${message}: ${cause.message}` : message;
}

/** An answer's JSON; an error status as a ControlLinkError with the server's code, when it sent one. */
function parsedAnswer(name: AgentCall, answer: HttpAnswer): unknown {
  if (!answer.ok) {
    let message = answer.text;
    let code: string | undefined;
    try {
      const parsed = JSON.parse(answer.text) as { message?: unknown; code?: unknown } | null;
      if (typeof parsed?.message === "string") message = parsed.message;
      if (typeof parsed?.code === "string") code = parsed.code;
    } catch {
      // not Berth's error shape: the raw text, cut
    }
    throw new ControlLinkError(`agent protocol ${name}: HTTP ${answer.status}: ${message.slice(0, MAX_ERROR_TEXT_CHARS)}`, answer.status, code);
  }
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    throw new ControlLinkError(`agent protocol ${name}: the answer is not JSON`, 502);
  }
}

const registerAnswer = compileCheck(RegisterResponseSchema);
const pollTasks = compileCheck(PollTasksSchema);
const networkView = compileCheck(HostNetworkViewSchema);
const loadBalancerNodes = compileCheck(LoadBalancerNodesSchema);
const credentialsAnswer = compileCheck(TaskCredentialsAnswerSchema);
const secretsAnswer = compileCheck(TaskSecretsAnswerSchema);

/**
 * A poll answer: its tasks checked strictly (malformed, the call fails), its network view apart. A
 * view that fails its check is left out with the reason (PollAnswer): the host keeps its network
 * and still converges its tasks, where one over-limit view would otherwise refuse every answer.
 */
function checkedPollAnswer(answer: unknown): PollAnswer {
  const checked = pollTasks.parse(answer);
  if (!checked.ok) throw new ControlLinkError(`agent protocol poll: the answer is malformed: ${checked.problem}`, 502);
  const { generation, tasks } = checked.value;
  const view = networkView.parse((answer as { network?: unknown }).network);
  const networkPart = view.ok ? { network: view.value } : { networkProblem: view.problem };
  // A server that runs no load balancers sends none: the host runs none.
  const nodes = loadBalancerNodes.parse((answer as { loadBalancers?: unknown }).loadBalancers ?? []);
  const nodesPart = nodes.ok ? { loadBalancers: nodes.value } : { loadBalancersProblem: nodes.problem };
  return { generation, tasks, ...networkPart, ...nodesPart };
}

/**
 * The answer when it is one the protocol defines for the call; a 502 (retried like any bad gateway)
 * when not. A call that answers nothing answers `{}`: anything else did not come from a Berth server.
 */
function checkedAnswer(name: AgentCall, answer: unknown): unknown {
  if (name === "poll") return checkedPollAnswer(answer);
  const check = name === "register" ? registerAnswer : name === "taskCredentials" ? credentialsAnswer : name === "secrets" ? secretsAnswer : undefined;
  if (check) {
    const checked = check.parse(answer);
    if (!checked.ok) throw new ControlLinkError(`agent protocol ${name}: the answer is malformed: ${checked.problem}`, 502);
    return checked.value;
  }
  if (typeof answer !== "object" || answer === null || Array.isArray(answer))
    throw new ControlLinkError(`agent protocol ${name}: the answer is malformed: expected a JSON object`, 502);
  return answer;
}

/** Reads a response's body as text, refusing (and cancelling) one longer than `limit` bytes. */
async function readCapped(response: Response, limit: number, name: string): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new ControlLinkError(`agent protocol ${name}: the answer (${declared} bytes) is over the ${limit}-byte limit`, 502);
  }
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ControlLinkError(`agent protocol ${name}: the answer is over the ${limit}-byte limit`, 502);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Cuts a string to at most `maxBytes` of UTF-8, on a character boundary. */
function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  const bytes = Buffer.from(text, "utf8");
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // never in the middle of a character
  return bytes.subarray(0, end).toString("utf8");
}

/**
 * A log batch as parts the server accepts: at most MAX_LOG_EVENTS_PER_BATCH events and
 * MAX_LOG_BATCH_MESSAGE_BYTES of messages each, in order. A single message longer than a whole
 * batch may be is cut to that length.
 */
export function splitLogBatch(batch: LogBatch): LogBatch[] {
  const parts: LogBatch[] = [];
  let events: LogBatch["events"][number][] = [];
  let bytes = 0;
  for (const original of batch.events) {
    const message = truncateUtf8(original.message, MAX_LOG_BATCH_MESSAGE_BYTES);
    const size = Buffer.byteLength(message, "utf8");
    if (events.length > 0 && (events.length >= MAX_LOG_EVENTS_PER_BATCH || bytes + size > MAX_LOG_BATCH_MESSAGE_BYTES)) {
      parts.push({ ...batch, events });
      events = [];
      bytes = 0;
    }
    events.push(message === original.message ? original : { ...original, message });
    bytes += size;
  }
  if (events.length > 0 || parts.length === 0) parts.push({ ...batch, events });
  return parts;
}
