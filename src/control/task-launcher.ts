// The task side of the ECS API: RunTask places tasks on the fleet and records their desired state
// (the TaskSpec each host's agent will long-poll for); StopTask moves desired status to STOPPED;
// DescribeTasks and ListTasks read what the agents reported. Placement is planned by the pure
// scheduler over a snapshot and recorded in one transaction under the store's "placement" lock
// (Store.exclusively: an advisory lock every replica on PostgreSQL takes, the single connection on
// SQLite), so two concurrent RunTasks, on one replica or two, never reserve the same capacity
// twice, and a clientToken's first run is what every later call with it sees.
import type { CapacityProviderStrategyItem, Cluster, RunTaskRequest, Tag, Task, TaskDefinition } from "@aws-sdk/client-ecs";
import type { AccountScope } from "../core/arn.js";
import type { Clock } from "../core/clock.js";
import type { DefaultNetwork } from "../core/default-network.js";
import { buildArn } from "../core/arn.js";
import { printable } from "../core/ec2/security-group-rules.js";
import { privateDnsName } from "../core/ec2/private-dns-name.js";
import { clientException, invalidParameterException, serverException } from "../core/errors.js";
import type { EffectiveTask } from "../core/run-task/apply-overrides.js";
import { applyOverrides } from "../core/run-task/apply-overrides.js";
import { splitByStrategy } from "../core/run-task/capacity-provider-split.js";
import { assertPlatformSupports, resolvePlatformVersion } from "../core/run-task/platform-version.js";
import type { RunTaskPlacementRequest } from "../core/run-task/validate-run-task.js";
import { assertFargateCompatible, validateAwsvpcConfiguration, validateRunTaskMembers } from "../core/run-task/validate-run-task.js";
import { newTaskDocument } from "../core/task-document.js";
import type { TaskSpec } from "../protocol/index.js";
import { defaultStopTimeoutMs, protocolVersion } from "../protocol/index.js";
import type { HostSnapshot, Placement } from "../scheduler/place-tasks.js";
import { NO_CAPACITY_REASON, placeTasks } from "../scheduler/place-tasks.js";
import type { HostRecord, LeaseFence, NetworkInterfaceRecord, Repositories, Store, SubnetRecord, TaskRecord, VpcRecord } from "../store/index.js";
import { LOST_RACE, StoreLockTimeout, withOptimisticRetry } from "../store/index.js";

export interface TaskLauncherOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly scope: AccountScope;
  readonly network: DefaultNetwork;
  /** Wakes the agents of hosts whose desired tasks changed, outside a placement (StopTask). */
  readonly notifyHost: (hostId: string) => void;
}

export interface RunTaskContext {
  readonly cluster: Cluster & { clusterName: string; clusterArn: string };
  readonly definition: TaskDefinition;
  readonly definitionTags: readonly Tag[];
  /** For the service scheduler's launches: the service they belong to and its tasks per AZ so far (the spread covers the whole service). */
  readonly service?: {
    readonly name: string;
    readonly placedPerZone: ReadonlyMap<string, number>;
    /** The service's tasks already on each capacity provider: its strategy's base holds per service, not per launch. */
    readonly placedPerProvider?: ReadonlyMap<string, number>;
  };
  /** The lease the placement must still hold (a control loop's launches), checked under the placement lock. */
  readonly fence?: LeaseFence;
  /** Launched for a caller other than the account's root: its execution role's permissions are checked at start (execution-role-grants.ts). */
  readonly checkExecutionRole?: boolean;
}

export interface RunTaskFailure {
  readonly arn?: string;
  readonly reason: string;
}

export interface RunTaskOutcome {
  readonly tasks: Task[];
  readonly failures: RunTaskFailure[];
}

/** What a run's transaction settled, and whose agents to wake once it is committed. */
interface PlacedRun {
  readonly outcome: RunTaskOutcome;
  readonly hostsToWake: readonly string[];
}

