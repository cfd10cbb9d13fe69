// EC2 resource ids: a type prefix, a dash and 17 lowercase hex digits (vpc-0a1b2c3d4e5f67890).
// Ids made here are random; the default VPC's are derived from the account and region
// (core/default-network.ts) so every replica computes the same. A caller's id is checked against
// the pattern before it reaches the store: a bad one is "Malformed", a well-formed unknown one
// "NotFound", as EC2 answers (older 8-digit ids are well-formed too).
import { randomBytes } from "node:crypto";

export type Ec2ResourceType = "vpc" | "subnet" | "sg" | "sgr" | "eni";

const ID = /^(vpc|subnet|sg|sgr|eni)-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export function newEc2Id(type: Ec2ResourceType): string {
  return `${type}-${randomBytes(9).toString("hex").slice(0, 17)}`;
}

/** Whether `id` is a well-formed id of `type`. */
export function isEc2Id(id: string, type: Ec2ResourceType): boolean {
  const match = ID.exec(id);
  return match !== null && match[1] === type;
}

/** The type of a well-formed id, or undefined (an unknown prefix or a malformed id). */
export function ec2IdType(id: string): Ec2ResourceType | undefined {
  return (ID.exec(id)?.[1] as Ec2ResourceType | undefined) ?? undefined;
}
