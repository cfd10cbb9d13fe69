import { test } from "node:test";
import assert from "node:assert/strict";
import * as ec2 from "@aws-sdk/client-ec2";
import * as sts from "@aws-sdk/client-sts";
import { QueryShapeSerializer } from "@aws-sdk/core/protocols";
import { isAwsError } from "../../core/errors.js";
import type { QueryFlavour } from "./query-errors.js";
import { decodeQueryInput, MAX_PARAMETERS, parseQueryParameters } from "./query-request.js";

// The SDK's own query serializer (what EC2Client and STSClient send) is the reference: whatever
// it writes from an input, the decoder must give back the same input.
function sdkQuery(schema: unknown, input: object, flavour: QueryFlavour): string {
  const settings = {
    timestampFormat: { useTrait: true, default: 5 as const },
    httpBindings: false,
    xmlNamespace: "",
    serviceNamespace: "",
    serializeEmptyLists: true,
  };
  const ec2Settings = { capitalizeKeys: true, flattenLists: true, serializeEmptyLists: false, ec2: true };
  const serializer = new QueryShapeSerializer(flavour === "ec2" ? { ...settings, ...ec2Settings } : settings);
  serializer.write(schema as never, input);
  return `Action=Test&Version=1${serializer.flush()}`;
}

function decode(schema: unknown, text: string, flavour: QueryFlavour): Record<string, unknown> {
  return decodeQueryInput(schema, parseQueryParameters(text, flavour).root, flavour);
}

function roundTrip(schema: unknown, input: object, flavour: QueryFlavour): void {
  assert.deepEqual(decode(schema, sdkQuery(schema, input, flavour), flavour), input);
}

