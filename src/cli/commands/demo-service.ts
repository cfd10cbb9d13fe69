// `berth demo --service`: the demo's web app as a 2-task ECS service instead of one task — create
// the service (or, on a second run, update it to the newly registered revision), wait until it is
// stable as `aws ecs wait services-stable` would, and hand back the tasks' private IPs; with
// --cleanup, scale it to zero, delete it and wait until it is INACTIVE. Every step prints the aws
// command that does the same.
import type { ECSClient, Service } from "@aws-sdk/client-ecs";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";

export const DEMO_SERVICE = "sample-app-service";
export const DEMO_SERVICE_TASKS = 2;
/** The container of the demo's task definition (demo.ts registers it, CONTAINER there) that listens on port 80. */
const DEMO_CONTAINER = "sample-app";

/** The parts of the demo's session the service steps use. */
export interface DemoSteps {
  readonly ecs: ECSClient;
  out(line?: string): void;
  step(title: string, commands: readonly string[]): void;
  aws(args: string): string;
}

export interface DemoServiceInput {
  readonly cluster: string;
  readonly taskDefinition: string;
  readonly subnetIds: readonly string[];
  readonly groupId: string;
  readonly deadline: number;
  /** The target group the service's tasks are registered in (port 80 of the container "web"). */
  readonly targetGroupArn?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates (or updates) the service and waits until it is stable; the private IPs of its tasks. */
export async function runDemoService(session: DemoSteps, input: DemoServiceInput): Promise<string[]> {
  const { cluster, taskDefinition, subnetIds, groupId, targetGroupArn } = input;
  const loadBalancers = targetGroupArn ? [{ targetGroupArn, containerName: DEMO_CONTAINER, containerPort: 80 }] : undefined;
  const loadBalancersArg = targetGroupArn ? ` --load-balancers targetGroupArn=${targetGroupArn},containerName=${DEMO_CONTAINER},containerPort=80` : "";
  const network = `awsvpcConfiguration={subnets=[${subnetIds.join(",")}],securityGroups=[${groupId}],assignPublicIp=DISABLED}`;
  const existing = (await session.ecs.send(new DescribeServicesCommand({ cluster, services: [DEMO_SERVICE] }))).services?.[0];
  if (existing?.status === "ACTIVE") {
    session.step(`Update the service ${DEMO_SERVICE} to the new revision (a rolling deployment)`, [
      session.aws(
        `ecs update-service --cluster ${cluster} --service ${DEMO_SERVICE} --task-definition ${taskDefinition} --desired-count ${DEMO_SERVICE_TASKS}${loadBalancersArg}`,
      ),
    ]);
    await session.ecs.send(
      new UpdateServiceCommand({
        cluster,
        service: DEMO_SERVICE,
        taskDefinition,
        desiredCount: DEMO_SERVICE_TASKS,
        ...(loadBalancers ? { loadBalancers } : {}),
      }),
    );
  } else {
    session.step(`Create the service ${DEMO_SERVICE}: ${DEMO_SERVICE_TASKS} tasks kept running, replaced if they stop`, [
      session.aws(
        `ecs create-service --cluster ${cluster} --service-name ${DEMO_SERVICE} --task-definition ${taskDefinition} --desired-count ${DEMO_SERVICE_TASKS} --launch-type FARGATE --network-configuration '${network}' --deployment-configuration 'maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}'${loadBalancersArg}`,
      ),
    ]);
    await session.ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: DEMO_SERVICE,
        taskDefinition,
        desiredCount: DEMO_SERVICE_TASKS,
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: [...subnetIds], securityGroups: [groupId], assignPublicIp: "DISABLED" } },
        deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100, deploymentCircuitBreaker: { enable: true, rollback: true } },
        ...(loadBalancers ? { loadBalancers } : {}),
      }),
    );
  }
  const service = await waitStable(session, cluster, input.deadline);
  session.step("Its tasks", [session.aws(`ecs list-tasks --cluster ${cluster} --service-name ${DEMO_SERVICE}`)]);
  const arns = (await session.ecs.send(new ListTasksCommand({ cluster, serviceName: DEMO_SERVICE }))).taskArns ?? [];
  const tasks = arns.length > 0 ? ((await session.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }))).tasks ?? []) : [];
  const ips: string[] = [];
  for (const task of tasks.filter((candidate) => candidate.lastStatus === "RUNNING")) {
    const ip = task.attachments?.[0]?.details?.find((detail) => detail.name === "privateIPv4Address")?.value;
    session.out(`    ${task.taskArn} ${task.availabilityZone} ${ip ?? "(no address)"} (${task.startedBy})`);
    if (ip) ips.push(ip);
  }
  if (ips.length === 0) throw new Error(`the service ${service.serviceName} reports no running task with an address`);
  return ips;
}

/** Polls DescribeServices until one deployment is left and it runs the desired count (services-stable's test); prints the new events. */
async function waitStable(session: DemoSteps, cluster: string, deadline: number): Promise<Service> {
  session.step("Wait until the service is stable", [session.aws(`ecs wait services-stable --cluster ${cluster} --services ${DEMO_SERVICE}`)]);
  const shown = new Set<string>();
  for (;;) {
    const service = (await session.ecs.send(new DescribeServicesCommand({ cluster, services: [DEMO_SERVICE] }))).services?.[0];
    if (!service) throw new Error(`the service ${DEMO_SERVICE} is gone`);
    for (const event of [...(service.events ?? [])].reverse()) {
      if (shown.has(event.id!)) continue;
      shown.add(event.id!);
      session.out(`    ${event.message}`);
    }
    const primary = service.deployments?.[0];
    if (service.deployments?.length === 1 && service.runningCount === service.desiredCount && primary?.rolloutState !== "IN_PROGRESS") {
      if (primary?.rolloutState === "FAILED") throw new Error(`the deployment failed: ${primary.rolloutStateReason}`);
      return service;
    }
    if (Date.now() > deadline) throw new Error(`the service is not stable yet (running ${service.runningCount} of ${service.desiredCount})`);
    await sleep(500);
  }
}

/** --cleanup: scale to zero, delete, wait until INACTIVE. */
export async function deleteDemoService(session: DemoSteps, cluster: string, deadline: number): Promise<void> {
  session.step("Delete the service (--cleanup)", [
    session.aws(`ecs update-service --cluster ${cluster} --service ${DEMO_SERVICE} --desired-count 0`),
    session.aws(`ecs delete-service --cluster ${cluster} --service ${DEMO_SERVICE}`),
    session.aws(`ecs wait services-inactive --cluster ${cluster} --services ${DEMO_SERVICE}`),
  ]);
  await session.ecs.send(new UpdateServiceCommand({ cluster, service: DEMO_SERVICE, desiredCount: 0 }));
  await session.ecs.send(new DeleteServiceCommand({ cluster, service: DEMO_SERVICE }));
  for (;;) {
    const status = (await session.ecs.send(new DescribeServicesCommand({ cluster, services: [DEMO_SERVICE] }))).services?.[0]?.status;
    if (status === "INACTIVE") break;
    if (Date.now() > deadline + 120_000) throw new Error(`the service did not drain (still ${status})`);
    await sleep(500);
  }
  session.out("    INACTIVE");
}
