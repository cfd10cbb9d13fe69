// requiresAttributes as ECS computes them from what a definition uses (the capabilities a
// container instance must advertise); DescribeTaskDefinition echoes them.
import type { Attribute, RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";

export function requiredAttributes(request: RegisterTaskDefinitionRequest): Attribute[] {
  const names = new Set<string>(["com.amazonaws.ecs.capability.docker-remote-api.1.18"]);
  if (request.networkMode === "awsvpc") names.add("ecs.capability.task-eni");
  if (request.executionRoleArn) names.add("ecs.capability.execution-role-ecr-pull");
  if (request.taskRoleArn) names.add("com.amazonaws.ecs.capability.task-iam-role");
  for (const container of request.containerDefinitions ?? []) {
    if (container.logConfiguration?.logDriver === "awslogs") {
      names.add("com.amazonaws.ecs.capability.logging-driver.awslogs");
      names.add("ecs.capability.execution-role-awslogs");
      names.add("com.amazonaws.ecs.capability.docker-remote-api.1.19");
    }
    if (container.healthCheck) names.add("ecs.capability.container-health-check");
    if (container.dependsOn?.length) names.add("ecs.capability.container-ordering");
    if (container.secrets?.length) names.add("ecs.capability.secrets.asm.environment-variables");
    if (container.repositoryCredentials) names.add("com.amazonaws.ecs.capability.private-registry-authentication.secretsmanager");
    if (/\.dkr\.ecr\./.test(container.image ?? "")) names.add("com.amazonaws.ecs.capability.ecr-auth");
    if (container.linuxParameters?.initProcessEnabled) names.add("com.amazonaws.ecs.capability.docker-remote-api.1.25");
  }
  return [...names].sort().map((name) => ({ name }));
}
