// Random inputs that have the right JSON types for an operation, generated from the AWS SDK's own
// schema of its input shape (the same encoding src/api/gateway/schema-validation.ts reads), so a
// fuzz gets past the gateway's type checks and reaches the operation handlers.
import { unwrap } from "../../src/api/gateway/schema-validation.js";

type Schema = unknown;

const STRINGS = [
  "",
  "x",
  "default",
  "web",
  "FARGATE",
  "FARGATE_SPOT",
  "EC2",
  "awsvpc",
  "bridge",
  "256",
  "512",
  "1 vCPU",
  "2 GB",
  "ACTIVE",
  "INACTIVE",
  "DESC",
  "TAGS",
  "STATISTICS",
  "LINUX",
  "ARM64",
  "awslogs",
  "CMD",
  "arn:aws:ecs:us-east-1:123456789012:cluster/default",
  "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
  "arn:aws:ecs:us-east-1:123456789012:task/default/0123",
  "arn:aws:iam::123456789012:role/x",
  "arn:",
  "web:1",
  "web:0",
  "web:99999999999999999999",
  "%",
  "a".repeat(300),
  "\u0000",
  "containerInsights",
  "enabled",
  "taskLongArnFormat",
  "subnet-1",
  "eyJmIjoxfQ",
];
const NUMBERS = [0, -1, 1, 2, 3, 5, 10, 100, 101, 256, 512, 1024, 65536, 1.5, 1e15, -1e15];

export function randomInput(schema: Schema, random: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const resolved = unwrap(schema);
  if (typeof resolved === "number") {
    if (resolved & 64) return Array.from({ length: Math.floor(random() * 3) }, () => randomInput(resolved & 63, random, depth + 1));
    if (resolved & 128)
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 3) }, () => [pick(STRINGS), randomInput(resolved & 63, random, depth + 1)]));
    switch (resolved) {
      case 0:
        return pick(STRINGS);
      case 1:
      case 17:
      case 19:
        return pick(NUMBERS);
      case 2:
        return random() < 0.5;
      case 4:
      case 5:
      case 6:
      case 7:
        return pick([0, 1_700_000_000, -5, 1e12]);
      default:
        return pick(STRINGS);
    }
  }
  if (!Array.isArray(resolved) || depth > 8) return undefined;
  const kind = resolved[0] as number;
  if (kind === 1) return Array.from({ length: Math.floor(random() * 3) }, () => randomInput(resolved[4], random, depth + 1));
  if (kind === 2)
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 3) }, () => [pick(STRINGS), randomInput(resolved[5], random, depth + 1)]));
  if (kind === 3) {
    const names = resolved[4] as string[];
    const members = resolved[5] as Schema[];
    const required = typeof resolved[6] === "number" ? resolved[6] : 0;
    const record: Record<string, unknown> = {};
    names.forEach((name, index) => {
      if (random() < (index < required ? 0.95 : 0.35)) {
        const value = randomInput(members[index], random, depth + 1);
        if (value !== undefined) record[name] = value;
      }
    });
    return record;
  }
  return undefined;
}

/** Untyped JSON for endpoints without an SDK schema (the agent protocol): protocol-ish names, hostile values. */
export function randomJson(random: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const roll = random();
  if (depth > 3 || roll < 0.35)
    return pick([null, 0, -1, 1e308, 2 ** 53 + 1, "", "x", "h-1", "%zz", "a".repeat(5000), "\u0000\ud800", true, false, ...STRINGS.slice(0, 8)]);
  if (roll < 0.55) return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
  const names = [
    "hostId",
    "knownGeneration",
    "reports",
    "batches",
    "protocolVersion",
    "capacity",
    "machine",
    "subnetIds",
    "taskArn",
    "status",
    "logGroupName",
    "logStreamName",
    "events",
    "message",
    "timestamp",
    "__proto__",
    "constructor",
  ];
  const record: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 5); i > 0; i--) record[pick(names)] = randomJson(random, depth + 1);
  return record;
}
