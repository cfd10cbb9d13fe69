// What every ECS operation handler receives: the store, the clock and the account scope.
import type { AccountScope } from "../../core/arn.js";
import { buildArn, parseArn } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import { invalidParameterException } from "../../core/errors.js";
import type { Store } from "../../store/index.js";
import { decodeToken as decodeTokenAs } from "../pagination-token.js";

export interface EcsContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly scope: AccountScope;
}

export const clusterArnOf = (scope: AccountScope, name: string) => buildArn(scope, "ecs", `cluster/${name}`);

/** A cluster reference (name or ARN) → its name; undefined or empty means "default", as in ECS. */
export function clusterNameOf(reference: string | undefined): string {
  if (reference === undefined || reference === "") return "default";
  const arn = parseArn(reference);
  if (!arn) return reference;
  const match = /^cluster\/(.+)$/.exec(arn.resource);
  if (!match) throw invalidParameterException(`Invalid cluster identifier: ${reference}`);
  return match[1]!;
}

export function checkMaxResults(maxResults: number | undefined, max = 100): number {
  if (maxResults === undefined) return max;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > max) {
    throw invalidParameterException(`maxResults must be between 1 and ${max}.`);
  }
  return maxResults;
}

export { encodeToken } from "../pagination-token.js";

/** A nextToken of this service, checked by `valid`; a bad one is this service's InvalidParameter. */
export function decodeToken<T>(token: string | undefined, valid: (value: unknown) => value is T): T | undefined {
  return decodeTokenAs(token, valid, () => invalidParameterException("Invalid nextToken."));
}