/** Asserts the decoder refuses with an AwsError of the code, never anything else. */
function refuses(run: () => unknown, code: string, message?: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(isAwsError(error), `not an AwsError: ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

test("ec2 flavour: nested flattened lists, structures, numbers, booleans and ec2QueryName keys round-trip from the SDK's serializer", () => {
  roundTrip(
    ec2.AuthorizeSecurityGroupIngressRequest$,
    {
      GroupId: "sg-0123456789abcdef0",
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 443,
          ToPort: 443,
          IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "a < b & c" }, { CidrIp: "192.168.0.0/16" }],
          UserIdGroupPairs: [{ GroupId: "sg-1", UserId: "123456789012" }],
        },
        { IpProtocol: "-1", Ipv6Ranges: [{ CidrIpv6: "::/0" }] },
      ],
      TagSpecifications: [{ ResourceType: "security-group-rule", Tags: [{ Key: "k", Value: "" }] }],
      DryRun: false,
    },
    "ec2",
  );
  roundTrip(
    ec2.DescribeAvailabilityZonesRequest$,
    { ZoneNames: ["us-east-1a", "us-east-1b"], Filters: [{ Name: "zone-name", Values: ["*a", "b?"] }], AllAvailabilityZones: true },
    "ec2",
  );
  assert.deepEqual(decode(ec2.DescribeAvailabilityZonesRequest$, "Action=X&Version=1&Filter.1.Name=state&Filter.1.Value.1=available", "ec2"), {
    Filters: [{ Name: "state", Values: ["available"] }],
  });
});

test("ec2 flavour: timestamps in ISO 8601 or epoch seconds become Dates; an idempotency token is kept", () => {
  const start = new Date("2026-03-01T12:34:56Z");
  roundTrip(ec2.DescribeSpotPriceHistoryRequest$, { StartTime: start, InstanceTypes: ["m5.large"], MaxResults: 10 }, "ec2");
  assert.deepEqual(decode(ec2.DescribeSpotPriceHistoryRequest$, "StartTime=1772368496", "ec2"), { StartTime: start });
  assert.deepEqual(decode(ec2.DescribeSpotPriceHistoryRequest$, "StartTime=2026-03-01T12:34:56.000Z", "ec2"), { StartTime: start });
  roundTrip(
    ec2.RunInstancesRequest$,
    { MinCount: 1, MaxCount: 2, ImageId: "ami-1", ClientToken: "token-1", BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { VolumeSize: 8 } }] },
    "ec2",
  );
});

test("query flavour: member lists, empty lists, numbers and required members (STS AssumeRole)", () => {
  const input = {
    RoleArn: "arn:aws:iam::123456789012:role/r",
    RoleSessionName: "s",
    PolicyArns: [{ arn: "arn:aws:iam::aws:policy/A" }, { arn: "arn:aws:iam::aws:policy/B" }],
    DurationSeconds: 900,
    Tags: [{ Key: "team", Value: "a&b=c" }],
    TransitiveTagKeys: [],
  };
  assert.match(sdkQuery(sts.AssumeRoleRequest$, input, "query"), /PolicyArns\.member\.2\.arn=.*TransitiveTagKeys=(&|$)/);
  roundTrip(sts.AssumeRoleRequest$, input, "query");
  refuses(
    () => decode(sts.AssumeRoleRequest$, "RoleSessionName=s", "query"),
    "ValidationError",
    /^1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null$/,
  );
  refuses(() => decode(sts.AssumeRoleRequest$, "RoleArn=a&RoleSessionName=s&PolicyArns.1.arn=x", "query"), "MalformedQueryString", /PolicyArns\.member\.N/);
});

// A synthetic service with what the real ones above do not show: maps (plain, flattened, renamed
// key and value), flattened and renamed lists, blobs and every timestamp format.
const Inner = [3, "t", "Inner", 0, ["Name", "Count"], [0, 1]];
const Synthetic = [
  3,
  "t",
  "Synthetic",
  0,
  ["Plain", "Flat", "Renamed", "Attributes", "FlatMap", "NamedMap", "Data", "When", "Nested", "Big"],
  [
    [1, "t", "Plain", 0, () => Inner],
    [[1, "t", "Flat", 0, 0], { xmlFlattened: 1 }],
    [1, "t", "Renamed", 0, [0, { xmlName: "Item" }]],
    128 | 0,
    [[2, "t", "FlatMap", 0, 0, 1], { xmlFlattened: 1 }],
    [2, "t", "NamedMap", 0, [0, { xmlName: "Name" }], [0, { xmlName: "Value" }]],
    21,
    7,
    [1, "t", "Lists", 0, [1, "t", "List", 0, 0]],
    17,
  ],
];

test("query flavour: maps, flattened and renamed lists, blobs, epoch timestamps, lists of lists and big integers round-trip", () => {
  roundTrip(
    Synthetic,
    {
      Plain: [{ Name: "a", Count: 1 }, { Name: "b" }],
      Flat: ["x", "y"],
      Renamed: ["p"],
      Attributes: { k1: "v1", __proto__: "not a prototype", "": "empty key" },
      FlatMap: { a: 1, b: 2.5 },
      NamedMap: { n: "v" },
      Data: new Uint8Array([0, 1, 2, 255]),
      When: new Date(1_700_000_000_000),
      Nested: [["a", "b"], [], ["c"]],
      Big: 12345678901234567890n,
    },
    "query",
  );
  const decoded = decode(Synthetic, "Attributes.entry.1.key=__proto__&Attributes.entry.1.value=polluted", "query");
  assert.equal(Object.getPrototypeOf(decoded["Attributes"]), Object.prototype);
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  assert.equal(Object.getOwnPropertyDescriptor(decoded["Attributes"], "__proto__")?.value, "polluted");
});

test("list indices order items, gaps are allowed, and an absurd index is one item, not an allocation", () => {
  assert.deepEqual(decode(ec2.DescribeAvailabilityZonesRequest$, "ZoneName.10=b&ZoneName.2=a&ZoneName.999999999=c", "ec2"), { ZoneNames: ["a", "b", "c"] });
  assert.deepEqual(decode(ec2.DescribeAvailabilityZonesRequest$, "Filter.99999999.Name=state", "ec2"), { Filters: [{ Name: "state" }] });
  for (const index of ["0", "-1", "01", "1e3", "1234567890", "x", "constructor"]) {
    refuses(() => decode(ec2.DescribeAvailabilityZonesRequest$, `Filter.${index}.Name=state`, "ec2"), "InvalidParameterValue");
  }
});

test("values of the wrong type are the flavour's client error, naming the parameter", () => {
  const zones = ec2.DescribeAvailabilityZonesRequest$;
  refuses(() => decode(zones, "DryRun=yes", "ec2"), "InvalidParameterValue", /^Value \(yes\) for parameter DryRun is invalid\. Expected: 'boolean'\.$/);
  refuses(() => decode(ec2.DescribeSpotPriceHistoryRequest$, "MaxResults=ten", "ec2"), "InvalidParameterValue", /parameter MaxResults/);
  refuses(() => decode(ec2.DescribeSpotPriceHistoryRequest$, "MaxResults=1e999", "ec2"), "InvalidParameterValue");
  refuses(() => decode(ec2.DescribeSpotPriceHistoryRequest$, "StartTime=yesterday", "ec2"), "InvalidParameterValue", /Expected: 'timestamp'/);
  refuses(() => decode(ec2.DescribeSpotPriceHistoryRequest$, "StartTime=99999999999999999", "ec2"), "InvalidParameterValue");
  refuses(() => decode(Synthetic, "Data=not*base64", "query"), "ValidationError", /Expected: 'base64'/);
  refuses(() => decode(Synthetic, "Big=1.5", "query"), "ValidationError");
  refuses(() => decode(Synthetic, `Plain.member.1.Count=${"9".repeat(5000)}`, "query"), "ValidationError");
  // A simple member given members of its own, a value where a structure is expected is ignored.
  refuses(() => decode(zones, "DryRun.1=true", "ec2"), "InvalidParameterValue", /must have a value/);
  assert.deepEqual(decode(zones, "Filter.1=x", "ec2"), { Filters: [{}] });
});

test("hostile requests are refused quickly and clearly: too many parameters, long or deep keys, duplicates, empty segments", () => {
  const many = Array.from({ length: 10_000 }, (_, index) => `ZoneName.${index + 1}=z`).join("&");
  const started = Date.now();
  refuses(() => parseQueryParameters(many, "ec2"), "InvalidParameterValue", new RegExp(`more than ${MAX_PARAMETERS} parameters`));
  refuses(() => parseQueryParameters("&".repeat(2_000_000), "query"), "MalformedQueryString");
  assert.ok(Date.now() - started < 1000, "refusing large requests must not take long");
  refuses(() => parseQueryParameters(`${"A.".repeat(100)}B=1`, "query"), "MalformedQueryString", /nested too deeply/);
  refuses(() => parseQueryParameters(`${"K".repeat(600)}=1`, "query"), "MalformedQueryString", /too long/);
  refuses(() => parseQueryParameters("ZoneName.1=a&ZoneName.1=b", "ec2"), "InvalidParameterValue", /more than once/);
  refuses(() => parseQueryParameters("Filter..Name=a", "ec2"), "InvalidParameterValue", /malformed/);
  // Within the bounds, a large request decodes in linear time.
  const large = Array.from({ length: MAX_PARAMETERS - 10 }, (_, index) => `ZoneName.${index + 1}=z${index}`).join("&");
  const decoded = decode(ec2.DescribeAvailabilityZonesRequest$, large, "ec2");
  assert.equal((decoded["ZoneNames"] as string[]).length, MAX_PARAMETERS - 10);
  assert.ok(Date.now() - started < 2000);
});

test("Action and Version are read apart from the members; unknown parameters are ignored; + and %XX decode", () => {
  const parsed = parseQueryParameters("Action=DescribeAvailabilityZones&Version=2016-11-15&Unknown.1=x&ZoneName.1=us-east-1%61&Filter.1.Value.1=a+b", "ec2");
  assert.equal(parsed.action, "DescribeAvailabilityZones");
  assert.equal(parsed.version, "2016-11-15");
  assert.deepEqual(decodeQueryInput(ec2.DescribeAvailabilityZonesRequest$, parsed.root, "ec2"), { ZoneNames: ["us-east-1a"], Filters: [{ Values: ["a b"] }] });
  // A malformed escape is kept as it is, invalid UTF-8 becomes U+FFFD: neither throws.
  assert.deepEqual(decode(ec2.DescribeAvailabilityZonesRequest$, "ZoneName.1=%zz%ff", "ec2"), { ZoneNames: ["%zz\uFFFD"] });
});
