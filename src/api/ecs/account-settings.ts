// ECS account settings: ListAccountSettings, PutAccountSetting, PutAccountSettingDefault,
// DeleteAccountSetting. A setting has an account default ("*" here) and per-principal values;
// effectiveSettings resolves a principal's value over the default over AWS's built-in default.
import type {
  DeleteAccountSettingRequest,
  DeleteAccountSettingResponse,
  ListAccountSettingsRequest,
  ListAccountSettingsResponse,
  PutAccountSettingDefaultRequest,
  PutAccountSettingDefaultResponse,
  PutAccountSettingRequest,
  PutAccountSettingResponse,
  Setting,
  SettingName,
} from "@aws-sdk/client-ecs";
import { invalidParameterException } from "../../core/errors.js";
import type { RequestContext } from "../service-module.js";
import type { EcsContext } from "./ecs-context.js";
import { checkMaxResults, decodeToken, encodeToken } from "./ecs-context.js";

/** AWS's defaults for the settings Fargate users set, and the values each accepts. */
const SETTINGS: Readonly<Record<string, { default: string; values: readonly string[] }>> = {
  serviceLongArnFormat: { default: "enabled", values: ["enabled", "disabled"] },
  taskLongArnFormat: { default: "enabled", values: ["enabled", "disabled"] },
  containerInstanceLongArnFormat: { default: "enabled", values: ["enabled", "disabled"] },
  awsvpcTrunking: { default: "disabled", values: ["enabled", "disabled"] },
  containerInsights: { default: "disabled", values: ["enabled", "disabled", "enhanced"] },
  fargateFIPSMode: { default: "disabled", values: ["enabled", "disabled"] },
  tagResourceAuthorization: { default: "on", values: ["on", "off"] },
  fargateTaskRetirementWaitPeriod: { default: "7", values: ["0", "7", "14"] },
  guardDutyActivate: { default: "off", values: ["on", "off"] },
  defaultLogDriverMode: { default: "blocking", values: ["blocking", "non-blocking"] },
};
const ACCOUNT_DEFAULT = "*";

function settingRule(name: string | undefined): { default: string; values: readonly string[] } {
  const rule = name === undefined || !Object.hasOwn(SETTINGS, name) ? undefined : SETTINGS[name];
  if (!rule) throw invalidParameterException(`Invalid setting name: ${name}. Valid names are ${Object.keys(SETTINGS).join(", ")}.`); // wording not confirmed
  return rule;
}

function checkSetting(name: string | undefined, value: string | undefined): { name: SettingName; value: string } {
  const rule = settingRule(name);
  if (value === undefined || !rule.values.includes(value))
    throw invalidParameterException(`Invalid value '${value}' for setting ${name}. Valid values are ${rule.values.join(", ")}.`);
  // A name with a rule above is one of the SDK's SettingName values.
  return { name: name as SettingName, value };
}

const rootArn = (context: EcsContext) => `arn:${context.scope.partition}:iam::${context.scope.accountId}:root`;

export async function putAccountSetting(context: EcsContext, input: PutAccountSettingRequest, request: RequestContext): Promise<PutAccountSettingResponse> {
  const setting = checkSetting(input.name, input.value);
  const principalArn = input.principalArn ?? request.principalArn;
  await context.store.accountSettings.put(principalArn, setting.name, setting.value);
  return { setting: { ...setting, principalArn, type: "user" } };
}

export async function putAccountSettingDefault(context: EcsContext, input: PutAccountSettingDefaultRequest): Promise<PutAccountSettingDefaultResponse> {
  const setting = checkSetting(input.name, input.value);
  await context.store.accountSettings.put(ACCOUNT_DEFAULT, setting.name, setting.value);
  return { setting: { ...setting, principalArn: rootArn(context), type: "user" } };
}

export async function deleteAccountSetting(
  context: EcsContext,
  input: DeleteAccountSettingRequest,
  request: RequestContext,
): Promise<DeleteAccountSettingResponse> {
  checkSetting(input.name, SETTINGS[input.name ?? ""]?.default);
  const principalArn = input.principalArn ?? request.principalArn;
  await context.store.accountSettings.remove(principalArn, input.name!);
  return { setting: { name: input.name, value: SETTINGS[input.name!]!.default, principalArn, type: "aws_managed" } };
}

const isPage = (v: unknown): v is { n: string } => typeof (v as { n?: unknown })?.n === "string";

export async function listAccountSettings(
  context: EcsContext,
  input: ListAccountSettingsRequest,
  request: RequestContext,
): Promise<ListAccountSettingsResponse> {
  const limit = checkMaxResults(input.maxResults, 10);
  if (input.name !== undefined) settingRule(input.name);
  const principalArn = input.principalArn ?? request.principalArn;
  const stored = await context.store.accountSettings.list();
  const valueOf = (name: string, principal: string) => stored.find((s) => s.name === name && s.principalArn === principal)?.value;
  let settings: Setting[];
  if (input.effectiveSettings) {
    settings = Object.entries(SETTINGS).map(([name, rule]) => {
      const own = valueOf(name, principalArn);
      const accountDefault = valueOf(name, ACCOUNT_DEFAULT);
      return {
        name: name as Setting["name"],
        value: own ?? accountDefault ?? rule.default,
        principalArn,
        type: own || accountDefault ? "user" : "aws_managed",
      };
    });
  } else {
    settings = stored
      .filter((s) => s.principalArn === principalArn || (s.principalArn === ACCOUNT_DEFAULT && input.principalArn === undefined))
      .map((s) => ({
        name: s.name as Setting["name"],
        value: s.value,
        principalArn: s.principalArn === ACCOUNT_DEFAULT ? rootArn(context) : s.principalArn,
        type: "user",
      }));
  }
  if (input.name !== undefined) settings = settings.filter((s) => s.name === input.name);
  if (input.value !== undefined) settings = settings.filter((s) => s.value === input.value);
  settings.sort((a, b) => `${a.name}`.localeCompare(`${b.name}`));
  const page = decodeToken(input.nextToken, isPage);
  const after = page ? settings.filter((s) => `${s.name}` > page.n) : settings;
  const shown = after.slice(0, limit);
  return { settings: shown, ...(after.length > limit ? { nextToken: encodeToken({ n: `${shown.at(-1)!.name}` }) } : {}) };
}
