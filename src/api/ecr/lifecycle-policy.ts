// ECR lifecycle policies: the policy text checked as PutLifecyclePolicy checks it, and the pure
// evaluation that picks the images a policy expires.
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
//
// Evaluation as ECR documents it: rules run from the lowest rulePriority up; an image is expired by
// exactly one or zero rules, and an image that matches the tag selection of a higher-priority rule
// is never expired by a lower-priority one (it is "claimed" by the first rule that selects it,
// whether that rule expires it or keeps it). A rule with tagStatus "any" must come last.
import { invalidParameter } from "./ecr-errors.js";

export type TagStatus = "tagged" | "untagged" | "any";

export interface LifecycleSelection {
  readonly tagStatus: TagStatus;
  readonly tagPrefixList?: readonly string[];
  readonly tagPatternList?: readonly string[];
  readonly countType: "imageCountMoreThan" | "sinceImagePushed";
  readonly countUnit?: "days";
  readonly countNumber: number;
}

export interface LifecycleRule {
  readonly rulePriority: number;
  readonly description?: string;
  readonly selection: LifecycleSelection;
  readonly action: { readonly type: "expire" };
}

export interface LifecyclePolicy {
  readonly rules: readonly LifecycleRule[];
}

export interface LifecycleImage {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt: number;
}

const DAY_MS = 86_400_000;
const MAX_RULES = 50; // wording and limit not confirmed
const MAX_WILDCARDS = 4;
const MAX_POLICY_CHARS = 30_720;

function fail(detail: string): never {
  // wording not confirmed
  throw invalidParameter("LifecyclePolicyText", `Lifecycle policy validation failure: ${detail}`);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === "string" && item.length > 0))
    fail(`${name} must be a non-empty list of non-empty strings`);
  return value as string[];
}

function parseRule(raw: unknown, index: number): LifecycleRule {
  if (!isRecord(raw)) fail(`rule ${index + 1} is not an object`);
  const { rulePriority, description, selection, action } = raw;
  if (typeof rulePriority !== "number" || !Number.isInteger(rulePriority) || rulePriority < 1) fail("rulePriority must be a positive integer");
  if (description !== undefined && typeof description !== "string") fail("description must be a string");
  if (!isRecord(selection)) fail(`rule ${rulePriority} has no selection`);
  if (!isRecord(action) || action.type !== "expire") fail(`rule ${rulePriority}: action type must be expire`);
  const tagStatus = selection.tagStatus;
  if (tagStatus !== "tagged" && tagStatus !== "untagged" && tagStatus !== "any") fail(`rule ${rulePriority}: tagStatus must be tagged, untagged or any`);
  const tagPrefixList = stringList(selection.tagPrefixList, "tagPrefixList");
  const tagPatternList = stringList(selection.tagPatternList, "tagPatternList");
  if (tagStatus === "tagged" && !tagPrefixList && !tagPatternList)
    fail(`rule ${rulePriority}: tagPrefixList or tagPatternList is required when tagStatus is tagged`);
  if (tagStatus !== "tagged" && (tagPrefixList || tagPatternList))
    fail(`rule ${rulePriority}: tagPrefixList and tagPatternList are only allowed when tagStatus is tagged`);
  if (tagPrefixList && tagPatternList) fail(`rule ${rulePriority}: specify tagPrefixList or tagPatternList, not both`);
  for (const pattern of tagPatternList ?? []) {
    if ((pattern.match(/\*/g) ?? []).length > MAX_WILDCARDS) fail(`rule ${rulePriority}: a tag pattern may contain at most ${MAX_WILDCARDS} wildcards`);
  }
  const { countType, countUnit, countNumber } = selection;
  if (countType !== "imageCountMoreThan" && countType !== "sinceImagePushed")
    fail(`rule ${rulePriority}: countType must be imageCountMoreThan or sinceImagePushed`);
  if (countType === "sinceImagePushed" && countUnit !== "days") fail(`rule ${rulePriority}: countUnit must be days when countType is sinceImagePushed`);
  if (countType === "imageCountMoreThan" && countUnit !== undefined)
    fail(`rule ${rulePriority}: countUnit is not allowed when countType is imageCountMoreThan`);
  if (typeof countNumber !== "number" || !Number.isInteger(countNumber) || countNumber < 1)
    fail(`rule ${rulePriority}: countNumber must be a positive integer`);
  return {
    rulePriority,
    ...(description !== undefined ? { description } : {}),
    selection: {
      tagStatus,
      ...(tagPrefixList ? { tagPrefixList } : {}),
      ...(tagPatternList ? { tagPatternList } : {}),
      countType,
      ...(countType === "sinceImagePushed" ? { countUnit: "days" as const } : {}),
      countNumber,
    },
    action: { type: "expire" },
  };
}

export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  if (text.length < 100 && text.trim() === "") fail("the policy text is empty");
  if (text.length > MAX_POLICY_CHARS) fail(`the policy text exceeds ${MAX_POLICY_CHARS} characters`);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    fail("the policy text is not valid JSON");
  }
  if (!isRecord(document) || !Array.isArray(document.rules) || document.rules.length === 0) fail("the policy must have a non-empty rules list");
  if (document.rules.length > MAX_RULES) fail(`a policy may have at most ${MAX_RULES} rules`);
  const rules = document.rules.map(parseRule).sort((a, b) => a.rulePriority - b.rulePriority);
  for (let i = 1; i < rules.length; i++) {
    if (rules[i]!.rulePriority === rules[i - 1]!.rulePriority) fail(`rulePriority ${rules[i]!.rulePriority} is used by more than one rule`);
  }
  const anyIndex = rules.findIndex((rule) => rule.selection.tagStatus === "any");
  if (anyIndex !== -1 && anyIndex !== rules.length - 1) fail("a rule with tagStatus any must have the highest rulePriority");
  return { rules };
}

/** A pattern with `*` wildcards matched against a whole tag. */
function patternMatcher(pattern: string): (tag: string) => boolean {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  const regex = new RegExp(`^${source}$`);
  return (tag) => regex.test(tag);
}

function selects(selection: LifecycleSelection, image: LifecycleImage): boolean {
  if (selection.tagStatus === "any") return true;
  if (selection.tagStatus === "untagged") return image.tags.length === 0;
  if (image.tags.length === 0) return false;
  // "If you specify multiple tags, only the images with all specified tags are selected."
  if (selection.tagPrefixList) return selection.tagPrefixList.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix)));
  return (selection.tagPatternList ?? []).every((pattern) => image.tags.some(patternMatcher(pattern)));
}

/** Digests the policy expires among `images` at `nowMs`. */
export function imagesExpiredByPolicy(policy: LifecyclePolicy, images: readonly LifecycleImage[], nowMs: number): string[] {
  const claimed = new Set<string>();
  const expired: string[] = [];
  for (const rule of [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority)) {
    const matched = images.filter((image) => !claimed.has(image.digest) && selects(rule.selection, image));
    for (const image of matched) claimed.add(image.digest);
    if (rule.selection.countType === "imageCountMoreThan") {
      // Newest first; the digest breaks ties so the choice is stable across runs.
      const newestFirst = [...matched].sort((a, b) => b.pushedAt - a.pushedAt || (a.digest < b.digest ? -1 : 1));
      expired.push(...newestFirst.slice(rule.selection.countNumber).map((image) => image.digest));
    } else {
      const cutoff = nowMs - rule.selection.countNumber * DAY_MS;
      expired.push(...matched.filter((image) => image.pushedAt < cutoff).map((image) => image.digest));
    }
  }
  return expired;
}
