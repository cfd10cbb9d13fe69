// The task side of the ECS API: RunTask places tasks on the fleet and records their desired state
// (the TaskSpec each host's agent will long-poll for); StopTask moves desired status to STOPPED;
// DescribeTasks and ListTasks read what the agents reported. Placement is planned by the pure
// scheduler over a snapshot and applied under one lock, so two concurrent RunTasks never reserve
// the same capacity twice (one control plane; replicas on PostgreSQL will need a row lock here).
import type { Cluster, RunTaskRequest, Tag, Task, TaskDefinition } from "@aws-sdk/client-ecs";
import type { AccountScope } from "../core/arn.js";
import type { Clock } from "../core/clock.js";
import type { DefaultNetwork } from "../core/default-network.js";
import { clientException, invalidParameterException } from "../core/errors.js";
import { applyOverrides } from "../core/run-task/apply-overrides.js";
import { splitByStrategy } from "../core/run-task/capacity-provider-split.js";
import { assertPlatformSupports, resolvePlatformVersion } from "../core/run-task/platform-version.js";
import { assertFargateCompatible, validateRunTaskRequest } from "../core/run-task/validate-run-task.js";
import { newTaskDocument } from "../core/task-document.js";
import type { TaskSpec } from "../protocol/index.js";
import { defaultStopTimeoutMs, protocolVersion } from "../protocol/index.js";
import type { HostSnapshot } from "../scheduler/place-tasks.js";
import { NO_CAPACITY_REASON, placeTasks } from "../scheduler/place-tasks.js";
import type { Store } from "../store/index.js";
import type { TaskRow } from "../store/tasks-repository.js";

export interface TaskLauncherOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly scope: AccountScope;
  readonly network: DefaultNetwork;
  /** Wakes the agents of hosts whose desired tasks changed. */
  readonly notifyHost: (hostId: string) => void;
}

export interface RunTaskContext {
  readonly cluster: Cluster & { clusterName: string; clusterArn: string };
  readonly definition: TaskDefinition;
  readonly definitionTags: readonly Tag[];
}

