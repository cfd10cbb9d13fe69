// The ECS service module (AWS JSON 1.1, target prefix AmazonEC2ContainerServiceV20141113, signing
// name "ecs"): clusters, capacity providers, task definitions, tags and account settings. Task
// operations (RunTask, …) are offered when a TaskLauncher is given.
import * as ecsSdk from "@aws-sdk/client-ecs";
import type { AccountScope } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import type { Store } from "../../store/index.js";
import type { JsonServiceModule, RequestContext, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import { deleteAccountSetting, listAccountSettings, putAccountSetting, putAccountSettingDefault } from "./account-settings.js";
import {
  createCluster,
  deleteCluster,
  describeCapacityProviders,
  describeClusters,
  listClusters,
  putClusterCapacityProviders,
  updateCluster,
  updateClusterSettings,
} from "./clusters.js";
import type { TaskLauncher } from "../../control/task-launcher.js";
import type { EcsContext } from "./ecs-context.js";
import { describeTasks, listTasks, runTask, stopTask } from "./tasks.js";
import type { ServiceOperationsContext } from "./services.js";
import { createService, deleteService, describeServices, listServices, updateService } from "./services.js";
import { DEFAULT_SERVICES_PER_CLUSTER } from "../../core/ecs-service/service-request.js";
import { listTagsForResource, tagResource, untagResource } from "./tags.js";
import { getTaskProtection, updateTaskProtection } from "./task-protection.js";
import {
  describeServiceDeployments,
  describeServiceRevisions,
  listServiceDeployments,
  listServicesByNamespace,
  stopServiceDeployment,
} from "./service-deployments.js";
import {
  deleteTaskDefinitions,
  deregisterTaskDefinition,
  describeTaskDefinition,
  listTaskDefinitionFamilies,
  listTaskDefinitions,
  registerTaskDefinition,
} from "./task-definitions.js";

export interface EcsServiceOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly scope: AccountScope;
  /** Runs and stops tasks; without it the task operations are not offered (unknown operation). */
  readonly launcher?: TaskLauncher;
  /** ECS's "Services per cluster" quota (default DEFAULT_SERVICES_PER_CLUSTER, 5,000). */
  readonly servicesPerCluster?: number;
}

/** ECS's operations by name, with the request and response shapes of the SDK in package.json. */
type EcsOperations = SdkOperations<typeof ecsSdk>;

/** A handler of this folder, given the module's context first. */
type EcsHandler<C, I, O> = (context: C, input: I, request: RequestContext) => Promise<O>;

/** Binds a handler to its context; the operation table then checks its input and output types. */
const bind =
  <C, I extends object, O extends object>(context: C, handler: EcsHandler<C, I, O>) =>
  (input: I, request: RequestContext): Promise<O> =>
    handler(context, input, request);

function taskOperations(context: ServiceOperationsContext) {
  return {
    RunTask: bind(context, runTask),
    StopTask: bind(context, stopTask),
    DescribeTasks: bind(context, describeTasks),
    ListTasks: bind(context, listTasks),
    CreateService: bind(context, createService),
    UpdateService: bind(context, updateService),
    DeleteService: bind(context, deleteService),
    DescribeServices: bind(context, describeServices),
    ListServices: bind(context, listServices),
    GetTaskProtection: bind(context, getTaskProtection),
    UpdateTaskProtection: bind(context, updateTaskProtection),
    ListServiceDeployments: bind(context, listServiceDeployments),
    DescribeServiceDeployments: bind(context, describeServiceDeployments),
    DescribeServiceRevisions: bind(context, describeServiceRevisions),
    StopServiceDeployment: bind(context, stopServiceDeployment),
    ListServicesByNamespace: bind(context, listServicesByNamespace),
  };
}

export function createEcsService(options: EcsServiceOptions): JsonServiceModule {
  const context: EcsContext = { store: options.store, clock: options.clock, scope: options.scope };
  const on = <I extends object, O extends object>(handler: EcsHandler<EcsContext, I, O>) => bind(context, handler);
  return {
    signingName: "ecs",
    targetPrefix: "AmazonEC2ContainerServiceV20141113",
    jsonVersion: "1.1",
    schemas: ecsSdk as unknown as Record<string, unknown>,
    operations: jsonOperations<EcsOperations>()({
      CreateCluster: on(createCluster),
      DescribeClusters: on(describeClusters),
      ListClusters: on(listClusters),
      UpdateCluster: on(updateCluster),
      UpdateClusterSettings: on(updateClusterSettings),
      DeleteCluster: on(deleteCluster),
      PutClusterCapacityProviders: on(putClusterCapacityProviders),
      DescribeCapacityProviders: on(describeCapacityProviders),
      RegisterTaskDefinition: on(registerTaskDefinition),
      DescribeTaskDefinition: on(describeTaskDefinition),
      ListTaskDefinitions: on(listTaskDefinitions),
      ListTaskDefinitionFamilies: on(listTaskDefinitionFamilies),
      DeregisterTaskDefinition: on(deregisterTaskDefinition),
      DeleteTaskDefinitions: on(deleteTaskDefinitions),
      TagResource: on(tagResource),
      UntagResource: on(untagResource),
      ListTagsForResource: on(listTagsForResource),
      ListAccountSettings: on(listAccountSettings),
      PutAccountSetting: on(putAccountSetting),
      PutAccountSettingDefault: on(putAccountSettingDefault),
      DeleteAccountSetting: on(deleteAccountSetting),
      ...(options.launcher
        ? taskOperations({ ...context, launcher: options.launcher, servicesPerCluster: options.servicesPerCluster ?? DEFAULT_SERVICES_PER_CLUSTER })
        : {}),
    }),
  };
}
