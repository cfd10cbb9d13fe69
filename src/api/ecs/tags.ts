// ECS resource tags: TagResource, UntagResource, ListTagsForResource, and the tag rules shared with
// the create operations (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-using-tags.html).
import type {
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  Tag,
  TagResourceRequest,
  TagResourceResponse,
  UntagResourceRequest,
  UntagResourceResponse,
} from "@aws-sdk/client-ecs";
import { parseArn } from "../../core/arn.js";
import { invalidParameterException, resourceNotFoundException } from "../../core/errors.js";
import type { EcsContext } from "./ecs-context.js";

const MAX_TAGS = 50;

export function validateTags(tags: readonly Tag[] | undefined): { key: string; value: string }[] {
  const list = tags ?? [];
  if (list.length > MAX_TAGS) throw invalidParameterException(`The number of tags exceeds the limit of ${MAX_TAGS}.`);
  return list.map((tag) => {
    const key = tag.key ?? "";
    if (key.length < 1 || key.length > 128) throw invalidParameterException("Tag keys must be between 1 and 128 characters.");
    if (key.toLowerCase().startsWith("aws:")) throw invalidParameterException("Tag keys may not start with the reserved prefix aws:.");
    const value = tag.value ?? "";
    if (value.length > 256) throw invalidParameterException("Tag values must be at most 256 characters.");
    return { key, value };
  });
}

export const toTags = (tags: readonly { key: string; value: string }[]): Tag[] => tags.map(({ key, value }) => ({ key, value }));

/** Resolves that a taggable resource exists; tasks and other kinds plug in as their issues land. */
async function assertResourceExists(context: EcsContext, resourceArn: string | undefined): Promise<string> {
  const arn = resourceArn === undefined ? undefined : parseArn(resourceArn);
  if (!arn || arn.service !== "ecs") throw invalidParameterException("The ARN provided is invalid.");
  const [kind, ...rest] = arn.resource.split("/");
  const id = rest.join("/");
  let found = false;
  if (kind === "cluster") {
    const cluster = await context.store.clusters.get(id);
    found = cluster !== undefined && cluster.status !== "INACTIVE";
  } else if (kind === "task-definition") {
    const [family, revision] = id.split(":");
    found = (await context.store.taskDefinitions.get(family ?? "", Number(revision))) !== undefined;
  } else if (kind === "task") {
    found = (await context.store.tasks.get(resourceArn!)) !== undefined;
  } else if (kind === "service") {
    const service = await context.store.services.get(resourceArn!);
    // A deleted (DRAINING) service takes no new tags: they would outlive it into a service created under its name.
    found = service !== undefined && service.status === "ACTIVE";
  } else if (kind === "capacity-provider") {
    found = id === "FARGATE" || id === "FARGATE_SPOT";
  }
  if (!found) throw resourceNotFoundException("The specified resource is not found.");
  return resourceArn!;
}

export async function tagResource(context: EcsContext, input: TagResourceRequest): Promise<TagResourceResponse> {
  const arn = await assertResourceExists(context, input.resourceArn);
  const tags = validateTags(input.tags);
  const existing = await context.store.tags.list(arn);
  const keys = new Set([...existing.map((t) => t.key), ...tags.map((t) => t.key)]);
  if (keys.size > MAX_TAGS) throw invalidParameterException(`The number of tags exceeds the limit of ${MAX_TAGS}.`);
  await context.store.tags.put(arn, tags);
  return {};
}

export async function untagResource(context: EcsContext, input: UntagResourceRequest): Promise<UntagResourceResponse> {
  const arn = await assertResourceExists(context, input.resourceArn);
  await context.store.tags.remove(arn, input.tagKeys ?? []);
  return {};
}

export async function listTagsForResource(context: EcsContext, input: ListTagsForResourceRequest): Promise<ListTagsForResourceResponse> {
  const arn = await assertResourceExists(context, input.resourceArn);
  return { tags: toTags(await context.store.tags.list(arn)) };
}
