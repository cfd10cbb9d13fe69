// The failover link against real HTTP servers on loopback that share one fake control plane (as
// replicas share one store): one killed in the middle of a call, one answering 503. Each report
// and log line must be applied exactly once however the switch falls.
import { EMPTY_NETWORK_VIEW } from "../protocol/index.js";
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AGENT_ROUTE_PREFIX, HOST_NOT_REGISTERED, protocolVersion } from "../protocol/index.js";
import type { LogBatch, RegisterRequest, TaskStatusReport } from "../protocol/index.js";
import { createFailoverControlLink } from "./control-link-failover.js";
import type { FailoverControlLinkOptions } from "./control-link-failover.js";
import { ControlLinkError } from "./control-link-http.js";

const TOKEN = "join-token";
const SECRET = "host-secret-1";

/** What the replicas share: a task's applied report sequence and each stream's stored log offsets, as the store keeps them. */
class SharedState {
  readonly applied: { taskArn: string; sequence: number }[] = [];
  readonly sequences = new Map<string, number>();
  readonly storedOffsets: number[] = [];
  report(reports: TaskStatusReport[]) {
    for (const report of reports) {
      if (report.sequence <= (this.sequences.get(report.taskArn) ?? 0)) continue; // apply-task-report's rule
      this.sequences.set(report.taskArn, report.sequence);
      this.applied.push({ taskArn: report.taskArn, sequence: report.sequence });
    }
  }
  logs(batches: LogBatch[]) {
    const upTo = this.storedOffsets.at(-1) ?? -1;
    for (const event of batches.flatMap((batch) => batch.events)) if (event.offset! > upTo) this.storedOffsets.push(event.offset!); // the store's rule
  }
}

type Call = { name: string; body: Record<string, unknown>; request: IncomingMessage; response: ServerResponse };
/** Answers a call the way the agent route does; `intercept` may answer it otherwise (return true). */
type Intercept = (call: Call) => boolean | Promise<boolean>;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function replica(state: SharedState, intercept: Intercept = () => false) {
  const calls: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const name = (request.url ?? "").slice(AGENT_ROUTE_PREFIX.length);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      calls.push(name);
      void (async () => {
        if (await intercept({ name, body, request, response })) return;
        answer(state, name, body, request, response);
      })();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, server };
}

function answer(state: SharedState, name: string, body: Record<string, unknown>, request: IncomingMessage, response: ServerResponse) {
  const json = (status: number, value: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
  if (name === "register") {
    if (request.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { code: "Unauthorized", message: "A valid agent join token is required." });
    return json(200, { hostId: body.hostId, hostSecret: SECRET, heartbeatIntervalMs: 1_000, subnets: [] });
  }
  if (request.headers.authorization !== `Bearer ${SECRET}`) return json(401, { code: HOST_NOT_REGISTERED, message: "not registered" });
  if (name === "report") state.report(body.reports as TaskStatusReport[]);
  if (name === "logs") state.logs(body.batches as LogBatch[]);
  if (name === "poll") return json(200, { generation: 7, tasks: [], network: EMPTY_NETWORK_VIEW });
  return json(200, {});
}

/** A clock that records each backoff and does not wait for it. */
function recordingClock() {
  const sleeps: number[] = [];
  return { sleeps, clock: { sleep: async (ms: number) => void sleeps.push(ms) } };
}

function link(urls: string[], clock: FailoverControlLinkOptions["clock"], extra: Partial<FailoverControlLinkOptions> = {}) {
  // random() = 1: the jittered wait is the whole backoff, so the test can name it.
  return createFailoverControlLink({ serverUrls: urls, token: TOKEN, clock, random: () => 1, switchBackoff: { firstMs: 40, maxMs: 100 }, ...extra });
}

const identity: RegisterRequest = {
  protocolVersion,
  hostId: "host-1",
  agentVersion: "test",
  availabilityZone: "us-east-1a",
  architecture: "X86_64",
  capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 200 },
  machine: { cpuCount: 2, memoryMiB: 4096 },
  overcommit: false,
  subnetIds: [],
};

