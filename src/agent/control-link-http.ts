// The agent's side of the agent protocol over HTTP (see src/protocol/agent-api.ts): each call is a
// POST of JSON to <server><AGENT_ROUTE_PREFIX><call>. `register` presents the join token (and
// the host's current secret, if it has one); every other call presents the host secret the last
// registration returned, kept in memory and in `secretFile` (0600) so a restarted agent can prove
// it is the same host. The answers of register and poll are checked against the protocol's schemas
// before the agent acts on them. Retrying is the caller's business (the host loop backs off and
// re-sends, calls are idempotent; src/protocol/call-failure.ts says which failures are worth it).
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { AgentCall, BodyCheck, ControlPlaneLink, LogBatch, RegisterRequest, ReportRequest } from "../protocol/index.js";
import {
  AGENT_ROUTE_PREFIX,
  ControlLinkError,
  HOST_NOT_REGISTERED,
  MAX_LOG_BATCH_MESSAGE_BYTES,
  MAX_LOG_EVENTS_PER_BATCH,
  PollResponseSchema,
  RegisterResponseSchema,
  compileCheck,
} from "../protocol/index.js";
import type { TSchema } from "typebox";
import { Agent } from "undici";

export { ControlLinkError };

/**
 * The most of an answer the agent reads. A poll answer is the biggest: every task placed on the
 * host with its spec (at most 1,024 tasks); a server, or anything in between, that sends more is
 * refused rather than buffered without end.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

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
}

export function createHttpControlLink(options: HttpControlLinkOptions): ControlPlaneLink {
  const base = `${options.serverUrl.replace(/\/$/, "")}${AGENT_ROUTE_PREFIX}`;
  // Verified TLS against the pinned CA (undici is the engine of Node's own fetch).
  const dispatcher = options.ca ? new Agent({ connect: { ca: options.ca, rejectUnauthorized: true } }) : undefined;
  let hostSecret: string | undefined =
    options.secretFile && existsSync(options.secretFile) ? readFileSync(options.secretFile, "utf8").trim() || undefined : undefined;
  const keepSecret = (secret: string) => {
    hostSecret = secret;
    if (!options.secretFile) return;
    // Written aside and renamed, so a crash never leaves a half-written secret behind.
    writeFileSync(`${options.secretFile}.new`, `${secret}\n`, { mode: 0o600 });
    renameSync(`${options.secretFile}.new`, options.secretFile);
  };
  const call = async (name: AgentCall, body: object, signal?: AbortSignal): Promise<unknown> => {
    const registering = name === "register";
    if (!registering && hostSecret === undefined) throw new ControlLinkError(`agent protocol ${name}: HTTP 401: not registered yet`, 401, HOST_NOT_REGISTERED);
    const response = await fetch(base + name, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${registering ? options.token : hostSecret}`,
        // The server authenticates the host from the head, before it reads the body (logs batches are large).
        ...("hostId" in body && typeof body.hostId === "string" ? { "x-berth-host-id": body.hostId } : {}),
        ...(registering && hostSecret !== undefined ? { "x-berth-host-secret": hostSecret } : {}),
      },
      body: JSON.stringify(body),
      // A redirect is an error, never followed: following it would send the host secret (or the
      // join token) and the body to wherever the answer points.
      redirect: "error",
      ...(signal ? { signal } : {}),
      ...(dispatcher ? { dispatcher: dispatcher as never } : {}),
    });
    const text = await readCapped(response, options.maxResponseBytes ?? MAX_RESPONSE_BYTES, name);
    if (!response.ok) {
      let message = text;
      let code: string | undefined;
      try {
        const parsed = JSON.parse(text) as { message?: string; code?: string };
        message = parsed.message ?? text;
        code = parsed.code;
      } catch {
        // keep the raw text
      }
      throw new ControlLinkError(`agent protocol ${name}: HTTP ${response.status}: ${message}`, response.status, code);
    }
    try {
      return text ? (JSON.parse(text) as unknown) : {};
    } catch {
      throw new ControlLinkError(`agent protocol ${name}: the answer is not JSON`, 502);
    }
  };
  return {
    register: async (request: RegisterRequest) => {
      const answer = checkedAnswer("register", registerAnswer, await call("register", request));
      keepSecret(answer.hostSecret);
      return answer;
    },
    poll: async (hostId: string, knownGeneration: number, signal?: AbortSignal) =>
      checkedAnswer("poll", pollAnswer, await call("poll", { hostId, knownGeneration }, signal)),
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
  };
}

const registerAnswer = compileCheck(RegisterResponseSchema);
const pollAnswer = compileCheck(PollResponseSchema);

/** The answer, typed, when it is one the protocol defines; a 502 (retried like any bad gateway) when not. */
function checkedAnswer<Schema extends TSchema>(name: AgentCall, check: BodyCheck<Schema>, answer: unknown) {
  const checked = check.parse(answer);
  if (!checked.ok) throw new ControlLinkError(`agent protocol ${name}: the answer is malformed: ${checked.problem}`, 502);
  return checked.value;
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
