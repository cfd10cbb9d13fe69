// DescribeAvailabilityZones (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAvailabilityZones.html):
// the region's zones as src/core/default-network.ts lays them out, all available, none opt-in.
// Zone ids follow AWS's `<region code>-az<n>` form (us-east-1 → use1-az1); AWS maps names to ids per
// account, Berth uses the letter's position (a → az1, c → az3), the same for every account.
import type { AvailabilityZone, DescribeAvailabilityZonesRequest, DescribeAvailabilityZonesResult } from "@aws-sdk/client-ec2";
import { availabilityZones } from "../../core/default-network.js";
import type { RequestContext } from "../service-module.js";
import { invalidParameterValue, refuseDryRun } from "./ec2-errors.js";
import type { FilterFields } from "../../core/ec2/filters.js";
import { compileFilters } from "../../core/ec2/filters.js";

/** us-east-1 → use1, ap-southeast-2 → apse2, eu-central-1 → euc1: AWS's short region code of zone ids. */
export function regionCode(region: string): string {
  const [area = "", direction = "", number = ""] = region.split("-");
  const compass = direction
    .replace(/^(north|south)(east|west)$/, (_match, first: string, second: string) => `${first[0]}${second[0]}`)
    .replace(/^(north|south|east|west|central)$/, (word) => word[0] as string);
  return `${area}${compass}${number}`;
}

export function zoneId(region: string, zoneName: string): string {
  const letter = zoneName.slice(region.length);
  return `${regionCode(region)}-az${letter.charCodeAt(0) - "a".charCodeAt(0) + 1}`;
}

/** The zones of a region as EC2 describes them. */
export function regionZones(region: string): AvailabilityZone[] {
  return availabilityZones(region).map((zoneName) => ({
    OptInStatus: "opt-in-not-required",
    Messages: [],
    RegionName: region,
    ZoneName: zoneName,
    ZoneId: zoneId(region, zoneName),
    // Regular zones of a region form one zone group, named `<region>-zg-1`, and share the
    // region's network border group.
    GroupName: `${region}-zg-1`,
    NetworkBorderGroup: region,
    ZoneType: "availability-zone",
    State: "available",
  }));
}

const ZONE_FILTERS: FilterFields<AvailabilityZone> = {
  "zone-name": (zone) => [zone.ZoneName],
  "zone-id": (zone) => [zone.ZoneId],
  "zone-type": (zone) => [zone.ZoneType],
  state: (zone) => [zone.State],
  "region-name": (zone) => [zone.RegionName],
  "group-name": (zone) => [zone.GroupName],
  "opt-in-status": (zone) => [zone.OptInStatus],
  "network-border-group": (zone) => [zone.NetworkBorderGroup],
  message: (zone) => (zone.Messages ?? []).map((message) => message.Message),
};

export async function describeAvailabilityZones(input: DescribeAvailabilityZonesRequest, context: RequestContext): Promise<DescribeAvailabilityZonesResult> {
  refuseDryRun(input);
  const zones = regionZones(context.region);
  // Names and ids the region does not have are refused, not ignored (EC2 does the same).
  for (const name of input.ZoneNames ?? []) {
    if (!zones.some((zone) => zone.ZoneName === name)) throw invalidParameterValue(`Invalid availability zone: [${name}]`);
  }
  for (const id of input.ZoneIds ?? []) {
    if (!zones.some((zone) => zone.ZoneId === id)) throw invalidParameterValue(`Invalid availability zone id: [${id}]`);
  }
  const matches = compileFilters(input.Filters, ZONE_FILTERS);
  const named = (zone: AvailabilityZone) =>
    (input.ZoneNames?.length ?? 0) + (input.ZoneIds?.length ?? 0) === 0 ||
    (input.ZoneNames ?? []).includes(zone.ZoneName ?? "") ||
    (input.ZoneIds ?? []).includes(zone.ZoneId ?? "");
  // Zones carry no tags: a tag filter matches none of them.
  const noTags = new Map<string, string>();
  return { AvailabilityZones: zones.filter((zone) => named(zone) && matches(zone, noTags)) };
}
