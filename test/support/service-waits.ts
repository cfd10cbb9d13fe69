// What the services tests share: registering revisions of one family, reading one service, and
// waiting on conditions (never fixed sleeps) for a deployment to complete.
import assert from "node:assert/strict";
import type { ECSClient, Service } from "@aws-sdk/client-ecs";
import { DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { waitFor } from "./wait-for.js";

/** Registers one 0.25 vCPU / 512 MiB awsvpc revision of `family` per image, in order (revision 1, 2, …). */
export async function registerRevisions(ecs: ECSClient, family: string, images: readonly string[]): Promise<void> {
  for (const image of images) {
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "app", image }],
      }),
    );
  }
}

export async function describeService(ecs: ECSClient, cluster: string, name: string): Promise<Service> {
  const answer = await ecs.send(new DescribeServicesCommand({ cluster, services: [name] }));
  assert.equal(answer.failures?.length ?? 0, 0);
  return answer.services![0]!;
}

/** Until the service's PRIMARY deployment is COMPLETED on `revision` with `count` running and nothing else. */
export async function waitServiceCompleted(
  ecs: ECSClient,
  cluster: string,
  name: string,
  revision: number,
  count: number,
  timeoutMs = 30_000,
): Promise<Service> {
  let service: Service | undefined;
  await waitFor(
    async () => {
      service = await describeService(ecs, cluster, name);
      const primary = service.deployments?.[0];
      return (
        service.deployments?.length === 1 &&
        primary?.rolloutState === "COMPLETED" &&
        primary.taskDefinition!.endsWith(`:${revision}`) &&
        service.runningCount === count &&
        primary.runningCount === count
      );
    },
    { what: `service ${name} completed on revision ${revision} with ${count} tasks`, timeoutMs },
  );
  return service!;
}

/** The service's tasks whose last status is RUNNING. */
export async function runningTasksOfService(ecs: ECSClient, cluster: string, name: string): Promise<string[]> {
  const listed = await ecs.send(new ListTasksCommand({ cluster, serviceName: name }));
  if (listed.taskArns!.length === 0) return [];
  const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: listed.taskArns! }));
  return described.tasks!.filter((task) => task.lastStatus === "RUNNING").map((task) => task.taskArn!);
}
