// Service rows for store and control-loop unit tests: a service record of the "demo" cluster in any
// status, and a service deployment history row of a service.
import type { ServiceRecord } from "../../src/store/index.js";

export const serviceClusterArn = "arn:aws:ecs:us-east-1:123456789012:cluster/demo";
export const serviceArnOf = (name: string, cluster = "demo") => `arn:aws:ecs:us-east-1:123456789012:service/${cluster}/${name}`;

/** A service of the "demo" cluster, ACTIVE unless `overrides` says otherwise, written at 1 s. */
export function serviceRecord(name: string, overrides: Partial<Omit<ServiceRecord, "version">> = {}): Omit<ServiceRecord, "version"> {
  const status = overrides.status ?? "ACTIVE";
  return {
    serviceArn: serviceArnOf(name),
    clusterArn: serviceClusterArn,
    serviceName: name,
    status,
    createdAtMs: 1_000,
    updatedAtMs: 1_000,
    service: { serviceArn: serviceArnOf(name), serviceName: name, status },
    state: { consecutiveFailures: 0, failuresSeen: {}, nextLaunchAtMs: 0 },
    ...overrides,
  };
}

/** A service deployment history row of `serviceArn`. */
export function historyRow(serviceArn: string, id: string) {
  return {
    serviceDeploymentArn: `${serviceArn.replace(":service/", ":service-deployment/")}/${id}`,
    serviceArn,
    clusterArn: serviceClusterArn,
    deploymentId: `ecs-svc/${id}`,
    activeDeploymentId: `ecs-svc/${id}`,
    serviceRevisionArn: `${serviceArn.replace(":service/", ":service-revision/")}/${id}`,
    status: "SUCCESSFUL",
    createdAtMs: 1_000,
    updatedAtMs: 1_000,
    deployment: { serviceDeploymentArn: `${serviceArn}/${id}` },
    revision: { serviceRevisionArn: `${serviceArn.replace(":service/", ":service-revision/")}/${id}` },
  };
}
