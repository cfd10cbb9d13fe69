// The resources each ECS operation is authorized against, as the Service Authorization Reference
// for Amazon ECS lists them ("Actions defined by Amazon Elastic Container Service"): a cluster's
// operations on the cluster's ARN; RunTask on the task definition's, with ecs:cluster naming the
// cluster; a task's and a service's operations on their ARNs, with ecs:cluster; listing and
// account-wide operations on "*". Short names are turned into the ARNs AWS would evaluate.
// A task definition named by family alone (its latest revision) is evaluated as
// "task-definition/<family>:*", which a policy naming the family with a wildcard revision allows
// and one naming a single revision does not (the latest revision is not looked up here).
import type { AccountScope } from "../../core/arn.js";
import { buildArn, parseArn } from "../../core/arn.js";
import type { RequestContext } from "../service-module.js";
import { clusterNameOf } from "../ecs/ecs-context.js";
import { parseTaskDefinitionReference } from "../ecs/task-definitions.js";
import type { OperationAuthorization, ResourceTable } from "./request-authorizer.js";

type Input = Record<string, unknown>;

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const texts = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []);
const scopeOf = (context: RequestContext): AccountScope => ({ partition: context.partition, region: context.region, accountId: context.accountId });

/**
 * A cluster's ARN from a name or ARN ("default" when absent, as ECS does): always this server's ARN
 * of the cluster the handler will act on (clusterNameOf reads only an ARN's resource part), so an
 * ARN of another account, region or service cannot be checked as something else than its target.
 */
export function clusterArn(value: unknown, context: RequestContext): string {
  return buildArn(scopeOf(context), "ecs", `cluster/${clusterNameOf(text(value))}`);
}

const clusterName = (arn: string) => arn.slice(arn.indexOf(":cluster/") + ":cluster/".length);

/** The task definition's ARN on this server, from the family and revision the handler will resolve (any ARN's resource part). */
function taskDefinitionArn(value: unknown, context: RequestContext): string {
  const reference = parseTaskDefinitionReference(text(value));
  return buildArn(scopeOf(context), "ecs", `task-definition/${reference.family}:${reference.revision ?? "*"}`);
}

/** A task's or service's ARN from an id/name or ARN, within the cluster. */
function inCluster(kind: "task" | "service", value: string, cluster: string, context: RequestContext): string {
  return parseArn(value) ? value : buildArn(scopeOf(context), "ecs", `${kind}/${clusterName(cluster)}/${value}`);
}

const anyResource = (): OperationAuthorization => ({ resources: ["*"] });

const onCluster = (input: Input, context: RequestContext): OperationAuthorization => {
  const cluster = clusterArn(input.cluster, context);
  return { resources: [cluster], extra: { "ecs:cluster": cluster } };
};

const listedInCluster = (input: Input, context: RequestContext): OperationAuthorization => ({
  resources: ["*"],
  extra: { "ecs:cluster": clusterArn(input.cluster, context) },
});

function tasks(field: "task" | "tasks") {
  return (input: Input, context: RequestContext): OperationAuthorization => {
    const cluster = clusterArn(input.cluster, context);
    const ids = field === "task" ? [text(input.task) ?? ""] : texts(input.tasks);
    return { resources: ids.map((id) => inCluster("task", id, cluster, context)), extra: { "ecs:cluster": cluster } };
  };
}

function services(field: "service" | "services" | "serviceName") {
  return (input: Input, context: RequestContext): OperationAuthorization => {
    const cluster = clusterArn(input.cluster, context);
    const names = field === "services" ? texts(input.services) : [text(input[field]) ?? ""];
    const extra: Record<string, string> = { "ecs:cluster": cluster };
    const definition = text(input.taskDefinition);
    if (definition !== undefined) extra["ecs:task-definition"] = taskDefinitionArn(definition, context);
    return { resources: names.map((name) => inCluster("service", name, cluster, context)), extra };
  };
}

const clusterFields = (field: "cluster" | "clusters") => (input: Input, context: RequestContext) => {
  const clusters = field === "clusters" ? texts(input.clusters) : [text(input.cluster) ?? text(input.clusterName) ?? "default"];
  return { resources: (clusters.length > 0 ? clusters : ["default"]).map((cluster) => clusterArn(cluster, context)) };
};

const onResourceArn = (input: Input): OperationAuthorization => ({ resources: [text(input.resourceArn) ?? "*"] });

export const ECS_RESOURCES: ResourceTable = {
  CreateCluster: (input, context) => ({ resources: [clusterArn(input.clusterName, context)] }),
  DeleteCluster: clusterFields("cluster"),
  UpdateCluster: clusterFields("cluster"),
  UpdateClusterSettings: clusterFields("cluster"),
  PutClusterCapacityProviders: clusterFields("cluster"),
  DescribeClusters: clusterFields("clusters"),
  ListClusters: anyResource,
  RegisterTaskDefinition: anyResource,
  DescribeTaskDefinition: anyResource,
  DeregisterTaskDefinition: anyResource,
  DeleteTaskDefinitions: (input, context) => ({ resources: texts(input.taskDefinitions).map((definition) => taskDefinitionArn(definition, context)) }),
  ListTaskDefinitions: anyResource,
  ListTaskDefinitionFamilies: anyResource,
  RunTask: (input, context) => {
    const cluster = clusterArn(input.cluster, context);
    return { resources: [taskDefinitionArn(input.taskDefinition, context)], extra: { "ecs:cluster": cluster } };
  },
  StartTask: (input, context) => {
    const cluster = clusterArn(input.cluster, context);
    return { resources: [taskDefinitionArn(input.taskDefinition, context)], extra: { "ecs:cluster": cluster } };
  },
  StopTask: tasks("task"),
  DescribeTasks: tasks("tasks"),
  ListTasks: listedInCluster,
  UpdateTaskProtection: tasks("tasks"),
  GetTaskProtection: tasks("tasks"),
  CreateService: services("serviceName"),
  UpdateService: services("service"),
  DeleteService: services("service"),
  DescribeServices: services("services"),
  ListServices: listedInCluster,
  ListServicesByNamespace: anyResource,
  ListServiceDeployments: services("service"),
  DescribeServiceDeployments: (input) => ({ resources: texts(input.serviceDeploymentArns) }),
  StopServiceDeployment: (input) => ({ resources: [text(input.serviceDeploymentArn) ?? "*"] }),
  DescribeServiceRevisions: (input) => ({ resources: texts(input.serviceRevisionArns) }),
  TagResource: onResourceArn,
  UntagResource: (input) => ({ ...onResourceArn(input), extra: Array.isArray(input.tagKeys) ? { "aws:TagKeys": texts(input.tagKeys) } : {} }),
  ListTagsForResource: onResourceArn,
  DescribeCapacityProviders: anyResource,
  ListAccountSettings: anyResource,
  PutAccountSetting: anyResource,
  PutAccountSettingDefault: anyResource,
  DeleteAccountSetting: anyResource,
  ListContainerInstances: onCluster,
};
