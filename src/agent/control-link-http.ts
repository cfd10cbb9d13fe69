// The agent's side of the agent protocol over HTTP (see src/protocol/agent-api.ts): each call is a
// POST of JSON to <server>/_berth/agent/v<version>/<call>. `register` presents the join token (and
// the host's current secret, if it has one); every other call presents the host secret the last
// registration returned, kept in memory and in `secretFile` (0600) so a restarted agent can prove
// it is the same host. Retrying is the caller's business (the host loop backs off and re-sends,
// calls are idempotent).
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type {
  ControlPlaneLink,
  LogBatch,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
  ReportRequest,
} from "../protocol/index.js";
import { protocolVersion } from "../protocol/index.js";
import { Agent } from "undici";

export class ControlLinkError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The server's error code (e.g. HostNotRegistered), when it sent one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = "ControlLinkError";
  }
  /** 4xx other than auth problems will not get better by retrying the same request. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 401 && this.status !== 429;
  }
}

export interface HttpControlLinkOptions {
  readonly serverUrl: string;
  /** The join token the server issued (`<server data dir>/agent-token`). */
  readonly token: string;
  /** Where the host secret is kept across agent restarts; memory only when absent. */
  readonly secretFile?: string;
  /** PEM trust anchors for an https:// server (its pinned CA), replacing the system's roots. */
  readonly ca?: string;
}

export function createHttpControlLink(options: HttpControlLinkOptions): ControlPlaneLink {
  const base = `${options.serverUrl.replace(/\/$/, "")}/_berth/agent/v${protocolVersion}/`;
  // Verified TLS against the pinned CA (undici is the engine of Node's own fetch).
  const dispatcher = options.ca ? new Agent({ connect: { ca: options.ca, rejectUnauthorized: true } }) : undefined;
  let hostSecret: string | undefined = options.secretFile && existsSync(options.secretFile) ? readFileSync(options.secretFile, "utf8").trim() || undefined : undefined;
  const keepSecret = (secret: string) => {
    hostSecret = secret;
    if (!options.secretFile) return;
    // Written aside and renamed, so a crash never leaves a half-written secret behind.
    writeFileSync(`${options.secretFile}.new`, `${secret}\n`, { mode: 0o600 });
    renameSync(`${options.secretFile}.new`, options.secretFile);
  };
  const call = async <T>(name: string, body: object, signal?: AbortSignal): Promise<T> => {
    const registering = name === "register";
    if (!registering && hostSecret === undefined) throw new ControlLinkError(`agent protocol ${name}: HTTP 401: not registered yet`, 401, "HostNotRegistered");
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
      ...(signal ? { signal } : {}),
      ...(dispatcher ? { dispatcher: dispatcher as never } : {}),
    });
    const text = await response.text();
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
    return (text ? JSON.parse(text) : {}) as T;
  };
  return {
    register: async (request: RegisterRequest) => {
      const answer = await call<RegisterResponse>("register", request);
      keepSecret(answer.hostSecret);
      return answer;
    },
    poll: (hostId: string, knownGeneration: number, signal?: AbortSignal) => call<PollResponse>("poll", { hostId, knownGeneration }, signal),
    report: async (hostId: string, request: ReportRequest) => {
      await call("report", { hostId, ...request });
    },
    heartbeat: async (hostId: string) => {
      await call("heartbeat", { hostId });
    },
    putLogs: async (hostId: string, batches: readonly LogBatch[]) => {
      await call("logs", { hostId, batches });
    },
  };
}
