// The JSON the task metadata endpoint answers, v4 and v3, in Fargate's shapes (pure): the AWS
// docs' "Task metadata v4 JSON response for tasks on Fargate" and its examples. Built from what
// the agent knows of the task: the spec the control plane sent, its status as last reported, its
// network. Fields Berth cannot know truly are left out rather than made up:
//   - a container's CreatedAt/StartedAt (the agent's status report carries no per-container times),
//   - ContainerARN (made by the control plane, not in the spec), ClockDrift (needs adjtimex, which
//     Node cannot call), VPCID (the docs: only for EC2 container instances), and TaskTags /
//     ContainerInstanceTags in taskWithTags (the agent holds no tags; the ECS agent also leaves
//     them out when it cannot read them).
// v3 is v4 without the network details v4 added (AttachmentIndex, MAC, subnet, DNS names).
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import type { ContainerStatusReport, TaskSpec, TaskStatusReport } from "../protocol/index.js";

export interface TaskNetworkFacts {
  readonly ipv4: string;
  readonly macAddress: string;
  readonly privateDnsName: string;
}

export interface TaskMetadataInput {
  readonly spec: TaskSpec;
  readonly status: TaskStatusReport;
  readonly network: TaskNetworkFacts;
  /** MiB written to the task's ephemeral storage, when it could be measured. */
  readonly ephemeralUtilizedMiB?: number | undefined;
}

type Json = Record<string, unknown>;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
/** Drops undefined members, so an unknown field is absent rather than null. */
const defined = (object: Json): Json => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));

/** The gateway of the subnet with its prefix, as the ECS agent writes SubnetGatewayIpv4Address ("10.0.1.1/24"). */
function subnetGateway(cidr: string): string | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!match) return undefined;
  const prefix = Number(match[5]);
  const value = match.slice(1, 5).reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  const gateway = Math.floor(value / size) * size + 1;
  return `${[24, 16, 8, 0].map((shift) => Math.floor(gateway / 2 ** shift) % 256).join(".")}/${prefix}`;
}

function containerNetworks(input: TaskMetadataInput, version: 3 | 4): Json[] {
  const { spec, network } = input;
  const base = { NetworkMode: "awsvpc", IPv4Addresses: [network.ipv4] };
  if (version === 3) return [base];
  const domain = spec.region === "us-east-1" ? "ec2.internal" : `${spec.region}.compute.internal`;
  return [
    defined({
      ...base,
      AttachmentIndex: 0,
      MACAddress: network.macAddress,
      IPv4SubnetCIDRBlock: spec.network.subnetCidr,
      DomainNameSearchList: [domain],
      PrivateDNSName: network.privateDnsName,
      SubnetGatewayIpv4Address: subnetGateway(spec.network.subnetCidr),
    }),
  ];
}

const clusterName = (clusterArn: string) => clusterArn.slice(clusterArn.lastIndexOf("/") + 1);

function containerDocument(input: TaskMetadataInput, definition: ContainerDefinition | undefined, status: ContainerStatusReport, version: 3 | 4): Json {
  const { spec } = input;
  const name = status.name;
  const log = spec.logConfigurations[name] ?? undefined;
  return defined({
    DockerId: status.runtimeId,
    Name: name,
    DockerName: name,
    Image: status.image,
    ImageID: status.imageDigest,
    Labels: {
      ...(definition?.dockerLabels ?? {}),
      "com.amazonaws.ecs.cluster": spec.clusterArn,
      "com.amazonaws.ecs.container-name": name,
      "com.amazonaws.ecs.task-arn": spec.taskArn,
      "com.amazonaws.ecs.task-definition-family": spec.family,
      "com.amazonaws.ecs.task-definition-version": String(spec.revision),
    },
    DesiredStatus: input.status.desiredStatus === "STOPPED" ? "STOPPED" : "RUNNING",
    KnownStatus: status.lastStatus,
    ExitCode: status.exitCode,
    Limits: defined({ CPU: definition?.cpu ?? 0, Memory: definition?.memory }),
    Type: "NORMAL",
    ...(version === 4 && log ? { LogDriver: log.logDriver, LogOptions: log.options ?? {} } : {}),
    Networks: containerNetworks(input, version),
  });
}

/** `${ECS_CONTAINER_METADATA_URI_V4}` (or v3): one container's document. */
export function containerMetadata(input: TaskMetadataInput, containerName: string, version: 3 | 4): Json | undefined {
  const status = input.status.containers.find((container) => container.name === containerName);
  if (!status) return undefined;
  const definition = input.spec.taskDefinition.containerDefinitions?.find((candidate) => candidate.name === containerName);
  return containerDocument(input, definition, status, version);
}

/** `/task` (v4 or v3): the task and all its containers. */
export function taskMetadata(input: TaskMetadataInput, version: 3 | 4): Json {
  const { spec, status } = input;
  const definitions = new Map((spec.taskDefinition.containerDefinitions ?? []).map((definition) => [definition.name ?? "", definition]));
  const serviceName = spec.group?.startsWith("service:") ? spec.group.slice("service:".length) : undefined;
  return defined({
    Cluster: version === 4 ? spec.clusterArn : clusterName(spec.clusterArn),
    ...(version === 4 ? { ServiceName: serviceName } : {}),
    TaskARN: spec.taskArn,
    Family: spec.family,
    Revision: String(spec.revision),
    DesiredStatus: status.desiredStatus,
    KnownStatus: status.lastStatus,
    Limits: { CPU: spec.cpuUnits / 1024, Memory: spec.memoryMiB },
    PullStartedAt: iso(status.pullStartedAtMs),
    PullStoppedAt: iso(status.pullStoppedAtMs),
    ExecutionStoppedAt: iso(status.executionStoppedAtMs),
    AvailabilityZone: spec.availabilityZone,
    Containers: status.containers.map((container) => containerDocument(input, definitions.get(container.name), container, version)),
    ...(version === 4
      ? {
          LaunchType: "FARGATE",
          EphemeralStorageMetrics:
            input.ephemeralUtilizedMiB === undefined ? undefined : { Utilized: input.ephemeralUtilizedMiB, Reserved: spec.ephemeralStorageGiB * 1024 },
        }
      : {}),
  });
}