export class TaskLauncher {
  private planning: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: TaskLauncherOptions) {}

  /** Runs `work` after every earlier planning step finished (an in-process lock). */
  private exclusively<T>(work: () => Promise<T>): Promise<T> {
    const next = this.planning.then(work, work);
    this.planning = next.catch(() => undefined);
    return next;
  }

  async runTask(request: RunTaskRequest, context: RunTaskContext): Promise<{ tasks: Task[]; failures: { arn?: string; reason: string }[] }> {
    const placement = validateRunTaskRequest(request);
    const { cluster, definition } = context;
    if (definition.status !== "ACTIVE") throw clientException("TaskDefinition is inactive");
    assertFargateCompatible(definition.compatibilities);
    const effective = applyOverrides(definition, request.overrides);
    assertPlatformSupports(resolvePlatformVersion(placement.platformVersion), effective);
    const subnets = placement.subnets.map((id) => {
      const subnet = this.options.network.subnets.find((candidate) => candidate.subnetId === id);
      if (!subnet) throw invalidParameterException(`Error retrieving subnet information for [${id}]: The subnet ID '${id}' does not exist`);
      return subnet;
    });
    for (const id of placement.securityGroups) {
      if (!this.options.network.securityGroups.some((group) => group.groupId === id)) {
        throw invalidParameterException(`Error retrieving security group information for [${id}]: The security group '${id}' does not exist`);
      }
    }
    const strategy = placement.strategy ?? (request.launchType === undefined && cluster.defaultCapacityProviderStrategy?.length ? cluster.defaultCapacityProviderStrategy : [{ capacityProvider: "FARGATE", weight: 1 }]);
    const architecture = definition.runtimePlatform?.cpuArchitecture === "ARM64" ? "ARM64" : "X86_64";
    if (architecture === "ARM64" && strategy.some((item) => item.capacityProvider === "FARGATE_SPOT" && (item.weight ?? 0) + (item.base ?? 0) > 0)) {
      throw invalidParameterException("Fargate Spot is not supported for the ARM64 CPU architecture."); // wording not confirmed
    }
    const tags = mergeTags(request.tags ?? [], request.propagateTags === "TASK_DEFINITION" ? context.definitionTags : []);

    return this.exclusively(async () => {
      if (request.clientToken !== undefined) {
        // The same clientToken answers what the first call did, failures included (even a run
        // that placed nothing), with the tasks as they are now.
        const remembered = await this.options.store.tasks.rememberedRun(cluster.clusterArn, request.clientToken);
        if (remembered) {
          const stored = new Map((await this.options.store.tasks.getMany(remembered.taskArns)).map((found) => [found.row.task_arn, found.task]));
          return { tasks: remembered.taskArns.flatMap((arn) => stored.get(arn) ?? []), failures: remembered.failures };
        }
        const earlier = await this.options.store.tasks.byClientToken(cluster.clusterArn, request.clientToken);
        if (earlier.length > 0) return { tasks: earlier.map((found) => found.task), failures: [] };
      }
      const hosts = await this.snapshot();
      const tasks: Task[] = [];
      const failures: { arn?: string; reason: string }[] = [];
      const rows: Omit<TaskRow, "version">[] = [];
      const notified = new Set<string>();
      const placedPerZone = new Map<string, number>();
      for (const share of splitByStrategy(strategy, placement.count)) {
        const plan = placeTasks(hosts, {
          placedPerZone,
          count: share.count,
          cpuUnits: effective.cpuUnits,
          memoryMiB: effective.memoryMiB,
          ephemeralGiB: effective.ephemeralStorageGiB,
          architecture,
          subnets,
        });
        for (let i = 0; i < plan.unplaced; i++) failures.push({ reason: NO_CAPACITY_REASON });
        for (const place of plan.placements) {
          placedPerZone.set(place.availabilityZone, (placedPerZone.get(place.availabilityZone) ?? 0) + 1);
          reserve(hosts, place.hostId, effective);
          const subnet = subnets.find((candidate) => candidate.subnetId === place.subnetId)!;
          const createdAt = new Date(this.options.clock.now());
          const task = newTaskDocument({
            scope: this.options.scope,
            clusterArn: cluster.clusterArn,
            clusterName: cluster.clusterName,
            taskDefinition: definition,
            overrides: request.overrides,
            cpuUnits: effective.cpuUnits,
            memoryMiB: effective.memoryMiB,
            ephemeralStorageGiB: effective.ephemeralStorageGiB,
            capacityProviderName: share.capacityProvider,
            subnetId: place.subnetId,
            availabilityZone: place.availabilityZone,
            platformVersion: placement.platformVersion,
            startedBy: request.startedBy,
            group: request.group,
            tags,
            enableExecuteCommand: request.enableExecuteCommand ?? false,
            createdAt,
          });
          const taskId = task.taskArn!.slice(task.taskArn!.lastIndexOf("/") + 1);
          const spec: TaskSpec = {
            protocolVersion,
            taskArn: task.taskArn!,
            taskId,
            clusterArn: cluster.clusterArn,
            family: definition.family!,
            revision: definition.revision!,
            taskDefinition: effective.definition,
            ...(request.overrides ? { overrides: request.overrides } : {}),
            cpuUnits: effective.cpuUnits,
            memoryMiB: effective.memoryMiB,
            ephemeralStorageGiB: effective.ephemeralStorageGiB,
            platform: { os: "linux", architecture: architecture === "ARM64" ? "arm64" : "amd64" },
            network: { subnetId: place.subnetId, subnetCidr: subnet.cidrBlock, securityGroups: placement.securityGroups, assignPublicIp: placement.assignPublicIp },
            region: this.options.scope.region,
            availabilityZone: place.availabilityZone,
            desiredStatus: "RUNNING",
            stopTimeoutMs: defaultStopTimeoutMs,
            pullPolicy: "always",
            logConfigurations: Object.fromEntries((effective.definition.containerDefinitions ?? []).map((c) => [c.name!, c.logConfiguration ?? null])),
            credentials: {
              ...(effective.definition.executionRoleArn ? { executionRoleArn: effective.definition.executionRoleArn } : {}),
              ...(effective.definition.taskRoleArn ? { taskRoleArn: effective.definition.taskRoleArn } : {}),
            },
            createdAtMs: createdAt.getTime(),
            ...(request.startedBy !== undefined ? { startedBy: request.startedBy } : {}),
            group: task.group!,
          };
          rows.push({
            task_arn: task.taskArn!,
            task_id: taskId,
            cluster_arn: cluster.clusterArn,
            family: definition.family!,
            started_by: request.startedBy ?? null,
            service_name: null,
            launch_type: "FARGATE",
            desired_status: "RUNNING",
            last_status: "PROVISIONING",
            host_id: place.hostId,
            cpu_units: effective.cpuUnits,
            memory_mib: effective.memoryMiB,
            ephemeral_gib: effective.ephemeralStorageGiB,
            client_token: request.clientToken ?? null,
            created_at: createdAt.getTime(),
            stopped_at: null,
            report_sequence: 0,
            document: JSON.stringify(task),
            spec: JSON.stringify(spec),
          });
          tasks.push(task);
          notified.add(place.hostId);
        }
      }
      // One transaction: tasks, their tags and the remembered outcome, or nothing.
      await this.options.store.tasks.insert(rows, {
        tags: tags.map((tag) => ({ key: tag.key ?? "", value: tag.value ?? "" })),
        ...(request.clientToken !== undefined
          ? { run: { clusterArn: cluster.clusterArn, clientToken: request.clientToken, createdAt: this.options.clock.now(), failures } }
          : {}),
      });
      for (const hostId of notified) this.options.notifyHost(hostId);
      return { tasks, failures };
    });
  }

  async stopTask(taskArn: string, reason: string | undefined): Promise<Task | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.options.store.tasks.get(taskArn);
      if (!stored) return undefined;
      if (stored.row.desired_status === "STOPPED") return stored.task;
      const unplaced = stored.row.host_id === null;
      const now = new Date(this.options.clock.now());
      const task: Task = {
        ...stored.task,
        desiredStatus: "STOPPED",
        stopCode: stored.task.stopCode ?? "UserInitiated",
        stoppedReason: stored.task.stoppedReason ?? reason ?? "Task stopped by user",
        stoppingAt: stored.task.stoppingAt ?? now,
        ...(unplaced ? { lastStatus: "STOPPED", stoppedAt: now } : {}),
        version: (stored.task.version ?? 1) + 1,
      };
      const applied = await this.options.store.tasks.update(taskArn, stored.row.version, {
        desired_status: "STOPPED",
        ...(unplaced ? { last_status: "STOPPED", stopped_at: now.getTime() } : {}),
        document: JSON.stringify(task),
      });
      if (applied) {
        if (stored.row.host_id) this.options.notifyHost(stored.row.host_id);
        return task;
      }
    }
    throw new Error(`StopTask lost the race for ${taskArn} five times`);
  }

  /** A host serves the AZs of its subnets (its own AZ when it named none). */
  private zonesOf(host: { availability_zone: string; subnets_json: string }): string[] {
    const subnetIds = JSON.parse(host.subnets_json) as string[];
    const zones = new Set(this.options.network.subnets.filter((subnet) => subnetIds.includes(subnet.subnetId)).map((subnet) => subnet.availabilityZone));
    return zones.size > 0 ? [...zones] : [host.availability_zone];
  }

  /** The fleet with every not-yet-STOPPED task's reservation. */
  private async snapshot(): Promise<HostSnapshot[]> {
    const [hosts, active] = await Promise.all([this.options.store.hosts.list(), this.options.store.tasks.reservations()]);
    const snapshot = hosts.map((host) => ({
      hostId: host.host_id,
      availabilityZones: this.zonesOf(host),
      architecture: host.architecture as HostSnapshot["architecture"],
      status: host.status as HostSnapshot["status"],
      capacity: { cpuUnits: host.cpu_units, memoryMiB: host.memory_mib, taskSlots: host.task_slots, ephemeralGiB: host.ephemeral_gib },
      reserved: { cpuUnits: 0, memoryMiB: 0, taskSlots: 0, ephemeralGiB: 0 },
    }));
    for (const task of active) {
      if (task.host_id) reserve(snapshot, task.host_id, { cpuUnits: task.cpu_units, memoryMiB: task.memory_mib, ephemeralStorageGiB: task.ephemeral_gib });
    }
    return snapshot;
  }
}

/** The task's tags: RunTask's own, then the propagated ones whose keys it did not set. */
function mergeTags(own: readonly Tag[], propagated: readonly Tag[]): Tag[] {
  const keys = new Set(own.map((tag) => tag.key));
  const merged = [...own, ...propagated.filter((tag) => !keys.has(tag.key))];
  if (merged.length > 50) throw invalidParameterException("The number of tags exceeds the limit of 50.");
  return merged;
}

function reserve(hosts: HostSnapshot[], hostId: string, task: { cpuUnits: number; memoryMiB: number; ephemeralStorageGiB: number }): void {
  const index = hosts.findIndex((host) => host.hostId === hostId);
  const host = hosts[index];
  if (!host) return;
  hosts[index] = {
    ...host,
    reserved: {
      cpuUnits: host.reserved.cpuUnits + task.cpuUnits,
      memoryMiB: host.reserved.memoryMiB + task.memoryMiB,
      taskSlots: host.reserved.taskSlots + 1,
      ephemeralGiB: host.reserved.ephemeralGiB + task.ephemeralStorageGiB,
    },
  };
}
