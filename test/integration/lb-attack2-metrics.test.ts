// Attacker review (h8) of the load balancer metrics (17e676d, a877cb9, e5b6ec0), as the host that
// runs the node (the only one whose metrics are kept). Written against the intended behaviour: each
// test fails while its finding stands.
//
//   1. minutes are accepted back to CloudWatch's 15 days whatever the load balancer's age: a host
//      given a node writes the history of minutes before the load balancer (or its node there)
//      existed; one call of 10,000 entries on 10,000 distinct minutes makes 10,000 rows
//   2. parts of one minute are added without bound: 10,000 entries of count 1e15 in one call make
//      the row's sample_count 1e19 (over bigint's 9.2e18: SQLite turns it into a REAL and loses
//      every later count; PostgreSQL refuses every later call touching that row)
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { MAX_LOAD_BALANCER_METRICS_PER_CALL } from "../../src/protocol/index.js";
import type { LoadBalancerMetric } from "../../src/protocol/index.js";
import { openStore } from "../../src/store/index.js";
import { startTestServer, testServerStore } from "../support/server.js";
import type { TestServer } from "../support/server.js";
import { elbv2Fixture } from "../support/elbv2-fixtures.js";
import { nodeOf, protocolHost } from "./lb-attack-support.js";
import type { ProtocolHost } from "./lb-attack-support.js";

async function setUp(t: TestContext): Promise<{ server: TestServer; runner: ProtocolHost; lbArn: string; createdAt: number }> {
  const server = await startTestServer();
  t.after(async () => {
    await server.stop();
    await server.cleanup();
  });
  const f = await elbv2Fixture(server);
  const host = await protocolHost(server, "h-lbattack2-metrics", f.subnets[0]!.zone);
  t.after(() => host.stop());
  const createdAt = Date.now();
  const lbArn = (await f.elb.send(new CreateLoadBalancerCommand({ Name: "young", Type: "network", Subnets: [f.subnets[0]!.id] }))).LoadBalancers![0]!
    .LoadBalancerArn!;
  const groupArn = (await f.elb.send(new CreateTargetGroupCommand({ Name: "young", Protocol: "TCP", Port: 80, VpcId: f.vpcId, TargetType: "ip" })))
    .TargetGroups![0]!.TargetGroupArn!;
  await f.elb.send(
    new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "TCP", Port: 80, DefaultActions: [{ Type: "forward", TargetGroupArn: groupArn }] }),
  );
  await host.pollUntil((answer) => nodeOf(answer, lbArn) !== undefined);
  return { server, runner: host, lbArn, createdAt };
}

async function rows(server: TestServer) {
  const store = await openStore(testServerStore(server.dataDir).location);
  try {
    return await store.elbMetrics.aggregates("AWS/NetworkELB", "NewFlowCount");
  } finally {
    await store.close();
  }
}

const flows = (lbArn: string, minute: number, n: number): LoadBalancerMetric => ({
  loadBalancerArn: lbArn,
  metricName: "NewFlowCount",
  minute,
  sum: n,
  count: n,
  min: 1,
  max: 1,
});

test(
  "h8-m1: a load balancer created a moment ago gets no metrics for the days before it existed (one call, 10,000 minutes of history)",
  { timeout: 90_000 },
  async (t) => {
    const { server, runner, lbArn, createdAt } = await setUp(t);
    const thisMinute = Math.floor(Date.now() / 60_000) * 60_000;
    const history = Array.from({ length: MAX_LOAD_BALANCER_METRICS_PER_CALL }, (_, i) => flows(lbArn, thisMinute - (i + 1) * 60_000, 1));
    const started = Date.now();
    await runner.link.loadBalancerMetrics!(runner.hostId, { metrics: history });
    const took = Date.now() - started;
    const kept = await rows(server);
    // Two minutes before the creation are allowed for a host's clock a little off (src/control/load-balancer-metrics.ts).
    const beforeCreation = kept.filter((row) => row.minute + 60_000 + 2 * 60_000 <= createdAt);
    assert.equal(
      beforeCreation.length,
      0,
      `${beforeCreation.length} rows kept for minutes before the load balancer existed (oldest ${new Date(kept[0]?.minute ?? 0).toISOString()}); the call took ${took} ms`,
    );
  },
);

test("h8-m2: one minute's parts cannot add up past what a count can hold: the row stays exact for the next honest part", { timeout: 90_000 }, async (t) => {
  const { server, runner, lbArn } = await setUp(t);
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const flood = Array.from({ length: MAX_LOAD_BALANCER_METRICS_PER_CALL }, () => flows(lbArn, minute, 1e15));
  let floodError: unknown;
  await runner.link.loadBalancerMetrics!(runner.hostId, { metrics: flood }).catch((error: unknown) => (floodError = error));
  let honestError: unknown;
  await runner.link.loadBalancerMetrics!(runner.hostId, { metrics: [flows(lbArn, minute, 1)] }).catch((error: unknown) => (honestError = error));
  const [row] = await rows(server);
  assert.equal(honestError, undefined, `the next honest part was refused: ${String(honestError)}`);
  assert.ok(
    row !== undefined && Number.isSafeInteger(row.count) && row.sum === row.count,
    `the minute's row after the flood (${floodError === undefined ? "accepted" : String(floodError)}) and one honest flow: ${JSON.stringify(row)}`,
  );
});
