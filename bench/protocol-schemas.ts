// What validating the agent protocol's bodies costs with each schema library considered in issue 10
// (valibot, zod, TypeBox), against the same-run baseline of the hand-written checks they replace
// (bench/protocol-schemas-baseline.ts) and of JSON.parse of the same body (which the route pays
// anyway). Bodies: a report of 50 tasks of 2 containers each (the hot path: every agent sends one
// per burst of state changes), a registration, and a logs call of 1,000 lines.
//   npm install --no-save zod valibot   # the candidates not chosen are not dependencies
//   node --import tsx bench/protocol-schemas.ts
// A candidate that is not installed is skipped. "as shipped" is src/protocol's own schemas.
/* eslint-disable @typescript-eslint/no-explicit-any -- candidates are imported by name at run time, so that the bench runs without the ones not chosen */
import { protocolVersion, taskLifecycle } from "../src/protocol/index.js";
import { parseLogsBody, parseRegisterBody, parseReportBody } from "../src/protocol/index.js";
import {
  MAX_LOG_BATCH_MESSAGE_BYTES,
  MAX_LOG_EVENTS_PER_BATCH,
  MAX_REPORTS_PER_CALL,
  MAX_TIMESTAMP_MS,
  isRegisterShaped,
  logsBodyProblem,
  reportBodyProblem,
} from "./protocol-schemas-baseline.js";

// --- the bodies -------------------------------------------------------------------------------

