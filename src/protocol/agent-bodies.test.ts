import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLogsBody, parsePollBody, parseRegisterBody, parseReportBody } from "./agent-bodies.js";
import type { HostNetworkView } from "./network-view.js";
import { EMPTY_NETWORK_VIEW } from "./network-view.js";
import { MAX_LOG_BATCH_MESSAGE_BYTES, MAX_LOG_EVENTS_PER_BATCH, PollResponseSchema, RegisterResponseSchema } from "./agent-api.js";
import { compileCheck } from "./schema-check.js";
import type { TaskStatusReport } from "./task-status.js";
import { boundedReport, MAX_REASON_CHARS } from "./task-status.js";
import { callFailureKind, ControlLinkError } from "./call-failure.js";
import { AwsError } from "../core/errors.js";

const report = { protocolVersion: 1, taskArn: "arn:task/1", lastStatus: "RUNNING", desiredStatus: "RUNNING", sequence: 1, health: "UNKNOWN", containers: [] };
const container = { name: "app", lastStatus: "RUNNING", health: "UNKNOWN", essential: true, image: "x", networkInterfaces: [] };
const batch = {
  taskArn: "arn:task/1",
  containerName: "app",
  logGroupName: "/ecs/app",
  logStreamName: "ecs/app/1",
  createGroup: false,
  events: [{ timestamp: 1, message: "m" }],
};
const problem = (checked: { ok: boolean; problem?: string }) => (checked.ok ? undefined : checked.problem);

test("a report names the field that is wrong, with its place in the body", () => {
  assert.equal(parseReportBody({ reports: [report] }).ok, true);
  assert.equal(parseReportBody({}).ok, true, "no reports is an empty report");
  assert.equal(problem(parseReportBody({ reports: [report, { ...report, sequence: "2" }] })), "reports[1].sequence must be a whole number.");
  assert.equal(problem(parseReportBody({ reports: [{ ...report, sequence: 2 ** 40 }] })), `reports[0].sequence must be at most ${2 ** 31 - 1}.`);
  assert.match(problem(parseReportBody({ reports: [{ ...report, lastStatus: "BOGUS" }] }))!, /^reports\[0\]\.lastStatus must be one of PROVISIONING, PENDING/);
  assert.equal(
    problem(parseReportBody({ reports: [{ ...report, containers: [{ ...container, networkInterfaces: {} }] }] })),
    "reports[0].containers[0].networkInterfaces must be a list.",
  );
  assert.equal(
    problem(parseReportBody({ reports: [{ ...report, stopCode: "Bored" }] }))?.startsWith("reports[0].stopCode must be one of TaskFailedToStart"),
    true,
  );
  assert.equal(problem(parseReportBody({ reports: [{ ...report, stoppedAtMs: 1e20 }] })), "reports[0].stoppedAtMs must be at most 253402300799999.");
  assert.equal(problem(parseReportBody({ reports: "abc" })), "reports must be a list.");
});

test("a registration must carry its machine; its values are the Fleet's to judge", () => {
  const { machine: _machine, ...withoutMachine } = {
    protocolVersion: 1,
    hostId: "h",
    agentVersion: "1",
    availabilityZone: "az",
    architecture: "X86_64",
    capacity: { cpuUnits: 1.5, memoryMiB: 1, taskSlots: 1, ephemeralGiB: 0 },
    machine: { cpuCount: 1, memoryMiB: 1 },
    overcommit: false,
    subnetIds: [],
  };
  assert.equal(problem(parseRegisterBody(withoutMachine)), "machine must be given.");
  assert.equal(parseRegisterBody({ ...withoutMachine, machine: { cpuCount: 1, memoryMiB: 1 } }).ok, true, "a fractional capacity passes the shape check");
  assert.equal(
    problem(parseRegisterBody({ ...withoutMachine, machine: { cpuCount: 1, memoryMiB: 1 }, architecture: "MIPS" })),
    "architecture must be one of X86_64, ARM64.",
  );
});

test("log batches are held to the event and byte limits", () => {
  assert.equal(parseLogsBody({ batches: [batch] }).ok, true);
  const events = Array.from({ length: MAX_LOG_EVENTS_PER_BATCH + 1 }, () => ({ timestamp: 1, message: "m" }));
  assert.equal(
    problem(parseLogsBody({ batches: [{ ...batch, events }] })),
    `batches[0].events has more than ${MAX_LOG_EVENTS_PER_BATCH} items; at most ${MAX_LOG_EVENTS_PER_BATCH}.`,
  );
  const big = Array.from({ length: 3 }, () => ({ timestamp: 1, message: "m".repeat(400 * 1024) }));
  assert.match(
    problem(parseLogsBody({ batches: [{ ...batch, events: big }] }))!,
    new RegExp(`^batches\\[0\\]: the batch has more than ${MAX_LOG_BATCH_MESSAGE_BYTES} bytes`),
  );
  assert.equal(
    problem(parseLogsBody({ batches: [{ ...batch, events: [{ timestamp: -1, message: "m" }] }] })),
    "batches[0].events[0].timestamp must be at least 0.",
  );
  assert.equal(
    problem(parseLogsBody({ batches: [{ ...batch, events: [{ timestamp: 1, message: "m", offset: "1" }] }] })),
    "batches[0].events[0].offset must be a whole number.",
  );
  assert.equal(problem(parsePollBody({ knownGeneration: null })), "knownGeneration must be a number.");
});

