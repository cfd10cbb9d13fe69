// The same-run baseline of bench/protocol-schemas.ts: the agent protocol's body checks as they were
// written by hand (src/protocol/agent-shapes.ts and the route's isRegisterShaped, before the
// protocol's schemas replaced them in issue 10), kept here so the schema library's cost is always
// measured against them. Not used by the product.
import { taskLifecycle } from "../src/protocol/index.js";

/** Most events one log batch may carry (CloudWatch Logs' PutLogEvents takes 10,000 too). */
export const MAX_LOG_EVENTS_PER_BATCH = 10_000;
/** Most bytes (UTF-8) of messages one log batch may carry; a longer single message is cut to this. */
export const MAX_LOG_BATCH_MESSAGE_BYTES = 1024 * 1024;
/** Most log batches in one logs call (the agent sends one). */
export const MAX_LOG_BATCHES_PER_CALL = 100;
/** Most task reports in one report call (a host runs at most MAX_TASK_SLOTS tasks, plus stopped ones it still reports). */
export const MAX_REPORTS_PER_CALL = 10_000;
/** Timestamps (ms since the epoch) from 1970-01-01 to 9999-12-31T23:59:59.999Z: anything else is not a time. */
export const MIN_TIMESTAMP_MS = 0;
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;
/** Report sequences are stored in a 32-bit column. */
const MAX_SEQUENCE = 2 ** 31 - 1;

type Problem = string | undefined;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isFiniteNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const isWhole = (value: unknown, min: number, max: number): value is number =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
export const isTimestampMs = (value: unknown): value is number => isWhole(value, MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS);
const isOptional = (value: unknown, check: (value: unknown) => boolean) => value === undefined || check(value);
const isString = (value: unknown): value is string => typeof value === "string";
const oneOf =
  (...allowed: readonly string[]) =>
  (value: unknown) =>
    typeof value === "string" && allowed.includes(value);

/** Why a poll body is not one (`knownGeneration` absent or a finite number). */
export function pollBodyProblem(body: Record<string, unknown>): Problem {
  return isOptional(body.knownGeneration, isFiniteNumber) ? undefined : "knownGeneration must be a number.";
}

const timestampFields = [
  "pullStartedAtMs",
  "pullStoppedAtMs",
  "connectivityAtMs",
  "startedAtMs",
  "stoppingAtMs",
  "executionStoppedAtMs",
  "stoppedAtMs",
] as const;
const attachmentFields = ["type", "status", "subnetId", "networkInterfaceId", "macAddress", "privateDnsName", "privateIPv4Address"] as const;
const isHealth = oneOf("HEALTHY", "UNHEALTHY", "UNKNOWN");

function containerReportProblem(container: unknown, where: string): Problem {
  if (!isRecord(container)) return `${where} is not an object.`;
  if (!isString(container.name)) return `${where}.name must be a string.`;
  if (!oneOf("PENDING", "RUNNING", "STOPPED")(container.lastStatus)) return `${where}.lastStatus must be PENDING, RUNNING or STOPPED.`;
  if (!isHealth(container.health)) return `${where}.health must be HEALTHY, UNHEALTHY or UNKNOWN.`;
  if (typeof container.essential !== "boolean") return `${where}.essential must be a boolean.`;
  if (!isString(container.image)) return `${where}.image must be a string.`;
  for (const name of ["runtimeId", "reason", "imageDigest"] as const) {
    if (!isOptional(container[name], isString)) return `${where}.${name} must be a string.`;
  }
  if (!isOptional(container.exitCode, (value) => isWhole(value, -(2 ** 31), 2 ** 32))) return `${where}.exitCode must be a whole number.`;
  const nics = container.networkInterfaces;
  if (!Array.isArray(nics) || !nics.every((nic) => isRecord(nic) && isString(nic.attachmentId) && isString(nic.privateIpv4Address))) {
    return `${where}.networkInterfaces must be a list of {attachmentId, privateIpv4Address} strings.`;
  }
  return undefined;
}

