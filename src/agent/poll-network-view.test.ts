// A poll answer's network view is checked apart from its tasks: a view the agent refuses (over its
// limits, malformed) is dropped and logged, the host keeps its network, and its tasks are still
// converged; a view as large as the EC2 API's quotas allow is accepted.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { systemClock } from "../core/clock.js";
import { AGENT_ROUTE_PREFIX, EMPTY_NETWORK_VIEW, NETWORK_VIEW_LIMITS, protocolVersion } from "../protocol/index.js";
import type { HostNetworkView, TaskSpec, TaskStatusReport, TaskStopCode } from "../protocol/index.js";
import type { Agent } from "./agent.js";
import { ControlLinkError, createHttpControlLink } from "./control-link-http.js";
import { AwslogsSink, HostAgent, ReportForwarder } from "./host-agent.js";

const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server that registers anyone and answers every poll with `answer` (later polls after a pause: no spinning). */
async function serverAnswering(answer: unknown): Promise<string> {
  let polls = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const call = (request.url ?? "").slice(AGENT_ROUTE_PREFIX.length);
      const json = (value: unknown) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
      if (call === "register") return json({ hostId: "host-1", hostSecret: "secret-1", heartbeatIntervalMs: 60_000, subnets: [] });
      if (call === "poll") return setTimeout(() => json(answer), polls++ === 0 ? 0 : 200);
      return json({});
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function groups(count: number): Pick<HostNetworkView, "groupMembers"> {
  return { groupMembers: Array.from({ length: count }, (_, i) => ({ groupId: `sg-${i.toString(16)}`, vpcId: "vpc-1", ipv4s: ["10.0.0.5"] })) };
}

const orphanArn = "arn:aws:ecs:us-east-1:123456789012:task/default/orphan";

/** An agent running one task the control plane does not list: converging the tasks stops it. */
class OneTaskAgent implements Agent {
  status: TaskStatusReport = {
    protocolVersion,
    taskArn: orphanArn,
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    sequence: 1,
    health: "UNKNOWN",
    containers: [],
  };
  async start() {}
  async runTask(_spec: TaskSpec): Promise<TaskStatusReport> {
    throw new Error("no task is placed in these tests");
  }
  async stopTask(_taskArn: string, stoppedReason: string, stopCode: TaskStopCode) {
    this.status = { ...this.status, lastStatus: "STOPPED", desiredStatus: "STOPPED", sequence: 2, stopCode, stoppedReason };
    return this.status;
  }
  describe(taskArn: string) {
    return taskArn === orphanArn ? this.status : undefined;
  }
  specOf() {
    return undefined;
  }
  list() {
    return [this.status];
  }
  async whenStopped() {}
  async forget() {
    return false;
  }
  async close() {}
}

async function runHost(answer: unknown) {
  const link = createHttpControlLink({ serverUrl: await serverAnswering(answer), token: "join-token" });
  const agent = new OneTaskAgent();
  const applied: HostNetworkView[] = [];
  const errors: { fields: unknown; message: string }[] = [];
  const logger = { info() {}, error: (fields: unknown, message: string) => void errors.push({ fields, message }) };
  const host = new HostAgent({
    agent,
    link,
    identity: {
      hostId: "host-1",
      agentVersion: "test",
      availabilityZone: "us-east-1a",
      architecture: "X86_64",
      capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 20, ephemeralGiB: 400 },
      machine: { cpuCount: 8, memoryMiB: 16384 },
      overcommit: false,
      subnetIds: [],
    },
    reports: new ReportForwarder(link, systemClock, logger),
    logSink: new AwslogsSink(link, () => undefined),
    clock: systemClock,
    logger,
    applyNetwork: async (view) => void applied.push(view),
  });
  await host.start();
  const deadline = Date.now() + 5_000;
  while (agent.status.lastStatus !== "STOPPED" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await host.close();
  return { agent, applied, errors, link };
}

test("a view over the agent's limits is dropped and logged, and the tasks are still converged", async () => {
  const network = { ...EMPTY_NETWORK_VIEW, ...groups(NETWORK_VIEW_LIMITS.groups + 1) };
  const { agent, applied, errors } = await runHost({ generation: 1, tasks: [], network });
  assert.equal(agent.status.lastStatus, "STOPPED", "the orphan is stopped: the answer's tasks were converged");
  assert.deepEqual(applied, [], "the refused view is never applied: the host keeps its network");
  const logged = errors.find((error) => error.message.includes("network view was refused"));
  assert.ok(logged, `the drop is logged: ${JSON.stringify(errors.map((error) => error.message))}`);
  assert.match(String((logged.fields as { problem?: unknown }).problem), /groupMembers/);
});

test("a malformed or missing view is dropped by the link; a malformed tasks part still fails the call", async () => {
  for (const network of [{ ...EMPTY_NETWORK_VIEW, vpcs: [{ vpcId: "vpc-1; drop table", cidrBlock: "10.0.0.0/16" }] }, undefined, "nope"]) {
    const link = createHttpControlLink({ serverUrl: await serverAnswering({ generation: 4, tasks: [], network }), token: "join-token" });
    await link.register({} as never);
    const answer = await link.poll("host-1", -1);
    assert.deepEqual([answer.generation, answer.tasks, answer.network], [4, [], undefined]);
    assert.equal(typeof answer.networkProblem, "string");
  }
  const link = createHttpControlLink({ serverUrl: await serverAnswering({ generation: 4, tasks: [{}], network: EMPTY_NETWORK_VIEW }), token: "join-token" });
  await link.register({} as never);
  await assert.rejects(link.poll("host-1", -1), (error: unknown) => error instanceof ControlLinkError && error.status === 502);
});

test("a view naming as many groups as the API's quotas allow (5 VPCs x 2,500) is applied", async () => {
  assert.ok(NETWORK_VIEW_LIMITS.groups >= 12_500);
  const network = { ...EMPTY_NETWORK_VIEW, ...groups(12_500) };
  const { agent, applied } = await runHost({ generation: 1, tasks: [], network });
  assert.equal(agent.status.lastStatus, "STOPPED");
  assert.equal(applied[0]?.groupMembers.length, 12_500);
});