const report = (sequence: number): TaskStatusReport => ({
  protocolVersion,
  taskArn: "arn:aws:ecs:us-east-1:123456789012:task/demo/t1",
  lastStatus: "RUNNING",
  desiredStatus: "RUNNING",
  sequence,
  health: "UNKNOWN",
  containers: [],
});

test("a server killed mid-call: the report whose answer was lost goes to the next server, is applied once, and the agent stays there", async () => {
  const state = new SharedState();
  // A applies report 3 and dies before answering: the request was sent, its answer is lost.
  const a = await replica(state, ({ name, body, request }) => {
    if (name !== "report" || (body.reports as TaskStatusReport[])[0]!.sequence !== 3) return false;
    state.report(body.reports as TaskStatusReport[]);
    request.socket.destroy();
    a.server.close();
    return true;
  });
  const b = await replica(state);
  const { sleeps, clock } = recordingClock();
  const failover = link([a.url, b.url], clock);
  await failover.register(identity);
  for (let sequence = 1; sequence <= 6; sequence++) await failover.report("host-1", { reports: [report(sequence)] });
  await failover.heartbeat("host-1");

  assert.deepEqual(
    state.applied.map((applied) => applied.sequence),
    [1, 2, 3, 4, 5, 6],
    "every report applied, each once",
  );
  assert.deepEqual(a.calls, ["register", "report", "report", "report"]);
  assert.deepEqual(b.calls, ["report", "report", "report", "report", "heartbeat"], "report 3 again, then everything: no call goes back to A");
  assert.deepEqual(sleeps, [40], "one backoff before the switch");
  assert.equal(failover.currentServer, b.url);
});

test("servers answering 503: the call moves on with a doubling backoff; a round of failures goes to the caller, and the next call starts where it stopped", async () => {
  const state = new SharedState();
  let cUp = true;
  const unavailable: Intercept = ({ response }) => {
    response
      .writeHead(503, { "content-type": "application/json" })
      .end(JSON.stringify({ code: "ServiceUnavailable", message: "The control plane is shutting down." }));
    return true;
  };
  const a = await replica(state, unavailable);
  const b = await replica(state, unavailable);
  const c = await replica(state, (call) => (cUp ? false : unavailable(call)));
  const { sleeps, clock } = recordingClock();
  const failover = link([a.url, b.url, c.url], clock);
  await failover.register(identity);
  assert.equal(failover.currentServer, c.url);
  assert.deepEqual(sleeps, [40, 80], "the backoff doubles from one server to the next");

  cUp = false;
  await assert.rejects(
    failover.report("host-1", { reports: [report(1)] }),
    (error: unknown) => error instanceof ControlLinkError && error.status === 503 && /shutting down/.test(error.message),
  );
  assert.deepEqual(sleeps, [40, 80, 40, 80], "each server once, then the error: the caller's backoff paces the next round");
  assert.deepEqual(
    [a.calls, b.calls, c.calls],
    [
      ["register", "report"],
      ["register", "report"],
      ["register", "report"],
    ],
  );
  // C, A, B failed in that order: the next call starts on the one after B.
  assert.equal(failover.currentServer, c.url, "the next call starts on the server after the one that failed last");
  assert.deepEqual(state.applied, []);
});

test("a Berth refusal stands on the server that gave it: 'not registered' is answered by registering there, not by switching", async () => {
  const state = new SharedState();
  let forgotten = true;
  // B lost the host (its registration was reaped): it says so in Berth's words.
  const a = await replica(state, ({ request }) => (request.socket.destroy(), true));
  const b = await replica(state, ({ name, response }) => {
    if (name !== "heartbeat" || !forgotten) return false;
    response.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ code: HOST_NOT_REGISTERED, message: "not registered" }));
    return true;
  });
  const { clock } = recordingClock();
  const failover = link([a.url, b.url], clock);
  await failover.register(identity);
  await assert.rejects(failover.heartbeat("host-1"), (error: unknown) => error instanceof ControlLinkError && error.code === HOST_NOT_REGISTERED);
  assert.equal(failover.currentServer, b.url);
  forgotten = false;
  await failover.register(identity);
  await failover.heartbeat("host-1");
  assert.deepEqual(a.calls, ["register"]);
  assert.deepEqual(b.calls, ["register", "heartbeat", "register", "heartbeat"]);
});

