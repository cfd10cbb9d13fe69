// ECS task definitions: RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions,
// ListTaskDefinitionFamilies, DeregisterTaskDefinition, DeleteTaskDefinitions. The Fargate rules
// live in core/task-definition; here are revisions, ARNs, statuses and paging.
import type {
  DeleteTaskDefinitionsRequest,
  DeleteTaskDefinitionsResponse,
  DeregisterTaskDefinitionRequest,
  DeregisterTaskDefinitionResponse,
  DescribeTaskDefinitionRequest,
  DescribeTaskDefinitionResponse,
  ListTaskDefinitionFamiliesRequest,
  ListTaskDefinitionFamiliesResponse,
  ListTaskDefinitionsRequest,
  ListTaskDefinitionsResponse,
  RegisterTaskDefinitionRequest,
  RegisterTaskDefinitionResponse,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import { buildArn, parseArn } from "../../core/arn.js";
import { clientException, invalidParameterException } from "../../core/errors.js";
import { prepareTaskDefinitionRegistration } from "../../core/task-definition/index.js";
import type { StoredTaskDefinition } from "../../store/index.js";
import { authorizePassRole, namedRoles } from "./pass-role.js";
import type { RequestContext } from "../service-module.js";
import { RawJsonOutput, toWireJson } from "../wire-json.js";
import type { EcsContext } from "./ecs-context.js";
import { checkMaxResults, decodeToken, encodeToken } from "./ecs-context.js";
import { toTags, validateTags } from "./tags.js";

interface Reference {
  readonly family: string;
  readonly revision?: number;
}

/** "family", "family:3" or a task definition ARN. */
export function parseTaskDefinitionReference(text: string | undefined): Reference {
  const value = text ?? "";
  const arn = parseArn(value);
  const body = arn ? (/^task-definition\/(.+)$/.exec(arn.resource)?.[1] ?? "") : value;
  const match = /^([A-Za-z0-9_-]{1,255})(?::(\d+))?$/.exec(body);
  if (!match) throw clientException("Unable to describe task definition.");
  return { family: match[1]!, ...(match[2] !== undefined ? { revision: Number(match[2]) } : {}) };
}

/** The definition a reference names: a family alone means its latest ACTIVE revision. */
export async function resolveTaskDefinition(context: EcsContext, text: string | undefined): Promise<TaskDefinition | undefined> {
  const reference = parseTaskDefinitionReference(text);
  return reference.revision === undefined
    ? context.store.taskDefinitions.latestActive(reference.family)
    : context.store.taskDefinitions.get(reference.family, reference.revision);
}

export async function registerTaskDefinition(
  context: EcsContext,
  input: RegisterTaskDefinitionRequest,
  request: RequestContext,
): Promise<RegisterTaskDefinitionResponse> {
  const prepared = prepareTaskDefinitionRegistration(input);
  const tags = validateTags(input.tags);
  await authorizePassRole(request, namedRoles(input));
  const registeredAt = new Date(context.clock.now());
  const definition = await context.store.taskDefinitions.register(prepared.family!, (revision) => ({
    taskDefinitionArn: buildArn(context.scope, "ecs", `task-definition/${prepared.family}:${revision}`),
    ...prepared,
    revision,
    status: "ACTIVE",
    registeredAt,
    registeredBy: request.principalArn,
  }));
  await context.store.tags.put(definition.taskDefinitionArn!, tags);
  return { taskDefinition: definition, tags: toTags(tags) };
}

/**
 * The wire text of stored definitions, by ARN and status. A definition's document changes only
 * with its status (ACTIVE → INACTIVE → DELETE_IN_PROGRESS, each once, and revisions are never
 * reused), so (ARN, status) names one document for good, in this process and in any other replica:
 * the hot DescribeTaskDefinition path reads the row and skips parsing (`definition()`) and
 * re-serialising it.
 */
const wireTexts = new Map<string, { readonly text: string; readonly answer: string }>();
const MAX_WIRE_TEXTS = 2000;

/** `text` is the definition's wire JSON; `answer` the whole DescribeTaskDefinition body without tags, kept whole so it is not rebuilt (and re-flattened) per request. */
function wireTextOf(stored: StoredTaskDefinition): { readonly text: string; readonly answer: string } {
  const key = `${stored.arn}\n${stored.status}`;
  let entry = wireTexts.get(key);
  if (entry === undefined) {
    const text = toWireJson(stored.definition());
    entry = { text, answer: `{"taskDefinition":${text}}` };
    if (wireTexts.size >= MAX_WIRE_TEXTS) wireTexts.clear();
    wireTexts.set(key, entry);
  }
  return entry;
}

export async function describeTaskDefinition(
  context: EcsContext,
  input: DescribeTaskDefinitionRequest,
): Promise<RawJsonOutput<DescribeTaskDefinitionResponse>> {
  const reference = parseTaskDefinitionReference(input.taskDefinition);
  const stored =
    reference.revision === undefined
      ? await context.store.taskDefinitions.latestActiveStored(reference.family)
      : await context.store.taskDefinitions.getStored(reference.family, reference.revision);
  if (!stored || stored.status === "DELETE_IN_PROGRESS") throw clientException("Unable to describe task definition.");
  const wire = wireTextOf(stored);
  if (!input.include?.includes("TAGS")) return new RawJsonOutput(wire.answer);
  return new RawJsonOutput(`{"taskDefinition":${wire.text},"tags":${JSON.stringify(toTags(await context.store.tags.list(stored.arn)))}}`);
}

type DefinitionPage = { f: string; r: number };
// A token's revision goes to the store's 32-bit column (PostgreSQL refuses anything else in it):
// any other number is not a token Berth issued.
const isDefinitionPage = (v: unknown): v is DefinitionPage =>
  typeof (v as DefinitionPage)?.f === "string" &&
  Number.isInteger((v as DefinitionPage)?.r) &&
  (v as DefinitionPage).r >= 0 &&
  (v as DefinitionPage).r <= 2_147_483_647;

export async function listTaskDefinitions(context: EcsContext, input: ListTaskDefinitionsRequest): Promise<ListTaskDefinitionsResponse> {
  const limit = checkMaxResults(input.maxResults);
  const status = input.status ?? "ACTIVE";
  if (!["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"].includes(status)) throw invalidParameterException(`Invalid status: ${status}`);
  const page = decodeToken(input.nextToken, isDefinitionPage);
  const rows = await context.store.taskDefinitions.list({
    ...(input.familyPrefix ? { familyPrefix: input.familyPrefix } : {}),
    status,
    descending: input.sort === "DESC",
    ...(page ? { after: { family: page.f, revision: page.r } } : {}),
    limit: limit + 1,
  });
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    taskDefinitionArns: shown.map((row) => row.arn),
    ...(rows.length > limit && last ? { nextToken: encodeToken({ f: last.family, r: last.revision }) } : {}),
  };
}

