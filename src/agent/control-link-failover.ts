// The agent protocol over several servers of one control plane (`berth agent --server A --server
// B …`): replicas that share one store, so any of them answers for the fleet, and the host
// registration (host id + secret) one of them issued is valid on all.
//
//   call ─▶ current server ─▶ answered: done (the agent stays on a server that works)
//             │ no answer (refused, reset, TLS refused, redirect, timeout), 5xx or 429,
//             │ an answer no Berth server gives (not JSON, malformed, too big, a 4xx without
//             │ Berth's error code), or a refused registration
//             ▼
//           the next server of the list becomes current ─▶ jittered backoff ─▶ the call again there
//           … every server tried once: the error goes to the caller, which backs off and calls again
//
// Why a switch waits: every agent of a fleet loses its server at the same moment; the jittered
// delay (src/core/retry-with-backoff.ts) spreads their arrival at the next one. Why once per
// server: the callers (registration, poll, reports, log shipping) already retry with their own,
// longer backoff, so an outage of every server is paced by them.
//
// No report or log line is lost or applied twice across a switch: a call that got no answer may
// have been applied; it is sent again, to the next server, and the control plane applies it once
// (a report by its sequence, apply-task-report.ts; a log line by its offset, log-ingest.ts).
// Desired-state generations are a server's own (desired-state-feed.ts): a poll sent to another
// server than the one whose generation it carries asks for the full list at once (-1).
import type { Clock } from "../core/clock.js";
import { systemClock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Backoff } from "../core/retry-with-backoff.js";
import { retryWithBackoff } from "../core/retry-with-backoff.js";
import type { AgentCall, ControlPlaneLink } from "../protocol/index.js";
import { ControlLinkError } from "../protocol/index.js";
import type { AgentCaller, HttpControlLinkOptions } from "./control-link-http.js";
import { linkOver, serverCaller, trustDispatcher } from "./control-link-http.js";
import { HostSecret } from "./host-secret.js";

/** The wait before a call goes to the next server (jittered: between half and all of it). */
export const SWITCH_BACKOFF: Backoff = { firstMs: 500, maxMs: 4_000 };

export interface FailoverControlLinkOptions extends Omit<HttpControlLinkOptions, "serverUrl"> {
  /** The servers, in the order they are tried; the first is current at start. */
  readonly serverUrls: readonly string[];
  readonly clock?: Pick<Clock, "sleep">;
  readonly switchBackoff?: Backoff;
  /** Where the jitter draws from (tests pass a fixed one). */
  readonly random?: () => number;
  readonly logger?: Pick<Logger, "warn">;
}

export interface FailoverControlLink extends ControlPlaneLink {
  /** The server calls go to now. */
  readonly currentServer: string;
}

/**
 * Whether a failed call should be tried on another server: the server is gone or failing, or what
 * answered is not a Berth server. A refusal in Berth's words (a 4xx with its error code) stands,
 * since every replica would answer the same — except for `register`, where a refusal from one
 * server (say, one that is misconfigured, or not the one it claims) must not keep the host out of
 * a fleet the others would let it into.
 */
export function worthAnotherServer(call: AgentCall, error: unknown): boolean {
  if (!(error instanceof ControlLinkError)) return false;
  if (error.status === 0 || error.status >= 500 || error.status === 429) return true;
  if (error.code === undefined) return true;
  return call === "register";
}

export function createFailoverControlLink(options: FailoverControlLinkOptions): FailoverControlLink {
  if (options.serverUrls.length === 0) throw new Error("a control link needs at least one server");
  const secret = new HostSecret(options.secretFile);
  const dispatcher = trustDispatcher(options.ca);
  const servers = options.serverUrls.map((url) => ({ url, call: serverCaller(url, { ...options, secret, ...(dispatcher ? { dispatcher } : {}) }) }));
  const rotation = new ServerRotation(servers, options);
  return {
    ...linkOver(rotation.call, secret),
    get currentServer() {
      return rotation.currentServer;
    },
  };
}

const never = new AbortController().signal;

/** Which server is current, and a call that moves on from a failing one. */
class ServerRotation {
  private current = 0;
  /** The server whose generation the agent's next poll carries. */
  private pollAnsweredBy: number | undefined;

  constructor(
    private readonly servers: readonly { readonly url: string; readonly call: AgentCaller }[],
    private readonly options: Pick<FailoverControlLinkOptions, "clock" | "switchBackoff" | "random" | "logger">,
  ) {}

  get currentServer(): string {
    return this.servers[this.current]!.url;
  }

  readonly call: AgentCaller = async (name, body, signal) => {
    let lastError: unknown;
    let index = this.current;
    const attempt = async () => {
      index = this.current;
      const sent = name === "poll" && this.pollAnsweredBy !== index ? { ...body, knownGeneration: -1 } : body;
      try {
        const answer = await this.servers[index]!.call(name, sent, signal);
        if (name === "poll") this.pollAnsweredBy = index;
        return answer;
      } catch (error) {
        lastError = error;
        throw error;
      }
    };
    const result = await retryWithBackoff(attempt, {
      clock: this.options.clock ?? systemClock,
      signal: signal ?? never,
      backoff: this.options.switchBackoff ?? SWITCH_BACKOFF,
      jitter: true,
      ...(this.options.random ? { random: this.options.random } : {}),
      onFailure: (error, failed) => {
        if (!worthAnotherServer(name, error)) return "give-up";
        this.switchFrom(index, error);
        // Each server once per call; past that the caller's own backoff paces the next round.
        return failed.attempt < this.servers.length ? "wait" : "give-up";
      },
    });
    if (result.stopped) throw lastError ?? signal?.reason;
    return result.value;
  };

  /** Moves on from server `index`, unless another call already did (one switch per failure). */
  private switchFrom(index: number, error: unknown): void {
    if (this.current !== index || this.servers.length === 1) return;
    this.current = (index + 1) % this.servers.length;
    this.options.logger?.warn(
      { err: error, from: this.servers[index]!.url, to: this.currentServer },
      "the control plane server failed; the agent moves to the next server of its list",
    );
  }
}