test("a failed call is retried, refused for good, or answered by registering again", () => {
  assert.equal(callFailureKind(new ControlLinkError("x", 401)), "register-again");
  assert.equal(callFailureKind(new ControlLinkError("x", 400, "BadRequest")), "permanent");
  assert.equal(callFailureKind(new ControlLinkError("x", 429)), "retryable");
  assert.equal(callFailureKind(new ControlLinkError("x", 503)), "retryable");
  assert.equal(callFailureKind(new AwsError("HostNotRegistered", "gone")), "register-again", "the embedded agent gets the Fleet's own error");
  assert.equal(callFailureKind(new AwsError("ResourceNotFoundException", "no group")), "permanent");
  assert.equal(callFailureKind(new AwsError("ServerException", "boom", { httpStatus: 500 })), "retryable");
  assert.equal(callFailureKind(new TypeError("fetch failed")), "retryable");
});

test("a huge wrong body is refused at the cost of its check: the first problem is found without listing every error", () => {
  // Four million wrong items (about 8 MiB of JSON, the route's body limit): listing every error
  // would hold gigabytes and stall the server for seconds; narrowing answers from the list's length.
  const items = new Array<number>(4_000_000).fill(0);
  const started = process.hrtime.bigint();
  assert.equal(problem(parseReportBody({ reports: items })), "reports has more than 10000 items; at most 10000.");
  assert.equal(problem(parseLogsBody({ batches: [{ ...batch, events: items }] })), "batches[0].events has more than 10000 items; at most 10000.");
  const withinLimit = new Array<unknown>(10_000).fill(report);
  withinLimit[9_999] = 0;
  assert.equal(problem(parseReportBody({ reports: withinLimit })), "reports[9999] must be an object.");
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  // A generous bound on a shared machine; the unbounded listing took about 2,700 ms per body.
  assert.ok(elapsedMs < 1_000, `checked in ${elapsedMs} ms`);
});

test("reports carry bounded strings and lists, and the agent cuts its reasons to fit", () => {
  const long = "x".repeat(MAX_REASON_CHARS + 1);
  assert.match(problem(parseReportBody({ reports: [{ ...report, stoppedReason: long }] }))!, /^reports\[0\]\.stoppedReason /);
  assert.match(problem(parseReportBody({ reports: [{ ...report, containers: new Array(11).fill(container) }] }))!, /containers has more than 10 items/);
  const bounded = boundedReport({ ...report, stoppedReason: long, containers: [{ ...container, reason: long }] } as TaskStatusReport);
  assert.equal(bounded.stoppedReason!.length, MAX_REASON_CHARS);
  assert.equal(bounded.containers[0]!.reason!.length, MAX_REASON_CHARS);
  assert.equal(parseReportBody({ reports: [bounded] }).ok, true);
});

test("a server's answers are held to plain task ids and a sane heartbeat", () => {
  const poll = compileCheck(PollResponseSchema);
  const desired = (taskId: string, network: HostNetworkView = EMPTY_NETWORK_VIEW) => ({
    generation: 1,
    tasks: [{ spec: { taskArn: "arn:task/1", taskId, taskDefinition: {} }, desiredStatus: "RUNNING" }],
    network,
  });
  assert.equal(poll.parse(desired("0123456789abcdef0123456789abcdef")).ok, true);
  for (const hostile of ["x\nrule flush", "../../etc", "a/b", ""]) assert.equal(poll.parse(desired(hostile)).ok, false, JSON.stringify(hostile));
  // The view's names and addresses end up in nft and ip input: only plain ids and dotted quads pass.
  const group = (groupId: string, cidr: string) => ({
    groupId,
    vpcId: "vpc-1",
    ingress: [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrs: [cidr], groupIds: [] }],
    egress: [],
  });
  const withGroup = (groupId: string, cidr: string) => desired("t1", { ...EMPTY_NETWORK_VIEW, securityGroups: [group(groupId, cidr)] } as HostNetworkView);
  assert.equal(poll.parse(withGroup("sg-0123abcd", "10.0.0.0/8")).ok, true);
  for (const [groupId, cidr] of [
    ["sg-1; flush ruleset", "10.0.0.0/8"],
    ["sg-1", "10.0.0.0/8 } ; flush ruleset"],
    ["sg-1", "10.0.0.0/33"],
    ["sg-1", "256.0.0.0/8"],
    ['sg-1"', "10.0.0.0/8"],
  ])
    assert.equal(poll.parse(withGroup(groupId!, cidr!)).ok, false, `${groupId} ${cidr}`);
  const register = compileCheck(RegisterResponseSchema);
  const answer = { hostId: "h", hostSecret: "s", heartbeatIntervalMs: 5_000, subnets: [] };
  assert.equal(register.parse(answer).ok, true);
  for (const heartbeatIntervalMs of [1, 99, 2 ** 31, 1.5])
    assert.equal(register.parse({ ...answer, heartbeatIntervalMs }).ok, false, String(heartbeatIntervalMs));
});