/** A checked RunTask request: what every task of the run shares. */
interface PreparedRun {
  readonly cluster: RunTaskContext["cluster"];
  readonly definition: TaskDefinition;
  readonly placement: RunTaskPlacementRequest;
  readonly effective: EffectiveTask;
  readonly subnets: SubnetRecord[];
  readonly vpc: VpcRecord;
  /** The groups every task's interface starts in (the VPC's default group when none were asked for). */
  readonly securityGroupIds: readonly string[];
  readonly strategy: readonly CapacityProviderStrategyItem[];
  readonly architecture: "ARM64" | "X86_64";
  readonly tags: Tag[];
  readonly service: RunTaskContext["service"];
  readonly checkExecutionRole: boolean;
}

/**
 * RunTasks of this replica that may wait for the placement lock at once. A waiter holds a pooled
 * store connection (its transaction is open, blocked on the lock), and only one placement in the
 * whole control plane runs at a time: without this bound a burst of RunTasks takes every pooled
 * connection, and heartbeats, reports and every other request of the replica wait behind them
 * (hosts missing heartbeats are declared lost). The others queue here, holding nothing. Two, so
 * that one is ready to take the lock the moment it is released.
 */
const MAX_PLACEMENTS_IN_FLIGHT = 2;

/** Who makes a Fargate task's ENI, as DescribeNetworkInterfaces shows it (ECS's service principal account). */
const ECS_REQUESTER_ID = "578734482556";

export class TaskLauncher {
  private placementsInFlight = 0;
  private readonly placementQueue: (() => void)[] = [];

  constructor(private readonly options: TaskLauncherOptions) {}

  async runTask(request: RunTaskRequest, context: RunTaskContext): Promise<RunTaskOutcome> {
    // Everything that can reject the request is checked before taking the placement lock.
    const run = await this.prepareRun(request, context);
    // The hosts of the placed tasks are signalled with the commit: an agent woken earlier could
    // poll before its new task is visible.
    try {
      return await this.boundedPlacement(() =>
        // "network" too: a group deleted (or an interface's groups changed) while this run is
        // placed would otherwise leave an interface in a group that no longer exists.
        this.options.store.exclusively(
          ["placement", "network"],
          async (tx) => {
            const placed = (await this.rememberedOutcome(tx, request, run.cluster.clusterArn)) ?? (await this.placeAndRecord(tx, request, run));
            for (const hostId of placed.hostsToWake) tx.publishOnCommit("host-tasks", hostId);
            // New interfaces are new group members and overlay peers for the other hosts of their VPC.
            if (placed.hostsToWake.length > 0) tx.publishOnCommit("network", "interfaces");
            return placed.outcome;
          },
          context.fence,
        ),
      );
    } catch (error) {
      // Nothing was placed; ECS's word for a transient failure on its side, which SDKs retry.
      if (error instanceof StoreLockTimeout) throw serverException("The service could not place the tasks in time. Try again.");
      throw error;
    }
  }

  /** Checks a run as RunTask would (for CreateService and UpdateService, before anything is stored), placing nothing. */
  async checkRun(request: RunTaskRequest, context: RunTaskContext): Promise<void> {
    await this.prepareRun(request, context);
  }

  /** Runs `work` once fewer than MAX_PLACEMENTS_IN_FLIGHT placements of this replica are under way (in arrival order). */
  private async boundedPlacement<T>(work: () => Promise<T>): Promise<T> {
    if (this.placementsInFlight >= MAX_PLACEMENTS_IN_FLIGHT) await new Promise<void>((resolve) => this.placementQueue.push(resolve));
    else this.placementsInFlight++;
    try {
      return await work();
    } finally {
      // The slot passes to the next in line, or is freed.
      const next = this.placementQueue.shift();
      if (next) next();
      else this.placementsInFlight--;
    }
  }

