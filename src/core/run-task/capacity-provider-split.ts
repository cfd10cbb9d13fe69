// How RunTask spreads `count` tasks over a capacity provider strategy
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html):
// the provider with a `base` gets that many tasks first; the rest are split in proportion to the
// weights. The split is deterministic: each further task goes to the provider furthest below its
// weighted share, ties to the earlier provider in the strategy.
import type { CapacityProviderStrategyItem } from "@aws-sdk/client-ecs";

export interface ProviderShare {
  readonly capacityProvider: string;
  readonly count: number;
}

export function splitByStrategy(strategy: readonly CapacityProviderStrategyItem[], count: number): ProviderShare[] {
  const counts = strategy.map(() => 0);
  let remaining = count;
  strategy.forEach((item, index) => {
    const base = Math.min(item.base ?? 0, remaining);
    counts[index] = (counts[index] ?? 0) + base;
    remaining -= base;
  });
  const weights = strategy.map((item) => item.weight ?? 0);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const weighted = counts.map(() => 0);
  for (let placed = 0; placed < remaining; placed++) {
    let best = -1;
    let bestDeficit = Number.NEGATIVE_INFINITY;
    weights.forEach((weight, index) => {
      if (weight <= 0) return;
      const deficit = ((placed + 1) * weight) / totalWeight - weighted[index]!;
      if (deficit > bestDeficit) {
        bestDeficit = deficit;
        best = index;
      }
    });
    if (best < 0) break; // no weights: only the base can be placed (validation prevents this)
    weighted[best]! += 1;
  }
  return strategy
    .map((item, index) => ({ capacityProvider: item.capacityProvider ?? "", count: counts[index]! + weighted[index]! }))
    .filter((share) => share.count > 0);
}