const isFamilyPage = (v: unknown): v is { f: string } => typeof (v as { f?: unknown })?.f === "string";

export async function listTaskDefinitionFamilies(context: EcsContext, input: ListTaskDefinitionFamiliesRequest): Promise<ListTaskDefinitionFamiliesResponse> {
  const limit = checkMaxResults(input.maxResults);
  const status = input.status ?? "ACTIVE";
  if (!["ACTIVE", "INACTIVE", "ALL"].includes(status)) throw invalidParameterException(`Invalid status: ${status}`);
  const page = decodeToken(input.nextToken, isFamilyPage);
  const families = await context.store.taskDefinitions.families({
    ...(input.familyPrefix ? { familyPrefix: input.familyPrefix } : {}),
    status: status as "ACTIVE" | "INACTIVE" | "ALL",
    ...(page ? { afterFamily: page.f } : {}),
    limit: limit + 1,
  });
  const shown = families.slice(0, limit);
  return { families: shown, ...(families.length > limit ? { nextToken: encodeToken({ f: shown.at(-1)! }) } : {}) };
}

export async function deregisterTaskDefinition(context: EcsContext, input: DeregisterTaskDefinitionRequest): Promise<DeregisterTaskDefinitionResponse> {
  const reference = parseTaskDefinitionReference(input.taskDefinition);
  if (reference.revision === undefined) throw clientException("The task definition must be specified as family:revision or a full ARN to be deregistered."); // wording not confirmed
  const definition = await context.store.taskDefinitions.get(reference.family, reference.revision);
  if (!definition || definition.status === "DELETE_IN_PROGRESS") throw clientException("The specified task definition does not exist."); // wording not confirmed
  if (definition.status === "INACTIVE") return { taskDefinition: definition };
  const updated: TaskDefinition = { ...definition, status: "INACTIVE", deregisteredAt: new Date(context.clock.now()) };
  await context.store.taskDefinitions.update(updated);
  return { taskDefinition: updated };
}

export async function deleteTaskDefinitions(context: EcsContext, input: DeleteTaskDefinitionsRequest): Promise<DeleteTaskDefinitionsResponse> {
  const references = input.taskDefinitions ?? [];
  if (references.length < 1 || references.length > 10) throw invalidParameterException("taskDefinitions must contain between 1 and 10 items.");
  const taskDefinitions: TaskDefinition[] = [];
  const failures: { arn: string; reason: string; detail?: string }[] = [];
  for (const text of references) {
    let reference: Reference;
    try {
      reference = parseTaskDefinitionReference(text);
    } catch {
      failures.push({ arn: text, reason: "The specified task definition identifier is invalid. Specify a valid name or ARN and try again." });
      continue;
    }
    const definition = reference.revision === undefined ? undefined : await context.store.taskDefinitions.get(reference.family, reference.revision);
    if (!definition) {
      failures.push({ arn: text, reason: "TASK_DEFINITION_NOT_FOUND" }); // wording not confirmed
    } else if (definition.status === "ACTIVE") {
      failures.push({
        arn: definition.taskDefinitionArn!,
        reason: "The specified task definition is still in ACTIVE status. Deregister the target and try again.",
      });
    } else {
      const deleting: TaskDefinition =
        definition.status === "DELETE_IN_PROGRESS"
          ? definition
          : { ...definition, status: "DELETE_IN_PROGRESS", deleteRequestedAt: new Date(context.clock.now()) };
      await context.store.taskDefinitions.update(deleting);
      taskDefinitions.push(deleting);
    }
  }
  return { taskDefinitions, failures };
}
