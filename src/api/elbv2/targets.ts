// RegisterTargets, DeregisterTargets and DescribeTargetHealth for "ip" target groups. A target is
// an IPv4 address inside the group's VPC (Berth routes to nothing outside it) and a port (the
// group's by default). Until a data plane reports health (recordTargetHealth), the state is what
// the control plane knows, in AWS's words (Elastic Load Balancing, "Target health status"):
//
//   registered ──group used by no listener──▶ unused    Target.NotInUse
//       │      ──used, never checked───────▶ initial   Elb.RegistrationInProgress
//       │      ──health checks disabled────▶ unavailable Target.HealthCheckDisabled
//       │      ──checked by a data plane───▶ its recorded state
//   DeregisterTargets ──▶ draining  Target.DeregistrationInProgress (deregistration_delay) ──▶ gone
import type {
  DeregisterTargetsOutput,
  DescribeTargetHealthOutput,
  RegisterTargetsOutput,
  TargetDescription,
  TargetHealth,
  TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { cidrContainsAddress, isReservedAddress, parseCidr, parseIpv4 } from "../../core/ec2/cidr.js";
import type { Elbv2Repository, NewTarget, StoredTarget, StoredTargetGroup, SubnetRecord } from "../../store/index.js";
import type { OperationHandlers } from "../service-module.js";
import { invalidTarget, targetGroupNotFound, tooManyTargets, validationError } from "./elbv2-errors.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
import { targetGroupUsage } from "./target-group-usage.js";
import { ELB_REQUESTER_ID } from "../../control/load-balancer-nodes.js";
import { existingTargetGroup } from "./target-groups.js";

/** Targets per target group (Elastic Load Balancing quotas: 1,000 per application load balancer group). */
export const TARGETS_PER_GROUP = 1000;
/** Targets over all the groups of one load balancer (Elastic Load Balancing quotas: 1,000 per application load balancer). */
export const TARGETS_PER_LOAD_BALANCER = 1000;

const UNUSED: TargetHealth = {
  State: "unused",
  Reason: "Target.NotInUse",
  Description: "Target group is not configured to receive traffic from the load balancer",
};
const INITIAL: TargetHealth = { State: "initial", Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress" };
const DRAINING: TargetHealth = { State: "draining", Reason: "Target.DeregistrationInProgress", Description: "Target deregistration is in progress" };
const NOT_REGISTERED: TargetHealth = { State: "unused", Reason: "Target.NotRegistered", Description: "Target is not registered to the target group" };
const CHECKS_DISABLED: TargetHealth = {
  State: "unavailable",
  Reason: "Target.HealthCheckDisabled",
  Description: "Health checks are disabled for the target group",
};

/** Refused whatever the VPC's block (see subnetHolding). */
function refuseUnroutable(id: string, address: number): void {
  const [first, second] = [address >>> 24, (address >>> 16) & 0xff];
  if (first === 0 || first === 127 || (first === 169 && second === 254) || first >= 224) {
    throw invalidTarget(`The IP address '${id}' is not a valid target: it is in a reserved range`); // wording not confirmed
  }
}

/**
 * The subnet of the VPC holding a target's address, which must be a unicast address a task can
 * have. Counterpart of src/lb/load-balancer-model.ts isForbiddenTargetAddress (copied: src/api does
 * not import src/lb): 0/8 and 127/8 (the proxy's host itself), 169.254/16 (link-local, where
 * metadata services answer), 224/3 (multicast, reserved, broadcast) are refused whatever the
 * VPC's block; so are an address in no subnet (no task can have it) and the five AWS keeps in each
 * subnet (network, router .1, resolver .2, .3, broadcast), which would point the proxy at Berth's own
 * services. Messages: wording not confirmed.
 */
function subnetHolding(id: string, address: number, subnets: readonly SubnetRecord[]): SubnetRecord {
  for (const subnet of subnets) {
    const cidr = parseCidr(subnet.cidrBlock);
    if (cidr === undefined || !cidrContainsAddress(cidr, address)) continue;
    if (isReservedAddress(cidr, address)) throw invalidTarget(`The IP address '${id}' is reserved in subnet ${subnet.subnetId}`);
    return subnet;
  }
  throw invalidTarget(`The IP address '${id}' is not in any subnet of the target group's VPC`);
}

/** Each target checked: an IPv4 address in the group's VPC, a port 1–65535 (the group's when absent), its zone from the subnet holding it. */
async function checkedTargets(options: Elbv2ServiceOptions, group: StoredTargetGroup, targets: readonly TargetDescription[]): Promise<NewTarget[]> {
  if (targets.length === 0) throw validationError("At least one target must be specified");
  if (targets.length > TARGETS_PER_GROUP) throw validationError(`A maximum of ${TARGETS_PER_GROUP} targets can be specified`);
  const vpcId = group.targetGroup.VpcId ?? "";
  const vpc = await options.store.vpcs.getVpc(vpcId);
  const vpcCidr = vpc === undefined ? undefined : parseCidr(vpc.cidrBlock);
  const subnets = (await options.store.vpcs.listSubnets()).filter((subnet) => subnet.vpcId === vpcId);
  // A load balancer's own address is no target: its node would forward to itself (or to another node, in a loop).
  const nodes = new Set(
    (await options.store.networkInterfaces.listByRequester(ELB_REQUESTER_ID)).filter((eni) => eni.vpcId === vpcId).map((eni) => eni.privateIpv4),
  );
  return targets.map((target) => {
    const id = target.Id ?? "";
    const address = parseIpv4(id);
    if (address === undefined) throw validationError(`The IP address '${id.slice(0, 64)}' is not a valid IPv4 address`);
    const port = target.Port ?? group.targetGroup.Port ?? 0;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw validationError("Port must be between 1 and 65535");
    refuseUnroutable(id, address);
    if (vpcCidr === undefined || !cidrContainsAddress(vpcCidr, address)) {
      if (target.AvailabilityZone === undefined) throw validationError(`The Availability Zone is required for IP address '${id}' because it is not in the VPC`);
      throw validationError(`Berth routes only to targets inside the target group's VPC: the IP address '${id}' is outside ${vpcId}`);
    }
    const subnet = subnetHolding(id, address, subnets);
    if (nodes.has(id)) throw invalidTarget(`The IP address '${id}' is a load balancer's own address`); // wording not confirmed
    if (target.AvailabilityZone !== undefined && target.AvailabilityZone !== subnet.availabilityZone) {
      throw validationError(
        `The IP address '${id}' is within the VPC, and cannot have its Availability Zone overridden to '${target.AvailabilityZone.slice(0, 64)}'`,
      );
    }
    return { id, port, availabilityZone: subnet.availabilityZone };
  });
}

/**
 * At most TARGETS_PER_LOAD_BALANCER targets over all the groups a load balancer forwards to (AWS's
 * "targets per Application Load Balancer"; the data plane's MAX_TARGETS_PER_NODE in
 * src/lb/load-balancer-model.ts, which would refuse the whole load balancer's model otherwise).
 */
async function refuseOverLoadBalancerBudget(elbv2: Elbv2Repository, groupArn: string, adding: number, now: number): Promise<void> {
  const usage = await targetGroupUsage(elbv2);
  for (const loadBalancerArn of usage.get(groupArn) ?? []) {
    const groups = [...usage].filter(([, users]) => users.has(loadBalancerArn)).map(([arn]) => arn);
    let total = adding;
    for (const arn of groups) total += (await elbv2.listTargets(arn, now)).length;
    if (total > TARGETS_PER_LOAD_BALANCER) throw tooManyTargets(); // wording not confirmed
  }
}

/** A Targets list no larger than a group can hold (RegisterTargets' bound): the lists are matched against every registered target. */
function boundTargets(targets: readonly unknown[] | undefined): void {
  if ((targets?.length ?? 0) > TARGETS_PER_GROUP) throw validationError(`A maximum of ${TARGETS_PER_GROUP} targets can be specified`);
}

function healthOf(target: StoredTarget, inUse: boolean, checksEnabled: boolean): TargetHealth {
  if (target.deregisterAt !== undefined) return DRAINING;
  if (!inUse) return UNUSED;
  if (!checksEnabled) return CHECKS_DISABLED;
  if (target.health === undefined) return INITIAL;
  // What a data plane recorded, in AWS's vocabulary (it writes only AWS's states and reasons).
  return {
    State: target.health.state as TargetHealth["State"],
    Reason: target.health.reason as TargetHealth["Reason"],
    Description: target.health.description,
  };
}

export function targetHandlers(options: Elbv2ServiceOptions): OperationHandlers<Elbv2Operations> {
  return {
    RegisterTargets: async (input): Promise<RegisterTargetsOutput> => {
      const group = await existingTargetGroup(options, input.TargetGroupArn ?? "");
      const targets = await checkedTargets(options, group, input.Targets ?? []);
      await options.store.elbv2.locked(async (elbv2) => {
        // The group may have gone since it was read: no target may outlive it.
        if ((await elbv2.getTargetGroup(group.arn)) === undefined) throw targetGroupNotFound();
        const now = options.clock.now();
        const current = await elbv2.listTargets(group.arn, now);
        // Draining targets count until they are gone: the load balancer's node still holds them.
        const known = new Set(current.map((target) => `${target.id}:${target.port}`));
        const added = new Set(targets.map((target) => `${target.id}:${target.port}`).filter((key) => !known.has(key)));
        if (known.size + added.size > TARGETS_PER_GROUP) throw tooManyTargets();
        await refuseOverLoadBalancerBudget(elbv2, group.arn, added.size, now);
        await elbv2.registerTargets(group.arn, targets, now);
      });
      return {};
    },
    DeregisterTargets: async (input): Promise<DeregisterTargetsOutput> => {
      boundTargets(input.Targets);
      const group = await existingTargetGroup(options, input.TargetGroupArn ?? "");
      await options.store.elbv2.locked(async (elbv2) => {
        const now = options.clock.now();
        const registered = (await elbv2.listTargets(group.arn, now)).filter((target) => target.deregisterAt === undefined);
        const targets = (input.Targets ?? []).map((target) => ({ id: target.Id ?? "", port: target.Port ?? group.targetGroup.Port ?? 0 }));
        const missing = targets.filter((target) => !registered.some((known) => known.id === target.id && known.port === target.port));
        // wording not confirmed
        if (missing.length > 0)
          throw invalidTarget(
            `The following targets are not registered in the target group: ${missing
              .slice(0, 5)
              .map((target) => `'${target.id.slice(0, 64)}'`)
              .join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`,
          );
        const inUse = (await targetGroupUsage(elbv2)).has(group.arn);
        // A group no listener uses has no connections to drain: its targets go at once.
        const delayMs = inUse ? Number(group.attributes["deregistration_delay.timeout_seconds"] ?? "300") * 1000 : 0;
        await elbv2.deregisterTargets(group.arn, targets, now + delayMs);
      });
      return {};
    },
    DescribeTargetHealth: async (input): Promise<DescribeTargetHealthOutput> => {
      boundTargets(input.Targets);
      const group = await existingTargetGroup(options, input.TargetGroupArn ?? "");
      const targets = await options.store.elbv2.listTargets(group.arn, options.clock.now());
      const inUse = (await targetGroupUsage(options.store.elbv2)).has(group.arn);
      const checksEnabled = group.targetGroup.HealthCheckEnabled !== false;
      const healthPort = (port: number) => (group.targetGroup.HealthCheckPort === "traffic-port" ? String(port) : group.targetGroup.HealthCheckPort);
      const describe = (target: StoredTarget): TargetHealthDescription => ({
        Target: { Id: target.id, Port: target.port, AvailabilityZone: target.availabilityZone },
        HealthCheckPort: healthPort(target.port),
        TargetHealth: healthOf(target, inUse, checksEnabled),
      });
      if (input.Targets === undefined || input.Targets.length === 0) return { TargetHealthDescriptions: targets.map(describe) };
      return {
        TargetHealthDescriptions: input.Targets.map((wanted) => {
          const port = wanted.Port ?? group.targetGroup.Port ?? 0;
          const target = targets.find((known) => known.id === wanted.Id && known.port === port);
          if (target !== undefined) return describe(target);
          return { Target: { Id: wanted.Id, Port: port }, HealthCheckPort: healthPort(port), TargetHealth: NOT_REGISTERED };
        }),
      };
    },
  };
}
