// How RunTask spreads `count` tasks over a capacity provider strategy
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html):
// the provider with a `base` gets that many tasks first; the rest are split in proportion to the
// weights. The split is deterministic: each further task goes to the provider furthest below its
// weighted share, ties to the earlier provider in the strategy.
//
// A service's strategy holds across all its tasks, not each launch: ECS runs the base once per
// service ("how many tasks, at a minimum, to run on the specified capacity provider"), and the
// weights share out the service's tasks above it. So the split can start from the tasks the
// service already runs on each provider (`running`): a service that launches in batches, or
// replaces one task, ends where a single launch of all its tasks would.
import type { CapacityProviderStrategyItem } from "@aws-sdk/client-ecs";

export interface ProviderShare {
  readonly capacityProvider: string;
  readonly count: number;
}

export function splitByStrategy(
  strategy: readonly CapacityProviderStrategyItem[],
  count: number,
  running: ReadonlyMap<string, number> = new Map(),
): ProviderShare[] {
  const names = strategy.map((item) => item.capacityProvider ?? "");
  const bases = strategy.map((item) => item.base ?? 0);
  const weights = strategy.map((item) => item.weight ?? 0);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const have = names.map((name) => running.get(name) ?? 0);
  const added = names.map(() => 0);
  for (let placed = 0; placed < count; placed++) {
    const next = belowBase(have, added, bases) ?? furthestBelowShare(have, added, bases, weights, totalWeight);
    if (next === undefined) break; // no weights: only the base can be placed (validation prevents this)
    added[next]! += 1;
  }
  return names.map((capacityProvider, index) => ({ capacityProvider, count: added[index]! })).filter((share) => share.count > 0);
}

/** The first provider still short of its base. */
function belowBase(have: readonly number[], added: readonly number[], bases: readonly number[]): number | undefined {
  const index = bases.findIndex((base, i) => have[i]! + added[i]! < base);
  return index < 0 ? undefined : index;
}

/** The weighted provider furthest below its share of the tasks above the bases, counting the next one. */
function furthestBelowShare(
  have: readonly number[],
  added: readonly number[],
  bases: readonly number[],
  weights: readonly number[],
  totalWeight: number,
): number | undefined {
  const aboveBase = have.map((count, i) => Math.max(0, count + added[i]! - bases[i]!));
  const total = aboveBase.reduce((sum, count) => sum + count, 0);
  let best: number | undefined;
  let bestDeficit = Number.NEGATIVE_INFINITY;
  weights.forEach((weight, index) => {
    if (weight <= 0) return;
    const deficit = ((total + 1) * weight) / totalWeight - aboveBase[index]!;
    if (deficit > bestDeficit) {
      bestDeficit = deficit;
      best = index;
    }
  });
  return best;
}