  /** Checks the request against the definition and the network, and settles what every task shares. */
  private async prepareRun(request: RunTaskRequest, context: RunTaskContext): Promise<PreparedRun> {
    const members = validateRunTaskMembers(request);
    const { cluster, definition } = context;
    // A service keeps scaling on a revision deregistered after its deployment began, as ECS's do.
    if (definition.status !== "ACTIVE" && !(context.service && definition.status === "INACTIVE")) throw clientException("TaskDefinition is inactive");
    // Before the network configuration: a definition Fargate cannot run is refused for that, not for a missing awsvpc block.
    assertFargateCompatible(definition.compatibilities);
    const placement = { ...members, ...validateAwsvpcConfiguration(request) };
    const effective = applyOverrides(definition, request.overrides);
    assertPlatformSupports(resolvePlatformVersion(placement.platformVersion), effective);
    const subnets = await this.knownSubnets(placement.subnets);
    const vpc = await this.vpcOf(subnets);
    const securityGroupIds = await this.groupsFor(placement.securityGroups, vpc.vpcId);
    const strategy =
      placement.strategy ??
      (request.launchType === undefined && cluster.defaultCapacityProviderStrategy?.length
        ? cluster.defaultCapacityProviderStrategy
        : [{ capacityProvider: "FARGATE", weight: 1 }]);
    const architecture = definition.runtimePlatform?.cpuArchitecture === "ARM64" ? "ARM64" : "X86_64";
    if (architecture === "ARM64" && strategy.some((item) => item.capacityProvider === "FARGATE_SPOT" && (item.weight ?? 0) + (item.base ?? 0) > 0)) {
      throw invalidParameterException("Fargate Spot is not supported for the ARM64 CPU architecture."); // wording not confirmed
    }
    const tags = mergeTags(request.tags ?? [], request.propagateTags === "TASK_DEFINITION" ? context.definitionTags : []);
    return {
      cluster,
      definition,
      placement,
      effective,
      subnets,
      vpc,
      securityGroupIds,
      strategy,
      architecture,
      tags,
      service: context.service,
      checkExecutionRole: context.checkExecutionRole === true,
    };
  }

  /**
   * The subnets and groups checked before the lock, checked again under it (the "network" lock,
   * which deletes of them take too): one deleted in between is refused as if it had never been.
   */
  private async assertNetworkStillThere(tx: Repositories, run: PreparedRun): Promise<void> {
    const subnets = new Set((await tx.vpcs.listSubnets(run.subnets.map((subnet) => subnet.subnetId))).map((subnet) => subnet.subnetId));
    const gone = run.subnets.find((subnet) => !subnets.has(subnet.subnetId));
    if (gone) throw invalidParameterException(`Error retrieving subnet information for [${gone.subnetId}]: The subnet ID '${gone.subnetId}' does not exist`);
    const groups = new Set((await tx.securityGroups.getGroups(run.securityGroupIds)).map((group) => group.groupId));
    const missing = run.securityGroupIds.find((id) => !groups.has(id));
    if (missing)
      throw invalidParameterException(`Error retrieving security group information for [${missing}]: The security group '${missing}' does not exist`);
  }

  /** The subnets with these ids, in the request's order; an unknown id is rejected as ECS does. */
  private async knownSubnets(ids: readonly string[]): Promise<SubnetRecord[]> {
    const found = new Map((await this.options.store.vpcs.listSubnets(ids)).map((subnet) => [subnet.subnetId, subnet]));
    return ids.map((id) => {
      const subnet = found.get(id);
      if (!subnet)
        throw invalidParameterException(`Error retrieving subnet information for [${printable(id)}]: The subnet ID '${printable(id)}' does not exist`);
      return subnet;
    });
  }

  /** The one VPC of a task's subnets (an ENI lives in one VPC). */
  private async vpcOf(subnets: readonly SubnetRecord[]): Promise<VpcRecord> {
    const vpcIds = new Set(subnets.map((subnet) => subnet.vpcId));
    if (vpcIds.size > 1) throw invalidParameterException("The subnets must all belong to the same VPC."); // wording not confirmed
    const vpc = await this.options.store.vpcs.getVpc(subnets[0]!.vpcId);
    if (!vpc) throw invalidParameterException(`Error retrieving subnet information for [${subnets[0]!.subnetId}]: The subnet's VPC no longer exists`);
    return vpc;
  }

  /**
   * The task's groups: those asked for, each existing and in the subnets' VPC, or else the VPC's
   * default group (RunTask without securityGroups uses it, as AWS does).
   */
  private async groupsFor(ids: readonly string[], vpcId: string): Promise<string[]> {
    if (ids.length === 0) {
      const fallback = await this.options.store.securityGroups.findByName(vpcId, "default");
      return fallback ? [fallback.groupId] : [];
    }
    const found = new Map((await this.options.store.securityGroups.getGroups(ids)).map((group) => [group.groupId, group]));
    for (const id of ids) {
      const group = found.get(id);
      if (!group)
        throw invalidParameterException(
          `Error retrieving security group information for [${printable(id)}]: The security group '${printable(id)}' does not exist`,
        );
      if (group.vpcId !== vpcId) throw invalidParameterException(`Security group ${id} does not appear to belong to the same VPC as the input subnets.`);
    }
    return [...new Set(ids)];
  }

