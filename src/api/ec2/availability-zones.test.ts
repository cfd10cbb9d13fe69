import { test } from "node:test";
import assert from "node:assert/strict";
import type { RequestContext } from "../service-module.js";
import { describeAvailabilityZones, regionCode, zoneId } from "./availability-zones.js";

const context = (region: string): RequestContext => ({
  requestId: "r",
  accountId: "123456789012",
  region,
  partition: "aws",
  accessKeyId: "AKIA",
  principalArn: "arn:aws:iam::123456789012:root",
  caller: { kind: "root", arn: "arn:aws:iam::123456789012:root", account: "123456789012" },
  receivedAt: 0,
});

test("zone ids use AWS's short region codes and the zone letter's position", () => {
  assert.deepEqual(
    ["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1", "eu-north-1", "ca-central-1", "me-south-1"].map(regionCode),
    ["use1", "usw2", "euc1", "apse2", "apne1", "sae1", "eun1", "cac1", "mes1"],
  );
  assert.equal(zoneId("us-west-1", "us-west-1c"), "usw1-az3");
});

test("every zone of the region with AWS's fixed attributes", async () => {
  const { AvailabilityZones: zones } = await describeAvailabilityZones({}, context("eu-west-1"));
  assert.deepEqual(zones?.[0], {
    OptInStatus: "opt-in-not-required",
    Messages: [],
    RegionName: "eu-west-1",
    ZoneName: "eu-west-1a",
    ZoneId: "euw1-az1",
    GroupName: "eu-west-1-zg-1",
    NetworkBorderGroup: "eu-west-1",
    ZoneType: "availability-zone",
    State: "available",
  });
  assert.deepEqual(
    zones?.map((zone) => zone.ZoneName),
    ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
  );
});

test("ZoneNames and ZoneIds select (either matching), filters narrow with wildcards and backslash escapes", async () => {
  const names = async (input: Parameters<typeof describeAvailabilityZones>[0]) =>
    (await describeAvailabilityZones(input, context("us-east-1"))).AvailabilityZones?.map((zone) => zone.ZoneName);
  assert.deepEqual(await names({ ZoneNames: ["us-east-1c"], ZoneIds: ["use1-az1"] }), ["us-east-1a", "us-east-1c"]);
  assert.deepEqual(
    await names({
      Filters: [
        { Name: "zone-name", Values: ["us-east-1[ab]", "*-1?"] },
        { Name: "zone-id", Values: ["use1-az?"] },
      ],
    }),
    ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"],
  );
  assert.deepEqual(await names({ Filters: [{ Name: "zone-name", Values: ["us-east-1\\*"] }] }), []);
  assert.deepEqual(
    await names({
      Filters: [
        { Name: "region-name", Values: ["us-east-1"] },
        { Name: "state", Values: ["available"] },
        { Name: "zone-id", Values: ["*az6"] },
      ],
    }),
    ["us-east-1f"],
  );
  assert.deepEqual(await names({ ZoneNames: ["us-east-1a"], Filters: [{ Name: "zone-id", Values: ["use1-az2"] }] }), []);
});

test("unknown zones and filters are InvalidParameterValue in EC2's words, 201 filter values FilterLimitExceeded; DryRun is DryRunOperation", async () => {
  const call = (input: Parameters<typeof describeAvailabilityZones>[0]) => describeAvailabilityZones(input, context("us-east-1"));
  await assert.rejects(call({ ZoneNames: ["us-east-1a", "us-west-2a"] }), {
    code: "InvalidParameterValue",
    message: "Invalid availability zone: [us-west-2a]",
  });
  await assert.rejects(call({ ZoneIds: ["use1-az9"] }), { code: "InvalidParameterValue" });
  await assert.rejects(call({ Filters: [{ Name: "zone-colour", Values: ["x"] }] }), {
    code: "InvalidParameterValue",
    message: "The filter 'zone-colour' is invalid",
  });
  await assert.rejects(call({ Filters: [{ Name: "zone-name", Values: Array.from({ length: 201 }, () => "x") }] }), {
    code: "FilterLimitExceeded",
    message: "The maximum number of filter values specified on a single call is 200",
  });
  await assert.rejects(call({ DryRun: true }), { code: "DryRunOperation", httpStatus: 412 });
});
