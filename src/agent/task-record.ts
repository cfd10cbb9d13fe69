// The durable record of one task on the agent (written after every change, see agent.ts) and the
// status report derived from it. Pure data and pure functions; task-state-cell.ts makes the changes.
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import type { ContainerStatusReport, TaskHealth, TaskLastStatus, TaskSpec, TaskStatusReport, TaskStopCode } from "../protocol/index.js";
import { protocolVersion } from "../protocol/index.js";
import type { TaskNetworkInfo } from "./ports.js";

export type ContainerPhase = "NONE" | "PULLED" | "CREATED" | "RUNNING" | "STOPPED";

export interface ContainerRecord {
  name: string;
  phase: ContainerPhase;
  runtimeId?: string;
  imageDigest?: string;
  stopSignal?: string;
  exitCode?: number;
  reason?: string;
  health: TaskHealth;
  logOffset: number;
  /** When it started running (a dependency's startTimeout counts from here, as in the ECS agent). */
  startedAtMs?: number;
  /** Every log line reached the sink (or was dropped with an error): the container may be removed. */
  logsShipped?: boolean;
}

/** Everything durable about one task: written after each change (SqliteStateStore, agent.ts). */
export interface TaskRecord {
  spec: TaskSpec;
  lastStatus: TaskLastStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  sequence: number;
  network?: TaskNetworkInfo;
  /**
   * The reserved network is plugged in (connect finished). False while containers are created
   * alongside; absent in records written before the split, whose network was set up in one step.
   */
  networkConnected?: boolean;
  rootfsPrepared: boolean;
  /** The task's storage and cgroups may exist (preparation started): cleanup must remove them. */
  storageRequested?: boolean;
  pullStartedAtMs?: number;
  pullStoppedAtMs?: number;
  connectivityAtMs?: number;
  startedAtMs?: number;
  stoppingAtMs?: number;
  executionStoppedAtMs?: number;
  stoppedAtMs?: number;
  stopCode?: TaskStopCode;
  stoppedReason?: string;
  containers: ContainerRecord[];
}

export function newTaskRecord(spec: TaskSpec): TaskRecord {
  return {
    spec,
    lastStatus: "PROVISIONING",
    desiredStatus: spec.desiredStatus,
    sequence: 0,
    rootfsPrepared: false,
    containers: (spec.taskDefinition.containerDefinitions ?? []).map((c) => ({
      name: c.name ?? "",
      phase: "NONE",
      health: "UNKNOWN",
      logOffset: 0,
    })),
  };
}

export function describeTask(r: TaskRecord, definitions: ReadonlyMap<string, ContainerDefinition>): TaskStatusReport {
  const containers: ContainerStatusReport[] = r.containers.map((c) => ({
    name: c.name,
    runtimeId: c.runtimeId,
    lastStatus: c.phase === "RUNNING" ? "RUNNING" : c.phase === "STOPPED" ? "STOPPED" : "PENDING",
    exitCode: c.exitCode,
    reason: c.reason,
    health: c.health,
    essential: essential(definitions, c.name),
    image: definitions.get(c.name)?.image ?? "",
    imageDigest: c.imageDigest,
    networkInterfaces: r.network ? [{ attachmentId: r.network.eniId, privateIpv4Address: r.network.ipv4 }] : [],
  }));
  return {
    protocolVersion,
    taskArn: r.spec.taskArn,
    lastStatus: r.lastStatus,
    desiredStatus: r.desiredStatus,
    sequence: r.sequence,
    health: taskHealth(r, definitions),
    pullStartedAtMs: r.pullStartedAtMs,
    pullStoppedAtMs: r.pullStoppedAtMs,
    connectivityAtMs: r.connectivityAtMs,
    startedAtMs: r.startedAtMs,
    stoppingAtMs: r.stoppingAtMs,
    executionStoppedAtMs: r.executionStoppedAtMs,
    stoppedAtMs: r.stoppedAtMs,
    stopCode: r.stopCode,
    stoppedReason: r.stoppedReason,
    attachment: r.network
      ? {
          type: "ElasticNetworkInterface",
          status: r.lastStatus === "STOPPED" ? "DELETED" : "ATTACHED",
          subnetId: r.spec.network.subnetId,
          networkInterfaceId: r.network.eniId,
          macAddress: r.network.macAddress,
          privateDnsName: r.network.privateDnsName,
          privateIPv4Address: r.network.ipv4,
        }
      : undefined,
    containers,
  };
}

const essential = (definitions: ReadonlyMap<string, ContainerDefinition>, name: string): boolean => definitions.get(name)?.essential ?? true;

/** Task health from essential containers with health checks (ECS: UNHEALTHY if any is, HEALTHY if all are). */
function taskHealth(r: TaskRecord, definitions: ReadonlyMap<string, ContainerDefinition>): TaskHealth {
  const checked = r.containers.filter((c) => essential(definitions, c.name) && definitions.get(c.name)?.healthCheck?.command?.length);
  if (checked.length === 0) return "UNKNOWN";
  if (checked.some((c) => c.health === "UNHEALTHY")) return "UNHEALTHY";
  return checked.every((c) => c.health === "HEALTHY") ? "HEALTHY" : "UNKNOWN";
}