test("a poll carries its generation only to the server that gave it; another server is asked for the full list", async () => {
  const state = new SharedState();
  const generations: { server: string; known: unknown }[] = [];
  let aUp = true;
  const recording =
    (server: string): Intercept =>
    ({ name, body, request }) => {
      if (name === "poll") generations.push({ server, known: body.knownGeneration });
      if (server === "a" && !aUp) return (request.socket.destroy(), true);
      return false;
    };
  const a = await replica(state, recording("a"));
  const b = await replica(state, recording("b"));
  const { clock } = recordingClock();
  const failover = link([a.url, b.url], clock);
  await failover.register(identity);
  assert.equal((await failover.poll("host-1", -1)).generation, 7);
  await failover.poll("host-1", 7);
  aUp = false;
  await failover.poll("host-1", 7);
  await failover.poll("host-1", 7);
  assert.deepEqual(generations, [
    { server: "a", known: -1 },
    { server: "a", known: 7 },
    { server: "a", known: 7 },
    { server: "b", known: -1 },
    { server: "b", known: 7 },
  ]);
  assert.equal(b.calls.length, 2);
});

test("log batches across a switch: a part whose answer was lost is sent again to the next server and every line is stored once", async () => {
  const state = new SharedState();
  let logCalls = 0;
  // A stores the second part of the batch and dies before answering.
  const a = await replica(state, ({ name, body, request }) => {
    if (name !== "logs" || ++logCalls !== 2) return false;
    state.logs(body.batches as LogBatch[]);
    request.socket.destroy();
    a.server.close();
    return true;
  });
  const b = await replica(state);
  const { clock } = recordingClock();
  const failover = link([a.url, b.url], clock);
  await failover.register(identity);
  // 25,000 lines: three parts of at most 10,000 (the protocol's per-batch limit).
  const events = Array.from({ length: 25_000 }, (_, offset) => ({ timestamp: 1_700_000_000_000 + offset, message: `line ${offset}`, offset }));
  const batch: LogBatch = { taskArn: report(1).taskArn, containerName: "app", logGroupName: "/ecs/app", logStreamName: "app/t1", createGroup: true, events };
  await failover.putLogs("host-1", [batch]);
  assert.equal(state.storedOffsets.length, 25_000, "no line lost, none stored twice");
  assert.deepEqual(state.storedOffsets.slice(9_998, 10_002), [9_998, 9_999, 10_000, 10_001]);
  assert.deepEqual(b.calls, ["logs", "logs"], "the lost part again (dropped as stored), then the last part");
});

test("with one server the link is the plain link: a failure is the caller's at once, without a wait", async () => {
  const state = new SharedState();
  const a = await replica(state, ({ request }) => (request.socket.destroy(), true));
  const { sleeps, clock } = recordingClock();
  const failover = link([a.url], clock);
  await assert.rejects(
    failover.register(identity),
    (error: unknown) => error instanceof ControlLinkError && error.status === 0 && error.message.includes(a.url),
  );
  assert.deepEqual(sleeps, []);
  assert.equal(failover.currentServer, a.url);
});

test("the caller's abort (agent shutdown) ends a call at once and moves to no other server", async () => {
  const state = new SharedState();
  const a = await replica(state, ({ name }) => name === "poll"); // holds every poll, never answers
  const b = await replica(state);
  const { sleeps, clock } = recordingClock();
  const failover = link([a.url, b.url], clock);
  await failover.register(identity);
  const stop = new AbortController();
  const polling = failover.poll("host-1", -1, stop.signal);
  setTimeout(() => stop.abort(), 50);
  await assert.rejects(polling, (error: Error) => error.name === "AbortError");
  assert.deepEqual(b.calls, []);
  assert.deepEqual(sleeps, []);
  assert.equal(failover.currentServer, a.url);
});
