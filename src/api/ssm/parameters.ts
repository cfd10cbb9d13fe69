// SSM Parameter Store: PutParameter, GetParameter(s), DeleteParameter(s), GetParameterHistory,
// LabelParameterVersion. https://docs.aws.amazon.com/systems-manager/latest/APIReference/
// Each PutParameter adds a version (1, 2, …; the newest 100 are kept, the oldest unlabelled one
// goes first); a label is on at most one version of a parameter. SecureString values are sealed
// by envelope encryption bound to the parameter's ARN and version (core/envelope-seal.ts) and
// come back in clear only WithDecryption.
import type {
  DeleteParameterRequest,
  DeleteParameterResult,
  DeleteParametersRequest,
  DeleteParametersResult,
  GetParameterHistoryRequest,
  GetParameterHistoryResult,
  GetParameterRequest,
  GetParameterResult,
  GetParametersRequest,
  GetParametersResult,
  LabelParameterVersionRequest,
  LabelParameterVersionResult,
  Parameter,
  ParameterTier,
  ParameterType,
  PutParameterRequest,
  PutParameterResult,
} from "@aws-sdk/client-ssm";
import RE2 from "re2";
import type { AccountScope } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import type { KeySealer } from "../../core/envelope-seal.js";
import { openValue, sealValue } from "../../core/envelope-seal.js";
import type { ParametersRepository, ParameterTag, ParameterVersionRecord } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { decodeToken, encodeToken } from "../pagination-token.js";
import { isValidLabel, parameterArn, parseSelector, validateName } from "./parameter-names.js";
import {
  constraint,
  invalidAllowedPattern,
  invalidNextToken,
  labelLimitExceeded,
  maxVersionsExceeded,
  parameterAlreadyExists,
  parameterNotFound,
  patternMismatch,
  validation,
  versionNotFound,
} from "./ssm-errors.js";

export interface ParametersContext {
  readonly parameters: ParametersRepository;
  readonly clock: Clock;
  readonly scope: AccountScope;
  readonly sealer: KeySealer;
}

const TYPES = new Set(["String", "StringList", "SecureString"]);
const MAX_VERSIONS = 100;
const MAX_LABELS = 10;
const STANDARD_BYTES = 4096;
const ADVANCED_BYTES = 8192;

/**
 * What a SecureString's seal is bound to: the exact stored name (not the ARN, which depends on the
 * start-up region and is the same for "a" and "/a"), the parameter's incarnation (random, new when
 * it is created again after a delete), the version and the type.
 */
const associatedData = (name: string, incarnation: string, version: number, type: string) => `ssm\n${name}\n${incarnation}\n${version}\n${type}`;

/** A version's value as a caller sees it: a SecureString's plaintext only WithDecryption, its ciphertext otherwise. */
export function shownValue(context: ParametersContext, version: ParameterVersionRecord, decrypt: boolean): string {
  if (version.type !== "SecureString") return version.value;
  if (!decrypt) return Buffer.from(version.value, "utf8").toString("base64");
  return openValue(context.sealer, version.value, associatedData(version.name, version.incarnation, version.version, version.type)).toString("utf8");
}

export function parameterShape(context: ParametersContext, version: ParameterVersionRecord, decrypt: boolean, selector?: string): Parameter {
  return {
    Name: version.name,
    Type: version.type as ParameterType,
    Value: shownValue(context, version, decrypt),
    Version: version.version,
    ...(selector === undefined ? {} : { Selector: selector }),
    LastModifiedDate: new Date(version.modifiedAt),
    ARN: parameterArn(context.scope, version.name),
    DataType: version.dataType,
  };
}

function validateTags(tags: readonly { Key?: string; Value?: string }[] | undefined): ParameterTag[] {
  const result: ParameterTag[] = [];
  for (const { Key: key = "", Value: value = "" } of tags ?? []) {
    if (key.length < 1 || key.length > 128 || !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(key))
      throw constraint("tags.member.key", key.slice(0, 64), "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$");
    if (value.length > 256 || !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(value))
      throw constraint("tags.member.value", value.slice(0, 64), "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$");
    // wording not confirmed
    if (key.toLowerCase().startsWith("aws:")) throw validation("Tag keys can't start with aws:.");
    result.push({ Key: key, Value: value });
  }
  if (result.length > 50) throw constraint("tags", String(result.length), "Member must have length less than or equal to 50");
  return result;
}

