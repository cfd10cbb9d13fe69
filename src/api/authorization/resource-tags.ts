// The tags of the resource a call acts on, for aws:ResourceTag/… conditions: ECS clusters, services
// and task definitions (the tags table) and tasks (their document), Secrets Manager secrets, SSM
// parameters, IAM roles and users, ACM certificates, ELBv2 load balancers, target groups, listeners
// and rules. Read only when a policy in force names aws:ResourceTag (the Authorizer decides), one resource at a time. Other resources answer no tags: a condition on them
// does not match (an Allow needing one allows nothing; a Deny needing one denies nothing).
import { parseArn } from "../../core/arn.js";
import type { Store } from "../../store/index.js";

type Tags = ReadonlyMap<string, string>;
const fromPairs = (pairs: readonly { readonly Key: string; readonly Value: string }[]): Tags => new Map(pairs.map((tag) => [tag.Key, tag.Value]));

export function resourceTagsReader(
  store: Pick<Store, "tags" | "tasks" | "secrets" | "parameters" | "iam" | "certificates" | "elbv2">,
): (arn: string) => Promise<Tags | undefined> {
  return async (arn) => {
    const parsed = parseArn(arn);
    if (parsed === undefined) return undefined;
    switch (parsed.service) {
      case "ecs": {
        if (parsed.resource.startsWith("task/")) return new Map(((await store.tasks.get(arn))?.task.tags ?? []).map((tag) => [tag.key ?? "", tag.value ?? ""]));
        return new Map((await store.tags.list(arn)).map((tag) => [tag.key, tag.value]));
      }
      case "secretsmanager": {
        const secret = await store.secrets.byArn(arn);
        return secret === undefined ? undefined : fromPairs(secret.tags);
      }
      case "ssm": {
        const name = /^parameter(\/.*)$/.exec(parsed.resource)?.[1];
        if (name === undefined) return undefined;
        // A name without a leading "/" is stored without it; its ARN reads "parameter/name".
        const parameter = (await store.parameters.get(name)) ?? (await store.parameters.get(name.slice(1)));
        return parameter === undefined ? undefined : fromPairs(parameter.tags);
      }
      case "acm": {
        const certificate = await store.certificates.get(arn);
        return certificate === undefined ? undefined : new Map(certificate.tags.map((tag) => [tag.Key, tag.Value ?? ""]));
      }
      case "iam": {
        const entity = /^(role|user)\/(?:.*\/)?([^/]+)$/.exec(parsed.resource);
        if (entity === null) return undefined;
        const stored = entity[1] === "role" ? await store.iam.getRole(entity[2] ?? "") : await store.iam.getUser(entity[2] ?? "");
        return stored?.arn === arn ? stored.tags : undefined;
      }
      case "elasticloadbalancing":
        return elbv2Tags(store.elbv2, arn, parsed.resource);
      default:
        return undefined;
    }
  };
}

/** Load balancers, target groups, listeners and rules share one tag table; a resource that does not exist has no tags to match. */
async function elbv2Tags(elbv2: Store["elbv2"], arn: string, resource: string): Promise<Tags | undefined> {
  const kind = /^(loadbalancer|targetgroup|listener|listener-rule)\//.exec(resource)?.[1];
  const lookups: Readonly<Record<string, (arn: string) => Promise<unknown>>> = {
    loadbalancer: elbv2.getLoadBalancer,
    targetgroup: elbv2.getTargetGroup,
    listener: elbv2.getListener,
    "listener-rule": elbv2.getRule,
  };
  const lookup = kind === undefined ? undefined : lookups[kind];
  if (lookup === undefined || (await lookup(arn)) === undefined) return undefined;
  return (await elbv2.tagsOf([arn])).get(arn);
}
