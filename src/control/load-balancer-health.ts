// What a host's load balancer nodes report of their targets (the agent protocol's targetHealth),
// kept for DescribeTargetHealth. A host is not trusted beyond its own nodes (DESIGN.md rule 9):
//
//   - only results for a load balancer whose health-reporting node (of its nodes, one per subnet,
//     the placed interface with the lowest id) this host runs, for a group that load balancer
//     forwards to, for a target registered in that group, are kept; the rest is dropped;
//   - only the states and reasons a health check produces, with AWS's own descriptions (the
//     control plane's text, not the host's), are kept: a host cannot put words of its own in front
//     of API callers, nor claim "unavailable" (which only the control plane says);
//   - a call is read once per load balancer and group (the targets of each group read once), its
//     duplicates folded (the last one wins), and only what changed is written, in one transaction:
//     a host sending its whole table every round costs reads, not writes, and a call never holds
//     the store for one write per result.
import type { TargetHealthResult } from "../protocol/index.js";
import type { Elbv2Repository, HostsRepository, NetworkInterfacesRepository, StoredTarget } from "../store/index.js";
import { forwardedTargetGroupArns } from "./load-balancer-model-compile.js";

/** The health a check can give, with AWS's description of each reason ("Target health status"). */
const DESCRIPTIONS: Readonly<Record<string, { readonly state: string; readonly description: string | RegExp }>> = {
  "Elb.RegistrationInProgress": { state: "initial", description: "Target registration is in progress" },
  "Elb.InitialHealthChecking": { state: "initial", description: "Initial health checking in progress" },
  "Target.DeregistrationInProgress": { state: "draining", description: "Target deregistration is in progress" },
  "Target.NotInUse": { state: "unused", description: "Target group is not configured to receive traffic from the load balancer" },
  "Target.Timeout": { state: "unhealthy", description: "Request timed out" },
  "Target.FailedHealthChecks": { state: "unhealthy", description: "Health checks failed" },
  "Target.ResponseCodeMismatch": { state: "unhealthy", description: /^Health checks failed with these codes: \[[1-5]\d\d\]$/ },
};

/** The result as it may be kept: AWS's state, reason and description, or undefined when a health check could not have produced it. */
function acceptable(result: TargetHealthResult): { state: string; reason?: string; description?: string } | undefined {
  if (result.state === "healthy") return result.reason === undefined ? { state: "healthy" } : undefined;
  const known = result.reason === undefined ? undefined : DESCRIPTIONS[result.reason];
  if (!known || known.state !== result.state) return undefined;
  const description =
    typeof known.description === "string" ? known.description : known.description.test(result.description ?? "") ? result.description : undefined;
  return description === undefined ? undefined : { state: result.state, reason: result.reason!, description };
}

/**
 * The descriptions of the load balancer node interfaces on `hostId` ("ELB app/<name>/<id>"): the
 * only load balancers the host may speak for (its reports of any other are dropped).
 */
export async function nodeDescriptionsOn(
  store: { readonly networkInterfaces: Pick<NetworkInterfacesRepository, "listByRequester"> },
  requesterId: string,
  hostId: string,
): Promise<Set<string>> {
  return new Set((await store.networkInterfaces.listByRequester(requesterId, hostId)).map((eni) => eni.description));
}

/**
 * The descriptions of the load balancers whose health-reporting node is on `hostId`: of each load
 * balancer's node interfaces on ACTIVE hosts, the one with the lowest id (a node left on a lost
 * host, whose zone no other host serves, never speaks for the others). Every node checks every
 * target and routes on what it sees; one speaks for the API, so two nodes in different phases of
 * their checks never make a target's kept state flap.
 */
export async function healthReportersOn(
  store: { readonly networkInterfaces: Pick<NetworkInterfacesRepository, "listByRequester">; readonly hosts: Pick<HostsRepository, "list"> },
  requesterId: string,
  hostId: string,
): Promise<Set<string>> {
  const active = new Set((await store.hosts.list()).filter((host) => host.status === "ACTIVE").map((host) => host.hostId));
  const reporters = new Map<string, { eniId: string; hostId: string }>();
  for (const eni of await store.networkInterfaces.listByRequester(requesterId)) {
    if (eni.hostId === undefined || !active.has(eni.hostId)) continue;
    const seen = reporters.get(eni.description);
    if (!seen || eni.eniId < seen.eniId) reporters.set(eni.description, { eniId: eni.eniId, hostId: eni.hostId });
  }
  return new Set([...reporters].filter(([, node]) => node.hostId === hostId).map(([description]) => description));
}

export interface HealthStore {
  readonly elbv2: Pick<Elbv2Repository, "locked" | "listListeners" | "listRules" | "listTargets" | "recordTargetHealth">;
  readonly networkInterfaces: Pick<NetworkInterfacesRepository, "listByRequester">;
  readonly hosts: Pick<HostsRepository, "list">;
}

/**
 * Keeps what `hostId`'s nodes saw (their descriptions are `nodeDescriptions` of the load balancers:
 * see load-balancer-nodes.ts); the number of results written.
 */
export async function recordNodeHealth(
  store: HealthStore,
  hostId: string,
  results: readonly TargetHealthResult[],
  options: { readonly requesterId: string; readonly descriptionOf: (loadBalancerArn: string) => string; readonly now: number },
): Promise<number> {
  const mine = await healthReportersOn(store, options.requesterId, hostId);
  // The newest result per target of each of this host's load balancers, in AWS's words.
  const latest = new Map<string, { result: TargetHealthResult; kept: { state: string; reason?: string; description?: string } }>();
  for (const result of results) {
    if (!mine.has(options.descriptionOf(result.loadBalancerArn))) continue;
    const kept = acceptable(result);
    if (kept) latest.set(`${result.loadBalancerArn} ${result.targetGroupArn} ${result.ip}:${result.port}`, { result, kept });
  }
  if (latest.size === 0) return 0;
  return store.elbv2.locked(async (elbv2) => {
    const forwarded = new Map<string, Set<string>>();
    const targets = new Map<string, Map<string, StoredTarget>>();
    let written = 0;
    for (const { result, kept } of latest.values()) {
      let groups = forwarded.get(result.loadBalancerArn);
      if (!groups) {
        const listeners = await elbv2.listListeners(result.loadBalancerArn);
        const rules = (await Promise.all(listeners.map((listener) => elbv2.listRules(listener.arn)))).flat();
        forwarded.set(result.loadBalancerArn, (groups = new Set(forwardedTargetGroupArns(listeners, rules))));
      }
      if (!groups.has(result.targetGroupArn)) continue;
      let registered = targets.get(result.targetGroupArn);
      if (!registered) {
        const list = await elbv2.listTargets(result.targetGroupArn, options.now);
        targets.set(result.targetGroupArn, (registered = new Map(list.map((target) => [`${target.id}:${target.port}`, target]))));
      }
      const target = registered.get(`${result.ip}:${result.port}`);
      if (!target) continue;
      const health = target.health;
      if (health && health.state === kept.state && health.reason === kept.reason && health.description === kept.description) continue;
      await elbv2.recordTargetHealth(result.targetGroupArn, result.ip, result.port, kept.state, kept.reason, kept.description, options.now);
      written++;
    }
    return written;
  });
}