  /**
   * The same clientToken answers what the first call did, failures included (even a run that
   * placed nothing), with the tasks as they are now. Undefined when this run is new.
   */
  private async rememberedOutcome(tx: Repositories, request: RunTaskRequest, clusterArn: string): Promise<PlacedRun | undefined> {
    if (request.clientToken === undefined) return undefined;
    const remembered = await tx.tasks.rememberedRun(clusterArn, request.clientToken);
    if (remembered) {
      const stored = new Map((await tx.tasks.getMany(remembered.taskArns)).map((found) => [found.taskArn, found.task]));
      return { outcome: { tasks: remembered.taskArns.flatMap((arn) => stored.get(arn) ?? []), failures: remembered.failures }, hostsToWake: [] };
    }
    const earlier = await tx.tasks.byClientToken(clusterArn, request.clientToken);
    if (earlier.length > 0) return { outcome: { tasks: earlier.map((found) => found.task), failures: [] }, hostsToWake: [] };
    return undefined;
  }

  /** Plans every provider's share over one fleet snapshot, stores the placed tasks and wakes their hosts. */
  private async placeAndRecord(tx: Repositories, request: RunTaskRequest, run: PreparedRun): Promise<PlacedRun> {
    await this.assertNetworkStillThere(tx, run);
    const records = await tx.hosts.list();
    const hosts = await this.snapshot(tx, records);
    const publicAddresses = new Map(records.map((host) => [host.hostId, host.publicAddress]));
    const tasks: Task[] = [];
    const failures: RunTaskFailure[] = [];
    const placed: TaskRecord[] = [];
    const notified = new Set<string>();
    // Shared across shares so the zone spread holds over the whole run, not per provider.
    const placedPerZone = new Map<string, number>(run.service?.placedPerZone ?? []);
    const { effective } = run;
    for (const share of splitByStrategy(run.strategy, run.placement.count, run.service?.placedPerProvider)) {
      const plan = placeTasks(hosts, {
        placedPerZone,
        count: share.count,
        cpuUnits: effective.cpuUnits,
        memoryMiB: effective.memoryMiB,
        ephemeralGiB: effective.ephemeralStorageGiB,
        architecture: run.architecture,
        subnets: run.subnets,
      });
      for (let i = 0; i < plan.unplaced; i++) failures.push({ reason: NO_CAPACITY_REASON });
      for (const place of plan.placements) {
        placedPerZone.set(place.availabilityZone, (placedPerZone.get(place.availabilityZone) ?? 0) + 1);
        reserve(hosts, place.hostId, effective);
        const record = await this.newTaskRecord(tx, request, run, share.capacityProvider, { ...place, publicAddress: publicAddresses.get(place.hostId) });
        placed.push(record);
        tasks.push(record.task);
        notified.add(place.hostId);
      }
    }
    // One transaction: tasks, their tags and the remembered outcome, or nothing.
    await tx.tasks.insert(placed, {
      tags: run.tags.map((tag) => ({ key: tag.key ?? "", value: tag.value ?? "" })),
      ...(request.clientToken !== undefined
        ? { run: { clusterArn: run.cluster.clusterArn, clientToken: request.clientToken, createdAt: this.options.clock.now(), failures } }
        : {}),
    });
    return { outcome: { tasks, failures }, hostsToWake: [...notified] };
  }

