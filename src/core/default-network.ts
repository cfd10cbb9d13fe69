// The account's default network, modelled on an AWS account's default VPC
// (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html): one VPC (172.31.0.0/16 by
// default), one /20 default subnet per availability zone of the region (172.31.0.0/20,
// 172.31.16.0/20, …) and one security group named "default". Ids are derived from the account,
// region and name, so every server of one account computes the same ids without coordination.
import { createHash } from "node:crypto";

export interface Subnet {
  readonly subnetId: string;
  readonly availabilityZone: string;
  readonly cidrBlock: string;
  readonly vpcId: string;
  readonly defaultForAz: boolean;
}

export interface SecurityGroup {
  readonly groupId: string;
  readonly groupName: string;
  readonly description: string;
  readonly vpcId: string;
}

export interface DefaultNetwork {
  readonly vpcId: string;
  readonly cidrBlock: string;
  readonly subnets: readonly Subnet[];
  readonly securityGroups: readonly SecurityGroup[];
}

/** Availability-zone letters per region, as AWS lists them for a typical account. */
const ZONE_LETTERS: Readonly<Record<string, string>> = {
  "us-east-1": "abcdef",
  "us-east-2": "abc",
  "us-west-1": "ac",
  "us-west-2": "abcd",
  "eu-west-1": "abc",
  "eu-central-1": "abc",
  "ap-southeast-1": "abc",
  "ap-northeast-1": "acd",
};

export function availabilityZones(region: string): string[] {
  return [...(ZONE_LETTERS[region] ?? "abc")].map((letter) => `${region}${letter}`);
}

/** AWS resource ids are a prefix and 17 hex digits. */
export function resourceId(prefix: string, ...parts: string[]): string {
  return `${prefix}-${createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 17)}`;
}

export function defaultNetwork(options: { accountId: string; region: string; vpcCidr?: string }): DefaultNetwork {
  const cidrBlock = options.vpcCidr ?? "172.31.0.0/16";
  const [base, prefixText] = cidrBlock.split("/") as [string, string];
  const prefixLength = Number(prefixText);
  if (!isIpv4(base) || !Number.isInteger(prefixLength) || prefixLength < 8 || prefixLength > 20) {
    throw new RangeError(`invalid VPC CIDR ${cidrBlock}: want an IPv4 block from /8 to /20`);
  }
  const zones = availabilityZones(options.region);
  // Default subnets are /20s, which fit 2^(20 - prefix) times into the VPC block.
  if (zones.length > 2 ** (20 - prefixLength)) throw new RangeError(`VPC CIDR ${cidrBlock} is too small for ${zones.length} /20 subnets`);
  const vpcId = resourceId("vpc", options.accountId, options.region, "default");
  const baseNumber = (ipv4ToNumber(base) & prefixMask(prefixLength)) >>> 0;
  return {
    vpcId,
    cidrBlock: `${numberToIpv4(baseNumber)}/${prefixLength}`,
    subnets: zones.map((availabilityZone, index) => ({
      subnetId: resourceId("subnet", options.accountId, options.region, availabilityZone, "default"),
      availabilityZone,
      cidrBlock: `${numberToIpv4(baseNumber + index * 4096)}/20`,
      vpcId,
      defaultForAz: true,
    })),
    securityGroups: [
      {
        groupId: resourceId("sg", options.accountId, options.region, vpcId, "default"),
        groupName: "default",
        description: "default VPC security group",
        vpcId,
      },
    ],
  };
}

export function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

export function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((total, part) => total * 256 + Number(part), 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}