/** The tier a value is stored in: Intelligent-Tiering picks Standard when the value fits; never down from Advanced. */
function chooseTier(requested: string | undefined, previous: string | undefined, bytes: number): string {
  if (requested !== undefined && !["Standard", "Advanced", "Intelligent-Tiering"].includes(requested)) {
    throw constraint("tier", requested, "Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]");
  }
  // wording not confirmed
  if (requested === "Standard" && previous === "Advanced")
    throw validation(
      "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
    );
  let tier: string;
  if (requested === "Standard" || requested === "Advanced") tier = requested;
  else if (requested === "Intelligent-Tiering") tier = previous === "Advanced" || bytes > STANDARD_BYTES ? "Advanced" : "Standard";
  else tier = previous ?? "Standard";
  if (bytes > ADVANCED_BYTES) throw constraint("value", "***", `Member must have length less than or equal to ${ADVANCED_BYTES}`);
  if (tier === "Standard" && bytes > STANDARD_BYTES) {
    // wording not confirmed
    throw validation(
      `Standard tier parameters support a maximum parameter value of ${STANDARD_BYTES} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html`,
    );
  }
  return tier;
}

function checkPattern(pattern: string | undefined, value: string): void {
  if (pattern === undefined) return;
  if (pattern.length > 1024) throw constraint("allowedPattern", "…", "Member must have length less than or equal to 1024");
  let expression: RE2;
  try {
    // RE2: linear time whatever the pattern, so a caller's pattern cannot stall the server.
    expression = new RE2(pattern, "u");
  } catch {
    throw invalidAllowedPattern();
  }
  if (!expression.test(value)) throw patternMismatch(pattern);
}

interface PutPlan {
  readonly name: string;
  readonly value: string;
  readonly type: string | undefined;
  readonly tags: ParameterTag[];
}

function planPut(context: ParametersContext, input: PutParameterRequest): PutPlan {
  const name = validateName(context.scope, input.Name ?? "");
  const value = input.Value ?? "";
  if (value.length < 1) throw constraint("value", "", "Member must have length greater than or equal to 1");
  if (input.Type !== undefined && !TYPES.has(input.Type))
    throw constraint("type", input.Type, "Member must satisfy enum value set: [SecureString, StringList, String]");
  if (input.Description !== undefined && input.Description.length > 1024)
    throw constraint("description", "…", "Member must have length less than or equal to 1024");
  if (input.DataType !== undefined && input.DataType !== "text") throw validation(`The data type ${input.DataType} isn't supported by Berth; use text.`); // Berth's own
  // AWS's words (seen in botocore's ClientError)
  if (input.Tags !== undefined && input.Overwrite === true)
    throw validation(
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
  return { name, value, type: input.Type, tags: validateTags(input.Tags) };
}

export async function putParameter(context: ParametersContext, input: PutParameterRequest, request: RequestContext): Promise<PutParameterResult> {
  const plan = planPut(context, input);
  const done = await context.parameters.locked(plan.name, true, async (locked) => {
    const versions = await locked.versions();
    const previous = versions.at(-1);
    if (locked.existed && input.Overwrite !== true) throw parameterAlreadyExists();
    // wording not confirmed
    const type =
      plan.type ??
      previous?.type ??
      (() => {
        throw validation("A parameter type is required when you create a parameter.");
      })();
    const tier = chooseTier(input.Tier, previous?.tier, Buffer.byteLength(plan.value, "utf8"));
    const allowedPattern = input.AllowedPattern ?? previous?.allowedPattern;
    checkPattern(allowedPattern, plan.value);
    const version = (previous?.version ?? 0) + 1;
    if (versions.length >= MAX_VERSIONS) {
      const oldest = versions[0] as ParameterVersionRecord;
      if (oldest.labels.length > 0) throw maxVersionsExceeded(plan.name, oldest.version);
      await locked.deleteVersions([oldest.version]);
    }
    await locked.addVersion({
      name: plan.name,
      version,
      type,
      value:
        type === "SecureString"
          ? sealValue(context.sealer, Buffer.from(plan.value, "utf8"), associatedData(plan.name, locked.incarnation, version, type))
          : plan.value,
      description: input.Description ?? previous?.description,
      allowedPattern,
      tier,
      keyId: type === "SecureString" ? (input.KeyId ?? previous?.keyId ?? "alias/aws/ssm") : undefined,
      dataType: "text",
      labels: [],
      modifiedAt: context.clock.now(),
      modifiedUser: request.principalArn,
      incarnation: locked.incarnation,
    });
    if (!locked.existed && plan.tags.length > 0) await locked.setTags(plan.tags);
    return { Version: version, Tier: tier as PutParameterResult["Tier"] };
  });
  return done?.value ?? {};
}

/** The version a selector names, or undefined when there is no such parameter; a missing version or label is ParameterVersionNotFound. */
async function selectVersion(context: ParametersContext, text: string): Promise<{ version: ParameterVersionRecord; selector?: string } | undefined> {
  const selector = parseSelector(context.scope, text);
  if (!selector) return undefined;
  for (const name of selector.names) {
    const latest = await context.parameters.get(name);
    if (!latest) continue;
    if (selector.version !== undefined) {
      const version = await context.parameters.version(name, selector.version);
      if (!version) throw versionNotFound(name, String(selector.version));
      return { version, selector: selector.selector };
    }
    if (selector.label !== undefined) {
      const version = (await context.parameters.versions(name)).find((one) => one.labels.includes(selector.label as string));
      if (!version) throw versionNotFound(name, selector.label);
      return { version, selector: selector.selector };
    }
    return { version: latest };
  }
  return undefined;
}

export async function getParameter(context: ParametersContext, input: GetParameterRequest): Promise<GetParameterResult> {
  const found = await selectVersion(context, input.Name ?? "");
  if (!found) throw parameterNotFound();
  return { Parameter: parameterShape(context, found.version, input.WithDecryption === true, found.selector) };
}

export async function getParameters(context: ParametersContext, input: GetParametersRequest): Promise<GetParametersResult> {
  const names = input.Names ?? [];
  if (names.length < 1 || names.length > 10) throw constraint("names", String(names.length), "Member must have length between 1 and 10");
  const parameters: Parameter[] = [];
  const invalid: string[] = [];
  for (const name of new Set(names)) {
    let found: Awaited<ReturnType<typeof selectVersion>>;
    try {
      found = await selectVersion(context, name);
    } catch (error) {
      if ((error as { name?: string }).name !== "ParameterVersionNotFound") throw error;
      found = undefined;
    }
    if (found) parameters.push(parameterShape(context, found.version, input.WithDecryption === true, found.selector));
    else invalid.push(name);
  }
  return { Parameters: parameters, InvalidParameters: invalid };
}

export async function deleteParameter(context: ParametersContext, input: DeleteParameterRequest): Promise<DeleteParameterResult> {
  const name = validateName(context.scope, input.Name ?? "");
  if (!(await context.parameters.delete(name))) throw parameterNotFound();
  return {};
}

export async function deleteParameters(context: ParametersContext, input: DeleteParametersRequest): Promise<DeleteParametersResult> {
  const names = input.Names ?? [];
  if (names.length < 1 || names.length > 10) throw constraint("names", String(names.length), "Member must have length between 1 and 10");
  const deleted: string[] = [];
  const invalid: string[] = [];
  for (const name of names) {
    validateName(context.scope, name);
    ((await context.parameters.delete(name)) ? deleted : invalid).push(name);
  }
  return { DeletedParameters: deleted, InvalidParameters: invalid };
}

type HistoryPosition = { after: number };
const isHistoryPosition = (value: unknown): value is HistoryPosition => Number.isInteger((value as HistoryPosition)?.after);

export async function getParameterHistory(context: ParametersContext, input: GetParameterHistoryRequest): Promise<GetParameterHistoryResult> {
  const selector = parseSelector(context.scope, input.Name ?? "");
  const limit = input.MaxResults ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 50) throw constraint("maxResults", String(limit), "Member must have value between 1 and 50");
  const position = decodeToken(input.NextToken, isHistoryPosition, invalidNextToken);
  for (const name of selector?.names ?? []) {
    const versions = await context.parameters.versions(name);
    if (versions.length === 0) continue;
    const after = versions.filter((version) => !position || version.version > position.after);
    const shown = after.slice(0, limit);
    return {
      Parameters: shown.map((version) => ({
        ...parameterShape(context, version, input.WithDecryption === true),
        ...(version.keyId === undefined ? {} : { KeyId: version.keyId }),
        LastModifiedUser: version.modifiedUser,
        ...(version.description === undefined ? {} : { Description: version.description }),
        ...(version.allowedPattern === undefined ? {} : { AllowedPattern: version.allowedPattern }),
        Labels: [...version.labels],
        Tier: version.tier as ParameterTier,
        Policies: [],
      })),
      ...(after.length > limit ? { NextToken: encodeToken({ after: shown.at(-1)?.version }) } : {}),
    };
  }
  throw parameterNotFound();
}

