// Fargate platform versions and what a task needs of one (../shared/REFERENCE.md "Fargate
// validation"; https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-linux-fargate.html):
// EFS volumes, ephemeral storage above 20 GiB, the SYS_PTRACE capability and the 8 and 16 vCPU
// sizes came with 1.4.0. LATEST is 1.4.0.
import type { TaskDefinition } from "@aws-sdk/client-ecs";
import { platformTaskDefinitionIncompatibilityException, platformUnknownException } from "../errors.js";

export const PLATFORM_VERSIONS = ["LATEST", "1.4.0", "1.3.0"] as const;

/** "LATEST" → "1.4.0"; throws PlatformUnknownException for a version Fargate does not have. */
export function resolvePlatformVersion(requested: string | undefined): "1.4.0" | "1.3.0" {
  const version = requested ?? "LATEST";
  // AWS's wording, as users report it (jenkinsci/amazon-ecs-plugin#218).
  if (!(PLATFORM_VERSIONS as readonly string[]).includes(version)) throw platformUnknownException("The specified platform does not exist.");
  return version === "1.3.0" ? "1.3.0" : "1.4.0";
}

/** The features of a task that platform version 1.3.0 lacks; empty when 1.3.0 will do. */
export function featuresNeeding140(task: { definition: TaskDefinition; cpuUnits: number; ephemeralStorageGiB: number }): string[] {
  const needs: string[] = [];
  if (task.definition.volumes?.some((volume) => volume.efsVolumeConfiguration !== undefined)) needs.push("EFS volumes");
  if (task.ephemeralStorageGiB > 20) needs.push("ephemeral storage above 20 GiB");
  if (task.definition.containerDefinitions?.some((container) => container.linuxParameters?.capabilities?.add?.includes("SYS_PTRACE")))
    needs.push("the SYS_PTRACE capability");
  if (task.cpuUnits > 4096) needs.push("more than 4 vCPU");
  return needs;
}

/** RunTask refuses a task on a platform version that lacks something it uses. */
export function assertPlatformSupports(
  platformVersion: "1.4.0" | "1.3.0",
  task: { definition: TaskDefinition; cpuUnits: number; ephemeralStorageGiB: number },
): void {
  if (platformVersion === "1.3.0" && featuresNeeding140(task).length > 0) {
    // AWS's exception and wording, as users report it for EFS on 1.3.0
    // (ansible-collections/community.aws#136, uktrade/data-workspace-frontend#944).
    throw platformTaskDefinitionIncompatibilityException("One or more of the requested capabilities are not supported.");
  }
}
