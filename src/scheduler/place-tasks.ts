// Pure placement (DESIGN.md: a read-only fleet snapshot in, a plan out; nothing is written here).
//   1. feasibility: host ACTIVE, same architecture, serving an AZ of one of the requested subnets, with
//      room for the task's cpu, memory, ephemeral storage and one task slot;
//   2. best fit: the feasible host left with the least free cpu+memory after placement (bin packing);
//   3. spread: for count > 1 each task goes to the AZ holding the fewest of this request's tasks so
//      far, so tasks land across the subnets' AZs; ties keep the subnets' order.
// Capacity is reserved as Fargate reserves it: the task's full cpu and memory, busy or idle.

export interface HostResources {
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  readonly taskSlots: number;
  readonly ephemeralGiB: number;
}

export interface HostSnapshot {
  readonly hostId: string;
  /** The AZs of the subnets the host serves (one machine may serve several, like `berth server`'s embedded agent). */
  readonly availabilityZones: readonly string[];
  readonly architecture: "X86_64" | "ARM64";
  readonly status: "ACTIVE" | "LOST" | "DRAINING";
  readonly capacity: HostResources;
  /** Already reserved by tasks that are not STOPPED. */
  readonly reserved: HostResources;
}

export interface PlacementRequest {
  readonly count: number;
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  readonly ephemeralGiB: number;
  readonly architecture: "X86_64" | "ARM64";
  readonly subnets: readonly { readonly subnetId: string; readonly availabilityZone: string }[];
  /**
   * Tasks of the same request already placed per AZ (by an earlier capacity-provider share), so the
   * spread covers the whole request rather than restarting in the first AZ for each share.
   */
  readonly placedPerZone?: ReadonlyMap<string, number>;
}

export interface Placement {
  readonly hostId: string;
  readonly subnetId: string;
  readonly availabilityZone: string;
}

export interface PlacementPlan {
  readonly placements: readonly Placement[];
  /** How many of the requested tasks found no room. */
  readonly unplaced: number;
}

export const NO_CAPACITY_REASON = "Capacity is unavailable at this time. Please try again later or in a different availability zone";

interface Candidate {
  readonly host: HostSnapshot;
  free: { cpuUnits: number; memoryMiB: number; taskSlots: number; ephemeralGiB: number };
}

export function placeTasks(hosts: readonly HostSnapshot[], request: PlacementRequest): PlacementPlan {
  const subnetByZone = new Map<string, string>();
  for (const subnet of request.subnets) if (!subnetByZone.has(subnet.availabilityZone)) subnetByZone.set(subnet.availabilityZone, subnet.subnetId);
  const zones = [...subnetByZone.keys()];
  const byZone = new Map<string, Candidate[]>(zones.map((zone) => [zone, []]));
  for (const host of hosts) {
    if (host.status !== "ACTIVE" || host.architecture !== request.architecture) continue;
    // One candidate object per host, listed under each of its zones, so a reservation made through
    // one zone is seen from the others.
    const candidate: Candidate = {
      host,
      free: {
        cpuUnits: host.capacity.cpuUnits - host.reserved.cpuUnits,
        memoryMiB: host.capacity.memoryMiB - host.reserved.memoryMiB,
        taskSlots: host.capacity.taskSlots - host.reserved.taskSlots,
        ephemeralGiB: host.capacity.ephemeralGiB - host.reserved.ephemeralGiB,
      },
    };
    for (const zone of host.availabilityZones) byZone.get(zone)?.push(candidate);
  }
  const fits = (candidate: Candidate) =>
    candidate.free.cpuUnits >= request.cpuUnits &&
    candidate.free.memoryMiB >= request.memoryMiB &&
    candidate.free.taskSlots >= 1 &&
    candidate.free.ephemeralGiB >= request.ephemeralGiB;
  const bestIn = (zone: string): Candidate | undefined => {
    let best: Candidate | undefined;
    let bestLeft = Number.POSITIVE_INFINITY;
    for (const candidate of byZone.get(zone) ?? []) {
      if (!fits(candidate)) continue;
      // Normalise cpu and memory so neither dominates: 1024 cpu units ~ 2048 MiB (Fargate's ratio).
      const left = (candidate.free.cpuUnits - request.cpuUnits) / 1024 + (candidate.free.memoryMiB - request.memoryMiB) / 2048;
      if (left < bestLeft || (left === bestLeft && best !== undefined && candidate.host.hostId < best.host.hostId)) {
        best = candidate;
        bestLeft = left;
      }
    }
    return best;
  };

  const placements: Placement[] = [];
  const perZone = new Map<string, number>(zones.map((zone) => [zone, request.placedPerZone?.get(zone) ?? 0]));
  for (let task = 0; task < request.count; task++) {
    const order = [...zones].sort((a, b) => perZone.get(a)! - perZone.get(b)! || zones.indexOf(a) - zones.indexOf(b));
    let chosen: { zone: string; candidate: Candidate } | undefined;
    for (const zone of order) {
      const candidate = bestIn(zone);
      if (candidate) {
        chosen = { zone, candidate };
        break;
      }
    }
    if (!chosen) return { placements, unplaced: request.count - task };
    const { zone, candidate } = chosen;
    candidate.free.cpuUnits -= request.cpuUnits;
    candidate.free.memoryMiB -= request.memoryMiB;
    candidate.free.taskSlots -= 1;
    candidate.free.ephemeralGiB -= request.ephemeralGiB;
    perZone.set(zone, perZone.get(zone)! + 1);
    placements.push({ hostId: candidate.host.hostId, subnetId: subnetByZone.get(zone)!, availabilityZone: zone });
  }
  return { placements, unplaced: 0 };
}