export async function labelParameterVersion(context: ParametersContext, input: LabelParameterVersionRequest): Promise<LabelParameterVersionResult> {
  const name = validateName(context.scope, input.Name ?? "");
  const labels = input.Labels ?? [];
  if (labels.length < 1 || labels.length > 10) throw constraint("labels", String(labels.length), "Member must have length between 1 and 10");
  const done = await context.parameters.locked(name, false, async (locked) => {
    const versions = await locked.versions();
    const target = input.ParameterVersion === undefined ? versions.at(-1) : versions.find((version) => version.version === input.ParameterVersion);
    if (!target) throw versionNotFound(name, String(input.ParameterVersion));
    const valid = [...new Set(labels.filter(isValidLabel))];
    const next = [...new Set([...target.labels, ...valid])];
    if (next.length > MAX_LABELS) throw labelLimitExceeded();
    for (const version of versions) {
      if (version === target) continue;
      const kept = version.labels.filter((label) => !valid.includes(label));
      if (kept.length !== version.labels.length) await locked.setLabels(version.version, kept);
    }
    await locked.setLabels(target.version, next);
    return { InvalidLabels: labels.filter((label) => !isValidLabel(label)), ParameterVersion: target.version };
  });
  if (!done) throw parameterNotFound();
  return done.value;
}
