// Every rejected case of the Fargate registration rules: [behaviour, change to a valid request,
// the ClientException message]. The unit tests and the SDK integration tests share this table.
import type { RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";

/** Every rejected case: [behaviour, change to the base request, error message]. */
export const rejectedCases: [string, Partial<RegisterTaskDefinitionRequest>, RegExp][] = [
  ["rejects 256 CPU with 4096 MiB", { memory: "4096" }, /^No Fargate configuration exists for given values\.$/],
  ["rejects the bridge network mode", { networkMode: "bridge" }, /^Fargate only supports network mode 'awsvpc'\.$/],
  ["rejects a missing task cpu", { cpu: undefined }, /requires task definition to have 'cpu'/],
  ["rejects a privileged container", { containerDefinitions: [{ name: "web", image: "nginx", privileged: true }] }, /privileged/],
  ["rejects awslogs without an execution role", { executionRoleArn: undefined, containerDefinitions: [{ name: "web", image: "nginx", logConfiguration: { logDriver: "awslogs", options: {} } }] }, /^Fargate requires task definition to have execution role ARN to support log driver awslogs\.$/],
  ["rejects a host port different from the container port", { containerDefinitions: [{ name: "web", image: "nginx", portMappings: [{ containerPort: 80, hostPort: 8080 }] }] }, /host ports and container ports in port mappings must match/],
  ["rejects capabilities other than SYS_PTRACE", { containerDefinitions: [{ name: "web", image: "nginx", linuxParameters: { capabilities: { add: ["NET_ADMIN"] } } }] }, /SYS_PTRACE/],
  ["rejects a health check interval of 4 s", { containerDefinitions: [{ name: "web", image: "nginx", healthCheck: { command: ["CMD", "true"], interval: 4 } }] }, /interval/],
  ["rejects eleven containers", { containerDefinitions: Array.from({ length: 11 }, (_, i) => ({ name: `c${i}`, image: "busybox" })) }, /at most 10 containers/],
  ["rejects ephemeral storage of 201 GiB", { ephemeralStorage: { sizeInGiB: 201 } }, /between 21 GiB and 200 GiB/],
  ["rejects a SUCCESS dependency on an essential container", { containerDefinitions: [{ name: "a", image: "x" }, { name: "b", image: "x", dependsOn: [{ containerName: "a", condition: "SUCCESS" }] }] }, /essential/],
  ["rejects a dependency cycle", { containerDefinitions: [{ name: "a", image: "x", dependsOn: [{ containerName: "b", condition: "START" }] }, { name: "b", image: "x", dependsOn: [{ containerName: "a", condition: "START" }] }] }, /cycle/],
  ["rejects a container without an image", { containerDefinitions: [{ name: "web" }] }, /^Container\.image should not be null or empty\.$/],
  ["rejects a definition without an essential container", { containerDefinitions: [{ name: "web", image: "nginx", essential: false }] }, /essential container/],
];