const now = Date.now();
const container = (name: string, index: number) => ({
  name,
  runtimeId: `task-${index}-${name}`,
  lastStatus: "RUNNING",
  health: "HEALTHY",
  essential: name === "app",
  image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}:latest`,
  imageDigest: `sha256:${"ab".repeat(32)}`,
  networkInterfaces: [{ attachmentId: `attachment-${index}`, privateIpv4Address: `10.0.${index >> 8}.${index & 255}` }],
});
const report = (index: number) => ({
  protocolVersion,
  taskArn: `arn:aws:ecs:us-east-1:123456789012:task/default/${index.toString(16).padStart(32, "0")}`,
  lastStatus: "RUNNING",
  desiredStatus: "RUNNING",
  sequence: 7,
  health: "HEALTHY",
  pullStartedAtMs: now - 5000,
  pullStoppedAtMs: now - 4000,
  connectivityAtMs: now - 4500,
  startedAtMs: now - 3000,
  attachment: {
    type: "ElasticNetworkInterface",
    status: "ATTACHED",
    subnetId: "subnet-0",
    networkInterfaceId: `eni-${index}`,
    macAddress: "0a:58:0a:00:00:01",
    privateDnsName: `ip-10-0-0-${index & 255}.ec2.internal`,
    privateIPv4Address: `10.0.0.${index & 255}`,
  },
  containers: [container("app", index), container("sidecar", index)],
});
const bodies = {
  report: JSON.stringify({ hostId: "host-1", reports: Array.from({ length: 50 }, (_, index) => report(index)) }),
  register: JSON.stringify({
    protocolVersion,
    hostId: "host-1",
    agentVersion: "0.1.0",
    availabilityZone: "us-east-1a",
    architecture: "X86_64",
    capacity: { cpuUnits: 8192, memoryMiB: 16384, taskSlots: 100, ephemeralGiB: 2000 },
    machine: { cpuCount: 8, memoryMiB: 16384 },
    overcommit: false,
    subnetIds: ["subnet-0", "subnet-1"],
  }),
  logs: JSON.stringify({
    hostId: "host-1",
    batches: [
      {
        taskArn: "arn:aws:ecs:us-east-1:123456789012:task/default/1",
        containerName: "app",
        logGroupName: "/ecs/app",
        logStreamName: "ecs/app/1",
        createGroup: true,
        events: Array.from({ length: 1000 }, (_, index) => ({
          timestamp: now + index,
          message: `GET /items/${index} 200 ${index % 97} ms`,
          offset: index * 40,
        })),
      },
    ],
  }),
};
type Call = keyof typeof bodies;
type Validate = (body: Record<string, unknown>) => boolean;

// --- the candidates, each written as the product would write it ----------------------------------

const MAX_SEQUENCE = 2 ** 31 - 1;
const messageBytes = (events: readonly { message: string }[]) => events.reduce((sum, event) => sum + Buffer.byteLength(event.message, "utf8"), 0);
const eniFields = ["subnetId", "networkInterfaceId", "macAddress", "privateDnsName", "privateIPv4Address"] as const;

function valibotCandidate(v: any): Record<Call, Validate> {
  const timestamp = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(MAX_TIMESTAMP_MS));
  const health = v.picklist(["HEALTHY", "UNHEALTHY", "UNKNOWN"]);
  const containerSchema = v.object({
    name: v.string(),
    runtimeId: v.optional(v.string()),
    lastStatus: v.picklist(["PENDING", "RUNNING", "STOPPED"]),
    exitCode: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(-(2 ** 31)), v.maxValue(2 ** 32))),
    reason: v.optional(v.string()),
    health,
    essential: v.boolean(),
    image: v.string(),
    imageDigest: v.optional(v.string()),
    networkInterfaces: v.array(v.object({ attachmentId: v.string(), privateIpv4Address: v.string() })),
  });
  const reportSchema = v.object({
    protocolVersion: v.number(),
    taskArn: v.string(),
    lastStatus: v.picklist(taskLifecycle),
    desiredStatus: v.picklist(["RUNNING", "STOPPED"]),
    sequence: v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(MAX_SEQUENCE)),
    health,
    ...Object.fromEntries(
      ["pullStartedAtMs", "pullStoppedAtMs", "connectivityAtMs", "startedAtMs", "stoppingAtMs", "executionStoppedAtMs", "stoppedAtMs"].map((name) => [
        name,
        v.optional(timestamp),
      ]),
    ),
    stopCode: v.optional(v.string()),
    stoppedReason: v.optional(v.string()),
    attachment: v.optional(
      v.object({
        type: v.literal("ElasticNetworkInterface"),
        status: v.picklist(["PRECREATED", "ATTACHED", "DELETED"]),
        ...Object.fromEntries(eniFields.map((name) => [name, v.string()])),
      }),
    ),
    containers: v.array(containerSchema),
  });
  const register = v.object({
    protocolVersion: v.number(),
    hostId: v.string(),
    agentVersion: v.string(),
    availabilityZone: v.string(),
    architecture: v.picklist(["X86_64", "ARM64"]),
    capacity: v.object({ cpuUnits: v.number(), memoryMiB: v.number(), taskSlots: v.number(), ephemeralGiB: v.number() }),
    machine: v.object({ cpuCount: v.number(), memoryMiB: v.number() }),
    overcommit: v.boolean(),
    subnetIds: v.array(v.string()),
  });
  const batch = v.pipe(
    v.object({
      taskArn: v.string(),
      containerName: v.string(),
      logGroupName: v.string(),
      logStreamName: v.string(),
      createGroup: v.boolean(),
      events: v.pipe(
        v.array(v.object({ timestamp, message: v.string(), offset: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))) })),
        v.maxLength(MAX_LOG_EVENTS_PER_BATCH),
      ),
    }),
    v.check((b: any) => messageBytes(b.events) <= MAX_LOG_BATCH_MESSAGE_BYTES),
  );
  const reportBody = v.object({ reports: v.optional(v.pipe(v.array(reportSchema), v.maxLength(MAX_REPORTS_PER_CALL))) });
  const logsBody = v.object({ batches: v.optional(v.pipe(v.array(batch), v.maxLength(100))) });
  return {
    report: (body) => v.safeParse(reportBody, body).success,
    register: (body) => v.safeParse(register, body).success,
    logs: (body) => v.safeParse(logsBody, body).success,
  };
}

function zodCandidate(z: any): Record<Call, Validate> {
  const timestamp = z.number().int().min(0).max(MAX_TIMESTAMP_MS);
  const health = z.enum(["HEALTHY", "UNHEALTHY", "UNKNOWN"]);
  const containerSchema = z.object({
    name: z.string(),
    runtimeId: z.string().optional(),
    lastStatus: z.enum(["PENDING", "RUNNING", "STOPPED"]),
    exitCode: z
      .number()
      .int()
      .min(-(2 ** 31))
      .max(2 ** 32)
      .optional(),
    reason: z.string().optional(),
    health,
    essential: z.boolean(),
    image: z.string(),
    imageDigest: z.string().optional(),
    networkInterfaces: z.array(z.object({ attachmentId: z.string(), privateIpv4Address: z.string() })),
  });
  const reportSchema = z.object({
    protocolVersion: z.number(),
    taskArn: z.string(),
    lastStatus: z.enum(taskLifecycle),
    desiredStatus: z.enum(["RUNNING", "STOPPED"]),
    sequence: z.number().int().min(0).max(MAX_SEQUENCE),
    health,
    ...Object.fromEntries(
      ["pullStartedAtMs", "pullStoppedAtMs", "connectivityAtMs", "startedAtMs", "stoppingAtMs", "executionStoppedAtMs", "stoppedAtMs"].map((name) => [
        name,
        timestamp.optional(),
      ]),
    ),
    stopCode: z.string().optional(),
    stoppedReason: z.string().optional(),
    attachment: z
      .object({
        type: z.literal("ElasticNetworkInterface"),
        status: z.enum(["PRECREATED", "ATTACHED", "DELETED"]),
        ...Object.fromEntries(eniFields.map((name) => [name, z.string()])),
      })
      .optional(),
    containers: z.array(containerSchema),
  });
  const register = z.object({
    protocolVersion: z.number(),
    hostId: z.string(),
    agentVersion: z.string(),
    availabilityZone: z.string(),
    architecture: z.enum(["X86_64", "ARM64"]),
    capacity: z.object({ cpuUnits: z.number(), memoryMiB: z.number(), taskSlots: z.number(), ephemeralGiB: z.number() }),
    machine: z.object({ cpuCount: z.number(), memoryMiB: z.number() }),
    overcommit: z.boolean(),
    subnetIds: z.array(z.string()),
  });
  const batch = z
    .object({
      taskArn: z.string(),
      containerName: z.string(),
      logGroupName: z.string(),
      logStreamName: z.string(),
      createGroup: z.boolean(),
      events: z.array(z.object({ timestamp, message: z.string(), offset: z.number().int().min(0).optional() })).max(MAX_LOG_EVENTS_PER_BATCH),
    })
    .refine((b: any) => messageBytes(b.events) <= MAX_LOG_BATCH_MESSAGE_BYTES);
  const reportBody = z.object({ reports: z.array(reportSchema).max(MAX_REPORTS_PER_CALL).optional() });
  const logsBody = z.object({ batches: z.array(batch).max(100).optional() });
  return {
    report: (body) => reportBody.safeParse(body).success,
    register: (body) => register.safeParse(body).success,
    logs: (body) => logsBody.safeParse(body).success,
  };
}

function typeboxCandidate(T: any, compile: (schema: unknown) => { Check(value: unknown): boolean }): Record<Call, Validate> {
  const literals = (values: readonly string[]) => T.Union(values.map((value) => T.Literal(value)));
  const timestamp = T.Integer({ minimum: 0, maximum: MAX_TIMESTAMP_MS });
  const health = literals(["HEALTHY", "UNHEALTHY", "UNKNOWN"]);
  const containerSchema = T.Object({
    name: T.String(),
    runtimeId: T.Optional(T.String()),
    lastStatus: literals(["PENDING", "RUNNING", "STOPPED"]),
    exitCode: T.Optional(T.Integer({ minimum: -(2 ** 31), maximum: 2 ** 32 })),
    reason: T.Optional(T.String()),
    health,
    essential: T.Boolean(),
    image: T.String(),
    imageDigest: T.Optional(T.String()),
    networkInterfaces: T.Array(T.Object({ attachmentId: T.String(), privateIpv4Address: T.String() })),
  });
  const reportSchema = T.Object({
    protocolVersion: T.Number(),
    taskArn: T.String(),
    lastStatus: literals(taskLifecycle),
    desiredStatus: literals(["RUNNING", "STOPPED"]),
    sequence: T.Integer({ minimum: 0, maximum: MAX_SEQUENCE }),
    health,
    ...Object.fromEntries(
      ["pullStartedAtMs", "pullStoppedAtMs", "connectivityAtMs", "startedAtMs", "stoppingAtMs", "executionStoppedAtMs", "stoppedAtMs"].map((name) => [
        name,
        T.Optional(timestamp),
      ]),
    ),
    stopCode: T.Optional(T.String()),
    stoppedReason: T.Optional(T.String()),
    attachment: T.Optional(
      T.Object({
        type: T.Literal("ElasticNetworkInterface"),
        status: literals(["PRECREATED", "ATTACHED", "DELETED"]),
        ...Object.fromEntries(eniFields.map((name) => [name, T.String()])),
      }),
    ),
    containers: T.Array(containerSchema),
  });
  const register = compile(
    T.Object({
      protocolVersion: T.Number(),
      hostId: T.String(),
      agentVersion: T.String(),
      availabilityZone: T.String(),
      architecture: literals(["X86_64", "ARM64"]),
      capacity: T.Object({ cpuUnits: T.Number(), memoryMiB: T.Number(), taskSlots: T.Number(), ephemeralGiB: T.Number() }),
      machine: T.Object({ cpuCount: T.Number(), memoryMiB: T.Number() }),
      overcommit: T.Boolean(),
      subnetIds: T.Array(T.String()),
    }),
  );
  const batch = T.Object({
    taskArn: T.String(),
    containerName: T.String(),
    logGroupName: T.String(),
    logStreamName: T.String(),
    createGroup: T.Boolean(),
    events: T.Array(T.Object({ timestamp, message: T.String(), offset: T.Optional(T.Integer({ minimum: 0 })) }), { maxItems: MAX_LOG_EVENTS_PER_BATCH }),
  });
  const reportBody = compile(T.Object({ reports: T.Optional(T.Array(reportSchema, { maxItems: MAX_REPORTS_PER_CALL })) }));
  const logsBody = compile(T.Object({ batches: T.Optional(T.Array(batch, { maxItems: 100 })) }));
  return {
    report: (body) => reportBody.Check(body),
    register: (body) => register.Check(body),
    // JSON Schema has no byte count of a string: the size limit is a second pass, as the product would do it.
    logs: (body) =>
      logsBody.Check(body) &&
      ((body.batches as { events: { message: string }[] }[] | undefined) ?? []).every((b) => messageBytes(b.events) <= MAX_LOG_BATCH_MESSAGE_BYTES),
  };
}

const optional = async (name: string): Promise<any> => import(name).catch(() => undefined);

async function candidates(): Promise<[string, Record<Call, Validate>][]> {
  const found: [string, Record<Call, Validate>][] = [
    ["JSON.parse alone (no check)", { report: () => true, register: () => true, logs: () => true }],
    [
      "hand-written checks (baseline)",
      { report: (b) => reportBodyProblem(b) === undefined, register: isRegisterShaped, logs: (b) => logsBodyProblem(b) === undefined },
    ],
    ["as shipped (src/protocol)", { report: (b) => parseReportBody(b).ok, register: (b) => parseRegisterBody(b).ok, logs: (b) => parseLogsBody(b).ok }],
  ];
  const valibot = await optional("valibot");
  if (valibot) found.push(["valibot", valibotCandidate(valibot)]);
  const zod = await optional("zod");
  if (zod) found.push(["zod", zodCandidate(zod)]);
  const typebox = await optional("typebox");
  const typeboxCompile = await optional("typebox/compile");
  const typeboxValue = await optional("typebox/value");
  if (typebox && typeboxCompile)
    found.push(["typebox (Compile)", typeboxCandidate(typebox.Type ?? typebox.default, (schema) => typeboxCompile.Compile(schema))]);
  if (typebox && typeboxValue)
    found.push([
      "typebox (Value.Check)",
      typeboxCandidate(typebox.Type ?? typebox.default, (schema) => ({ Check: (value: unknown) => typeboxValue.Value.Check(schema, value) })),
    ]);
  return found;
}

// --- measuring --------------------------------------------------------------------------------

/** Microseconds per call (parse + check), the median of 5 rounds of `iterations` calls. */
function measure(text: string, validate: Validate, iterations: number): number {
  const rounds: number[] = [];
  for (let round = 0; round < 6; round++) {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) {
      if (!validate(JSON.parse(text) as Record<string, unknown>)) throw new Error("a well-formed body was refused");
    }
    if (round > 0) rounds.push(((performance.now() - started) * 1000) / iterations); // round 0 warms up
  }
  return rounds.sort((a, b) => a - b)[2]!;
}

const iterations: Record<Call, number> = { report: 2_000, register: 50_000, logs: 1_000 };
const rows: string[] = [];
let baseline: Record<Call, number> | undefined;
for (const [name, validate] of await candidates()) {
  const figures = Object.fromEntries((Object.keys(bodies) as Call[]).map((call) => [call, measure(bodies[call], validate[call], iterations[call])])) as Record<
    Call,
    number
  >;
  baseline ??= figures;
  const cell = (call: Call) => `${figures[call].toFixed(1)} µs (+${(figures[call] - baseline![call]).toFixed(1)})`;
  rows.push(`| ${name} | ${cell("report")} | ${cell("register")} | ${cell("logs")} |`);
}
console.log(
  `report: ${bodies.report.length} bytes (50 tasks × 2 containers); register: ${bodies.register.length} bytes; logs: ${bodies.logs.length} bytes (1,000 lines)`,
);
console.log("| checks | report (parse + check; + over JSON.parse) | register | logs |");
console.log("| --- | --- | --- | --- |");
for (const row of rows) console.log(row);
