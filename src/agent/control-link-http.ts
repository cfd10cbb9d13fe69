// The agent's side of the agent protocol over HTTP (see src/protocol/agent-api.ts): each call is a
// POST of JSON to <server>/_berth/agent/v<version>/<call> with the join token as a bearer token.
// Retrying is the caller's business (the host loop backs off and re-sends, calls are idempotent).
import type {
  ControlPlaneLink,
  LogBatch,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
  ReportRequest,
} from "../protocol/index.js";
import { protocolVersion } from "../protocol/index.js";

export class ControlLinkError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ControlLinkError";
  }
  /** 4xx other than auth problems will not get better by retrying the same request. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 401 && this.status !== 429;
  }
}

export function createHttpControlLink(options: { serverUrl: string; token: string }): ControlPlaneLink {
  const base = `${options.serverUrl.replace(/\/$/, "")}/_berth/agent/v${protocolVersion}/`;
  const call = async <T>(name: string, body: object, signal?: AbortSignal): Promise<T> => {
    const response = await fetch(base + name, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${options.token}` },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // keep the raw text
      }
      throw new ControlLinkError(`agent protocol ${name}: HTTP ${response.status}: ${message}`, response.status);
    }
    return (text ? JSON.parse(text) : {}) as T;
  };
  return {
    register: (request: RegisterRequest) => call<RegisterResponse>("register", request),
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