function taskReportProblem(report: unknown, where: string): Problem {
  if (!isRecord(report)) return `${where} is not an object.`;
  if (!isFiniteNumber(report.protocolVersion)) return `${where}.protocolVersion must be a number.`;
  if (!isString(report.taskArn)) return `${where}.taskArn must be a string.`;
  if (!oneOf(...taskLifecycle)(report.lastStatus)) return `${where}.lastStatus must be one of ${taskLifecycle.join(", ")}.`;
  if (!oneOf("RUNNING", "STOPPED")(report.desiredStatus)) return `${where}.desiredStatus must be RUNNING or STOPPED.`;
  if (!isWhole(report.sequence, 0, MAX_SEQUENCE)) return `${where}.sequence must be a whole number from 0 to ${MAX_SEQUENCE}.`;
  if (!isHealth(report.health)) return `${where}.health must be HEALTHY, UNHEALTHY or UNKNOWN.`;
  for (const name of timestampFields) {
    if (!isOptional(report[name], isTimestampMs)) return `${where}.${name} must be a time in milliseconds since the epoch.`;
  }
  for (const name of ["stopCode", "stoppedReason"] as const) {
    if (!isOptional(report[name], isString)) return `${where}.${name} must be a string.`;
  }
  const attachment = report.attachment;
  if (attachment !== undefined && !(isRecord(attachment) && attachmentFields.every((name) => isString(attachment[name])))) {
    return `${where}.attachment must be an object of strings (${attachmentFields.join(", ")}).`;
  }
  if (!Array.isArray(report.containers)) return `${where}.containers must be a list.`;
  for (const [index, container] of report.containers.entries()) {
    const problem = containerReportProblem(container, `${where}.containers[${index}]`);
    if (problem) return problem;
  }
  return undefined;
}

/** Why a report body is not a ReportRequest (`reports` absent or a list of TaskStatusReports). */
export function reportBodyProblem(body: Record<string, unknown>): Problem {
  const reports = body.reports;
  if (reports === undefined) return undefined;
  if (!Array.isArray(reports)) return "reports must be a list.";
  if (reports.length > MAX_REPORTS_PER_CALL) return `At most ${MAX_REPORTS_PER_CALL} reports per call.`;
  for (const [index, report] of reports.entries()) {
    const problem = taskReportProblem(report, `reports[${index}]`);
    if (problem) return problem;
  }
  return undefined;
}

function logBatchProblem(batch: unknown, where: string): Problem {
  if (!isRecord(batch)) return `${where} is not an object.`;
  for (const name of ["taskArn", "containerName", "logGroupName", "logStreamName"] as const) {
    if (!isString(batch[name])) return `${where}.${name} must be a string.`;
  }
  if (typeof batch.createGroup !== "boolean") return `${where}.createGroup must be a boolean.`;
  const events = batch.events;
  if (!Array.isArray(events)) return `${where}.events must be a list.`;
  if (events.length > MAX_LOG_EVENTS_PER_BATCH) return `${where} has ${events.length} events; at most ${MAX_LOG_EVENTS_PER_BATCH} per batch.`;
  let bytes = 0;
  for (const [index, event] of events.entries()) {
    const at = `${where}.events[${index}]`;
    if (!isRecord(event)) return `${at} is not an object.`;
    if (!isTimestampMs(event.timestamp)) return `${at}.timestamp must be a time in milliseconds since the epoch (up to year 9999).`;
    if (!isString(event.message)) return `${at}.message must be a string.`;
    if (!isOptional(event.offset, (value) => isWhole(value, 0, Number.MAX_SAFE_INTEGER))) return `${at}.offset must be a whole number of at least 0.`;
    bytes += Buffer.byteLength(event.message, "utf8");
    if (bytes > MAX_LOG_BATCH_MESSAGE_BYTES) return `${where} has more than ${MAX_LOG_BATCH_MESSAGE_BYTES} bytes of messages; at most that per batch.`;
  }
  return undefined;
}

/** Why a logs body is not a list of LogBatches within the limits (`batches` absent or a list). */
export function logsBodyProblem(body: Record<string, unknown>): Problem {
  const batches = body.batches;
  if (batches === undefined) return undefined;
  if (!Array.isArray(batches)) return "batches must be a list.";
  if (batches.length > MAX_LOG_BATCHES_PER_CALL) return `At most ${MAX_LOG_BATCHES_PER_CALL} log batches per call.`;
  for (const [index, batch] of batches.entries()) {
    const problem = logBatchProblem(batch, `batches[${index}]`);
    if (problem) return problem;
  }
  return undefined;
}

const isNumber = (value: unknown) => typeof value === "number" && Number.isFinite(value);

/** The JSON types of a RegisterRequest (the route's check before issue 10). */
export function isRegisterShaped(body: Record<string, unknown>): boolean {
  const { capacity, machine } = body;
  return (
    isNumber(body.protocolVersion) &&
    ["hostId", "agentVersion", "availabilityZone", "architecture"].every((name) => typeof body[name] === "string") &&
    isRecord(capacity) &&
    ["cpuUnits", "memoryMiB", "taskSlots", "ephemeralGiB"].every((name) => isNumber(capacity[name])) &&
    isRecord(machine) &&
    isNumber(machine.cpuCount) &&
    isNumber(machine.memoryMiB) &&
    typeof body.overcommit === "boolean" &&
    Array.isArray(body.subnetIds) &&
    body.subnetIds.every((id) => typeof id === "string")
  );
}