  /** The stored record of one placed task: its ECS document, the agent's TaskSpec and its reservation. */
  private async newTaskRecord(
    tx: Repositories,
    request: RunTaskRequest,
    run: PreparedRun,
    capacityProviderName: string,
    place: Placement & { publicAddress: string | undefined },
  ): Promise<TaskRecord> {
    const { cluster, definition, effective } = run;
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
      capacityProviderName,
      subnetId: place.subnetId,
      availabilityZone: place.availabilityZone,
      platformVersion: run.placement.platformVersion,
      startedBy: request.startedBy,
      // A service's tasks are its group (ECS: `service:NAME`), whatever RunTask's own limit on a group.
      group: run.service ? `service:${run.service.name}` : request.group,
      tags: run.tags,
      enableExecuteCommand: request.enableExecuteCommand ?? false,
      createdAt,
    });
    const taskId = task.taskArn!.slice(task.taskArn!.lastIndexOf("/") + 1);
    const networkInterface = await this.allocateInterface(tx, run, place, task);
    // The ENI exists from here on, so DescribeTasks names it from the first answer, as ECS does
    // once it has made it; the agent's reports repeat the same values.
    const attachment = task.attachments?.[0];
    if (attachment)
      attachment.details = [
        { name: "subnetId", value: networkInterface.subnetId },
        { name: "networkInterfaceId", value: networkInterface.eniId },
        { name: "macAddress", value: networkInterface.macAddress },
        { name: "privateDnsName", value: privateDnsName(networkInterface.privateIpv4, this.options.scope.region) },
        { name: "privateIPv4Address", value: networkInterface.privateIpv4 },
      ];
    return {
      taskArn: task.taskArn!,
      taskId,
      clusterArn: cluster.clusterArn,
      family: definition.family!,
      ...(request.startedBy !== undefined ? { startedBy: request.startedBy } : {}),
      ...(run.service ? { serviceName: run.service.name } : {}),
      launchType: "FARGATE",
      desiredStatus: "RUNNING",
      lastStatus: "PROVISIONING",
      hostId: place.hostId,
      reservation: { cpuUnits: effective.cpuUnits, memoryMiB: effective.memoryMiB, ephemeralGiB: effective.ephemeralStorageGiB },
      ...(request.clientToken !== undefined ? { clientToken: request.clientToken } : {}),
      createdAtMs: createdAt.getTime(),
      reportSequence: 0,
      task,
      spec: this.taskSpec(request, run, place, task, taskId, createdAt, networkInterface),
    };
  }

  /**
   * The task's ENI, in its subnet at the next free address, as ECS makes it for a Fargate task:
   * requester-managed, described by the task's attachment ARN (what `describe-network-interfaces
   * --filters Name=description,Values='*ecs*'` finds), with a public address only when asked for
   * and the host has one to give.
   */
  private allocateInterface(tx: Repositories, run: PreparedRun, place: Placement & { publicAddress: string | undefined }, task: Task) {
    const subnet = run.subnets.find((candidate) => candidate.subnetId === place.subnetId)!;
    const attachmentId = task.attachments?.[0]?.id ?? "";
    return tx.networkInterfaces.allocate({
      subnet,
      ownerId: this.options.scope.accountId,
      groupIds: run.securityGroupIds,
      description: buildArn(this.options.scope, "ecs", `attachment/${attachmentId}`),
      requesterId: ECS_REQUESTER_ID,
      requesterManaged: true,
      taskArn: task.taskArn!,
      hostId: place.hostId,
      ...(run.placement.assignPublicIp === "ENABLED" && place.publicAddress !== undefined ? { publicIpv4: place.publicAddress } : {}),
      createdAtMs: this.options.clock.now(),
    });
  }

  /** What the host's agent long-polls for: everything it needs to run the task without asking back. */
  private taskSpec(
    request: RunTaskRequest,
    run: PreparedRun,
    place: Placement,
    task: Task,
    taskId: string,
    createdAt: Date,
    networkInterface: NetworkInterfaceRecord,
  ): TaskSpec {
    const { cluster, definition, effective, placement } = run;
    const subnet = run.subnets.find((candidate) => candidate.subnetId === place.subnetId)!;
    return {
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
      platform: { os: "linux", architecture: run.architecture === "ARM64" ? "arm64" : "amd64" },
      network: {
        vpcId: run.vpc.vpcId,
        vpcCidr: run.vpc.cidrBlock,
        vni: run.vpc.vni,
        subnetId: place.subnetId,
        subnetCidr: subnet.cidrBlock,
        eniId: networkInterface.eniId,
        privateIpv4Address: networkInterface.privateIpv4,
        macAddress: networkInterface.macAddress,
        securityGroups: run.securityGroupIds,
        assignPublicIp: placement.assignPublicIp,
      },
      region: this.options.scope.region,
      availabilityZone: place.availabilityZone,
      desiredStatus: "RUNNING",
      stopTimeoutMs: defaultStopTimeoutMs,
      pullPolicy: "always",
      logConfigurations: Object.fromEntries((effective.definition.containerDefinitions ?? []).map((c) => [c.name!, c.logConfiguration ?? null])),
      credentials: {
        ...(effective.definition.executionRoleArn ? { executionRoleArn: effective.definition.executionRoleArn } : {}),
        ...(effective.definition.taskRoleArn ? { taskRoleArn: effective.definition.taskRoleArn } : {}),
        ...(run.checkExecutionRole ? { checkExecutionRole: true } : {}),
      },
      createdAtMs: createdAt.getTime(),
      ...(request.startedBy !== undefined ? { startedBy: request.startedBy } : {}),
      group: task.group!,
    };
  }

  /**
   * Tells a task to stop (a task never placed stops at once). With a fence, the write is made only
   * while the control loop still holds its lease: a scheduler replica that stalled past its lease
   * cannot stop tasks its successor now schedules. `spare`, read in the same transaction, can
   * keep the task after all (the scheduler's scale-in: protected since it planned the stop).
   */
  async stopTask(
    taskArn: string,
    reason: string | undefined,
    stopCode: "UserInitiated" | "ServiceSchedulerInitiated" = "UserInitiated",
    scheduler?: { readonly fence: LeaseFence; readonly spare?: (tx: Repositories) => Promise<boolean> },
  ): Promise<Task | undefined> {
    const { store } = this.options;
    const attempt = async (repositories: Repositories) => {
      if (scheduler?.spare && (await scheduler.spare(repositories))) return undefined;
      const tasks = repositories.tasks;
      const stored = await tasks.get(taskArn);
      if (!stored) return undefined;
      if (stored.desiredStatus === "STOPPED") return { task: stored.task, hostId: undefined };
      const unplaced = stored.hostId === undefined;
      const now = new Date(this.options.clock.now());
      const task: Task = {
        ...stored.task,
        desiredStatus: "STOPPED",
        stopCode: stored.task.stopCode ?? stopCode,
        stoppedReason: stored.task.stoppedReason ?? reason ?? "Task stopped by user",
        stoppingAt: stored.task.stoppingAt ?? now,
        ...(unplaced ? { lastStatus: "STOPPED", stoppedAt: now } : {}),
        version: (stored.task.version ?? 1) + 1,
      };
      const applied = await tasks.update(taskArn, stored.version, {
        desiredStatus: "STOPPED",
        ...(unplaced ? { lastStatus: "STOPPED", stoppedAtMs: now.getTime() } : {}),
        task,
      });
      if (!applied) return LOST_RACE;
      return { task, hostId: stored.hostId };
    };
    const stopped = await withOptimisticRetry(() => (scheduler ? store.fenced(scheduler.fence.lease, scheduler.fence.now, attempt) : attempt(store)), {
      exhausted: () => {
        throw new Error(`StopTask lost the race for ${taskArn} five times`);
      },
    });
    if (stopped === undefined) return undefined;
    // After the commit: an agent woken earlier could poll before the stop is visible.
    if (stopped.hostId !== undefined) this.options.notifyHost(stopped.hostId);
    return stopped.task;
  }

  /** A host serves the AZs of its subnets (its own AZ when it named none). */
  private zonesOf(host: HostRecord): string[] {
    const zones = new Set(this.options.network.subnets.filter((subnet) => host.subnetIds.includes(subnet.subnetId)).map((subnet) => subnet.availabilityZone));
    return zones.size > 0 ? [...zones] : [host.availabilityZone];
  }

  /** The fleet with every not-yet-STOPPED task's reservation. */
  private async snapshot(tx: Repositories, hosts: readonly HostRecord[]): Promise<HostSnapshot[]> {
    const active = await tx.tasks.reservations();
    const snapshot: HostSnapshot[] = hosts.map((host) => ({
      hostId: host.hostId,
      availabilityZones: this.zonesOf(host),
      architecture: host.architecture,
      status: host.status,
      capacity: host.capacity,
      reserved: { cpuUnits: 0, memoryMiB: 0, taskSlots: 0, ephemeralGiB: 0 },
    }));
    for (const task of active) reserve(snapshot, task.hostId, { cpuUnits: task.cpuUnits, memoryMiB: task.memoryMiB, ephemeralStorageGiB: task.ephemeralGiB });
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
