// What a host may declare at registration. The scheduler trusts a host's declared capacity: a
// host that declared 10^9 CPU units would attract every task (with its secrets, environment and
// pull credentials) to whoever holds a stolen join token. So the agent reports the machine it runs
// on as well, its capacity must fit that machine (up to MAX_OVERCOMMIT times over when the
// operator declared it with --capacity-cpu-units/--capacity-memory-mib), and the machine itself
// must be one that exists. The control plane refuses (never clamps) a registration outside these
// bounds, so a misconfigured agent fails loudly at start instead of running with numbers it did
// not ask for. Shared by both halves: the agent checks its own flags with the same rules.
import type { RegisterRequest } from "./agent-api.js";

/** How far an operator may declare capacity above the machine (density benchmarks use 16×). */
export const MAX_OVERCOMMIT = 32;
/** Larger than any machine sold today (768 hardware threads, 32 TiB), small enough to mean something. */
export const MAX_HOST_CPUS = 1024;
export const MAX_HOST_MEMORY_MIB = 32 * 1024 * 1024;
export const MAX_TASK_SLOTS = 1024;
/** Fargate's largest ephemeral storage per task. */
export const MAX_EPHEMERAL_GIB_PER_SLOT = 200;

const whole = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;

/** Why a registration's capacity cannot be accepted, in words for the operator; undefined when it can. */
export function capacityProblem(request: Pick<RegisterRequest, "capacity" | "machine" | "overcommit">): string | undefined {
  const { capacity, machine } = request;
  if (typeof machine !== "object" || machine === null) return "The agent did not report its machine (cpu count and memory); upgrade the agent.";
  if (!whole(machine.cpuCount, 1, MAX_HOST_CPUS)) return `The reported machine has ${String(machine.cpuCount)} CPUs; a host has from 1 to ${MAX_HOST_CPUS}.`;
  if (!whole(machine.memoryMiB, 1, MAX_HOST_MEMORY_MIB))
    return `The reported machine has ${String(machine.memoryMiB)} MiB of memory; a host has from 1 to ${MAX_HOST_MEMORY_MIB}.`;
  if (typeof capacity !== "object" || capacity === null) return "The registration declares no capacity.";
  const factor = request.overcommit === true ? MAX_OVERCOMMIT : 1;
  const cpuLimit = machine.cpuCount * 1024 * factor;
  const memoryLimit = machine.memoryMiB * factor;
  const beyond =
    request.overcommit === true ? `${MAX_OVERCOMMIT} times the machine's` : "the machine's (declare more with --capacity-cpu-units/--capacity-memory-mib)";
  if (!whole(capacity.cpuUnits, 1, cpuLimit))
    return `Declared capacity of ${String(capacity.cpuUnits)} CPU units exceeds ${beyond}: at most ${cpuLimit} for ${machine.cpuCount} CPUs.`;
  if (!whole(capacity.memoryMiB, 1, memoryLimit))
    return `Declared capacity of ${String(capacity.memoryMiB)} MiB exceeds ${beyond}: at most ${memoryLimit} MiB for a machine of ${machine.memoryMiB} MiB.`;
  if (!whole(capacity.taskSlots, 1, MAX_TASK_SLOTS)) return `Declared ${String(capacity.taskSlots)} task slots; a host has from 1 to ${MAX_TASK_SLOTS}.`;
  if (!whole(capacity.ephemeralGiB, 0, capacity.taskSlots * MAX_EPHEMERAL_GIB_PER_SLOT)) {
    return `Declared ${String(capacity.ephemeralGiB)} GiB of ephemeral storage; at most ${MAX_EPHEMERAL_GIB_PER_SLOT} GiB per task slot.`;
  }
  return undefined;
}
