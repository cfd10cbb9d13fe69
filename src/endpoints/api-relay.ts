// The AWS API relay at 169.254.170.2: a task's SigV4-signed request (relay-rules.ts says which) is
// sent to the control plane the agent itself uses, as it came (method, path and query, headers
// less hop-by-hop ones, Host included since SigV4 signs it, the body), and the answer is streamed
// back. Every host port is closed to tasks (src/network/host-firewall-rules.ts); this is the one
// way a task reaches Berth's API, and only Berth's API: the target is fixed by the agent, never
// read from the request, and redirects are answered to the task like any answer, never followed.
//
// The relay adds nothing of its own (no credential, no X-Forwarded-For): the server authenticates
// and authorizes each call as if the task had sent it directly, except that the call comes from
// this host's address (so `aws:SourceIp` is the host's, not the task's).
//
// Bounds: bodies over maxBodyBytes are refused (413) before anything is sent; requests in flight
// are capped per task and in all (429); a request and its answer must be done within timeoutMs;
// a task whose calls fail authentication too often is refused for a while (429, relay-rules.ts).
// Anything that goes wrong on the way is 502 with no detail (the detail goes to the agent's log).
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";
import type { RelayLimits } from "./relay-rules.js";
import { DEFAULT_RELAY_LIMITS, FailureBudget, requestHeadersToForward, responseHeadersToReturn } from "./relay-rules.js";

/** Where the relay sends requests: the control plane the agent talks to now. */
export interface RelayTarget {
  readonly url: URL;
  /** PEM trust anchors for an https: target (the server's pinned CA); the system's roots when absent. */
  readonly ca?: string | undefined;
  /** The name the certificate is checked against when it is not the URL's host (a loopback connection to a named server). */
  readonly servername?: string | undefined;
}

// AWS's JSON error shape, as the gateway sends it; none of these words are AWS's own: wording not confirmed.
const answer = (response: ServerResponse, status: number, type: string, message: string) => {
  const text = JSON.stringify({ __type: type, message });
  response.writeHead(status, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(text), "x-amzn-errortype": type });
  response.end(text);
};

class TooLarge extends Error {}

/** The body, or TooLarge past `limit` bytes (a declared Content-Length is checked before anything is read). */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (!Number.isFinite(declared) || declared > limit) throw new TooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new TooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export class ApiRelay {
  private readonly limits: RelayLimits;
  private readonly failures: FailureBudget;
  private readonly inFlight = new Map<string, number>();
  private total = 0;
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgents = new Map<string, HttpsAgent>();

  constructor(
    private readonly target: () => RelayTarget | undefined,
    private readonly onError: (error: unknown, what: string) => void,
    limits: Partial<RelayLimits> = {},
    now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...limits };
    this.failures = new FailureBudget(this.limits, now);
    this.httpAgent = new HttpAgent({ keepAlive: true, maxSockets: this.limits.total });
  }

  /** Relays one request of the task named `taskKey` (its ARN): the answer is the control plane's, or the relay's refusal. */
  async relay(taskKey: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = this.target();
    if (!target) return answer(response, 502, "ServiceUnavailableException", "The API relay has no control plane to send to");
    const mine = this.inFlight.get(taskKey) ?? 0;
    if (mine >= this.limits.perTask || this.total >= this.limits.total || !this.failures.reserve(taskKey)) {
      response.shouldKeepAlive = false;
      return answer(response, 429, "ThrottlingException", "Rate exceeded");
    }
    this.inFlight.set(taskKey, mine + 1);
    this.total += 1;
    const timeout = AbortSignal.timeout(this.limits.timeoutMs);
    try {
      let body: Buffer;
      try {
        body = await readBody(request, this.limits.maxBodyBytes);
      } catch (error) {
        if (!(error instanceof TooLarge)) throw error;
        // Refused here, never sent: no failure of the server's to count.
        this.failures.refund(taskKey);
        response.shouldKeepAlive = false;
        return answer(response, 413, "SerializationException", "Request body too large");
      }
      await this.forward(target, taskKey, request, body, response, timeout);
    } finally {
      this.total -= 1;
      const left = (this.inFlight.get(taskKey) ?? 1) - 1;
      if (left > 0) this.inFlight.set(taskKey, left);
      else this.inFlight.delete(taskKey);
    }
  }

  private agentFor(target: RelayTarget): HttpAgent | HttpsAgent {
    if (target.url.protocol === "http:") return this.httpAgent;
    const key = `${target.ca ?? ""}\0${target.servername ?? ""}`;
    let agent = this.httpsAgents.get(key);
    if (!agent) {
      agent = new HttpsAgent({
        keepAlive: true,
        maxSockets: this.limits.total,
        rejectUnauthorized: true,
        ...(target.ca ? { ca: target.ca } : {}),
        ...(target.servername ? { servername: target.servername } : {}),
      });
      this.httpsAgents.set(key, agent);
    }
    return agent;
  }

  private async forward(target: RelayTarget, taskKey: string, request: IncomingMessage, body: Buffer, response: ServerResponse, timeout: AbortSignal) {
    const send = target.url.protocol === "https:" ? httpsRequest : httpRequest;
    const upstream = send({
      protocol: target.url.protocol,
      hostname: target.url.hostname.replace(/^\[|\]$/g, ""),
      port: target.url.port || (target.url.protocol === "https:" ? 443 : 80),
      method: request.method,
      path: request.url,
      headers: requestHeadersToForward(request.rawHeaders, body.length) as never,
      agent: this.agentFor(target),
      signal: AbortSignal.any([timeout, closedEarly(response)]),
    });
    try {
      const answered = new Promise<IncomingMessage>((resolve, reject) => {
        upstream.once("response", resolve);
        upstream.once("error", reject);
      });
      upstream.end(body);
      const reply = await answered;
      // The reserved token stays spent for a failed authentication, and for a request that never got
      // its answer (the catch below): the server may have checked and charged it all the same.
      if (!failedAuthentication(reply)) this.failures.refund(taskKey);
      response.writeHead(reply.statusCode ?? 502, reply.statusMessage, responseHeadersToReturn(reply.rawHeaders));
      await pipeline(reply, response);
    } catch (error) {
      upstream.destroy();
      if (response.headersSent) return void response.destroy();
      // The task hung up: nobody to answer.
      if (response.destroyed) return;
      this.onError(error, "a task's API request could not be relayed to the control plane");
      answer(response, 502, "ServiceUnavailableException", "The API relay could not reach the control plane");
    }
  }

  close(): void {
    this.httpAgent.destroy();
    for (const agent of this.httpsAgents.values()) agent.destroy();
  }
}

/**
 * Whether an answer is the server's refusal of who is asking (401, or 403 other than a policy's
 * AccessDenied*, which the JSON protocols name in x-amzn-ErrorType; the query protocols do not, so
 * there a policy denial counts too, which only makes the budget stricter for a task probing its rights).
 */
function failedAuthentication(reply: IncomingMessage): boolean {
  if (reply.statusCode === 401) return true;
  const type = reply.headers["x-amzn-errortype"];
  return reply.statusCode === 403 && !(typeof type === "string" && type.startsWith("AccessDenied"));
}

/** Aborted when the task's connection closes before its answer was sent. */
function closedEarly(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}
