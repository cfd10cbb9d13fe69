import { test } from "node:test";
import assert from "node:assert/strict";
import * as ec2 from "@aws-sdk/client-ec2";
import * as sts from "@aws-sdk/client-sts";
import { XmlShapeDeserializer } from "@aws-sdk/core/protocols";
import type { QueryFlavour } from "./query-errors.js";
import { queryErrorXml, queryWireError } from "./query-errors.js";
import { queryResponseXml, xmlText } from "./query-xml.js";
import { AwsError } from "../../core/errors.js";

// The SDK's own XML deserializer (what EC2Client and STSClient parse answers with) is the
// reference: whatever the encoder writes from an output, the SDK must read back the same output.
function sdkRead(schema: unknown, xml: string, operation: string, flavour: QueryFlavour): unknown {
  const deserializer = new XmlShapeDeserializer({ timestampFormat: { useTrait: true, default: 5 }, httpBindings: false, serviceNamespace: "" } as never);
  return deserializer.read(schema as never, new TextEncoder().encode(xml), flavour === "query" ? `${operation}Result` : undefined);
}

function roundTrip(operation: string, schema: unknown, output: object, flavour: QueryFlavour): string {
  const xml = queryResponseXml(operation, schema, output, { flavour, xmlNamespace: "urn:test", requestId: "req-1" });
  assert.deepEqual(sdkRead(schema, xml, operation, flavour), output);
  return xml;
}

test("ec2 flavour: lowerCamel xmlName elements, lists of <item>, nested structures, numbers round-trip through the SDK's parser", () => {
  const xml = roundTrip(
    "DescribeSecurityGroups",
    ec2.DescribeSecurityGroupsResult$,
    {
      SecurityGroups: [
        {
          GroupId: "sg-1",
          GroupName: "default",
          Description: "d",
          VpcId: "vpc-1",
          OwnerId: "123456789012",
          IpPermissions: [{ IpProtocol: "tcp", FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: "0.0.0.0/0" }], UserIdGroupPairs: [{ GroupId: "sg-1" }] }],
          IpPermissionsEgress: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
          Tags: [{ Key: "Name", Value: "x" }],
        },
      ],
    },
    "ec2",
  );
  assert.match(
    xml,
    /^<\?xml version="1.0" encoding="UTF-8"\?>\n<DescribeSecurityGroupsResponse xmlns="urn:test"><requestId>req-1<\/requestId><securityGroupInfo><item><groupId>sg-1<\/groupId><ipPermissionsEgress><item><ipProtocol>-1<\/ipProtocol>/,
  );
  assert.match(xml, /<tagSet><item><key>Name<\/key><value>x<\/value><\/item><\/tagSet>/);
});

test("ec2 flavour: an empty list is an empty element, absent members are left out", () => {
  const xml = queryResponseXml(
    "DescribeAvailabilityZones",
    ec2.DescribeAvailabilityZonesResult$,
    { AvailabilityZones: [{ ZoneName: "z", Messages: [] }] },
    {
      flavour: "ec2",
      xmlNamespace: "urn:test",
      requestId: "r",
    },
  );
  assert.match(xml, /<availabilityZoneInfo><item><messageSet\/><zoneName>z<\/zoneName><\/item><\/availabilityZoneInfo><\/DescribeAvailabilityZonesResponse>$/);
  const empty = queryResponseXml(
    "DescribeAvailabilityZones",
    ec2.DescribeAvailabilityZonesResult$,
    { AvailabilityZones: [] },
    { flavour: "ec2", xmlNamespace: "u", requestId: "r" },
  );
  assert.match(empty, /<availabilityZoneInfo\/><\/DescribeAvailabilityZonesResponse>$/);
});

test("query flavour: the Result wrapper, ResponseMetadata, timestamps as ISO 8601 (STS AssumeRole)", () => {
  const xml = roundTrip(
    "AssumeRole",
    sts.AssumeRoleResponse$,
    {
      Credentials: { AccessKeyId: "ASIA1", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date("2026-01-02T03:04:05.678Z") },
      AssumedRoleUser: { AssumedRoleId: "AROA1:s", Arn: "arn:aws:sts::1:assumed-role/r/s" },
      PackedPolicySize: 6,
    },
    "query",
  );
  assert.match(xml, /<AssumeRoleResponse xmlns="urn:test"><AssumeRoleResult><Credentials><AccessKeyId>ASIA1<\/AccessKeyId>/);
  assert.match(xml, /<Expiration>2026-01-02T03:04:05.678Z<\/Expiration>/);
  assert.match(xml, /<\/AssumeRoleResult><ResponseMetadata><RequestId>req-1<\/RequestId><\/ResponseMetadata><\/AssumeRoleResponse>$/);
  assert.match(queryResponseXml("Nothing", undefined, {}, { flavour: "query", xmlNamespace: "u", requestId: "r" }), /<NothingResult\/><ResponseMetadata>/);
});

const Inner = [3, "t", "Inner", 0, ["Name"], [0]];
const Output = [
  3,
  "t",
  "Output",
  0,
  ["Members", "Flat", "Attributes", "FlatMap", "Data", "Epoch", "Http", "Yes", "Nested"],
  [
    [1, "t", "Members", 0, () => Inner],
    [[1, "t", "Flat", 0, 0], { xmlFlattened: 1 }],
    128 | 0,
    [[2, "t", "FlatMap", 0, 0, 1], { xmlFlattened: 1 }],
    21,
    7,
    6,
    2,
    [1, "t", "Lists", 0, [1, "t", "List", 0, 0]],
  ],
];

test("query flavour: member lists, flattened lists and maps, blobs, booleans, epoch and HTTP-date timestamps round-trip", () => {
  roundTrip(
    "Synthetic",
    Output,
    {
      Members: [{ Name: "a" }, { Name: "b" }],
      Flat: ["x", "y"],
      Attributes: { k: "v", other: "w" },
      FlatMap: { a: 1, b: 2 },
      Data: new Uint8Array([1, 2, 3, 250]),
      Epoch: new Date(1_700_000_000_000),
      Http: new Date("2026-01-02T03:04:05Z"),
      Yes: false,
      Nested: [["a", "b"], ["c"]],
    },
    "query",
  );
});

test("hostile strings are escaped: markup, entities, CDATA ends and quotes come back as sent", () => {
  const hostile = `<script>alert("x")</script> & &amp; ]]> '<![CDATA[x]]>' <?xml?> <!-- -->\ttab\nnewline\r\nCRLF`;
  roundTrip("GetCallerIdentity", sts.GetCallerIdentityResponse$, { UserId: hostile, Account: "1", Arn: "]]>" }, "query");
  const xml = queryResponseXml(
    "GetCallerIdentity",
    sts.GetCallerIdentityResponse$,
    { Arn: hostile },
    { flavour: "query", xmlNamespace: 'a"b', requestId: "<r>" },
  );
  assert.doesNotMatch(xml, /<script>|]]>|<!\[CDATA|<!--/);
  assert.match(xml, /xmlns="a&quot;b"/);
  assert.match(xml, /<RequestId>&lt;r&gt;<\/RequestId>/);
});

test("characters XML 1.0 cannot carry become U+FFFD, so the document stays well-formed", () => {
  assert.equal(xmlText("a\u0000b\u0001c\u001fd\uFFFEe\uD800f\uDC00g"), "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\uFFFDg");
  // A valid surrogate pair (an emoji) is kept.
  assert.equal(xmlText("\uD83D\uDE00"), "\uD83D\uDE00");
  const output = { UserId: "nul\u0000here", Account: "bell\u0007", Arn: "\uD83D\uDE00" };
  const xml = queryResponseXml("GetCallerIdentity", sts.GetCallerIdentityResponse$, output, { flavour: "query", xmlNamespace: "u", requestId: "r" });
  assert.deepEqual(sdkRead(sts.GetCallerIdentityResponse$, xml, "GetCallerIdentity", "query"), {
    UserId: "nul\uFFFDhere",
    Account: "bell\uFFFD",
    Arn: "\uD83D\uDE00",
  });
});

test("a cyclic answer (a bug of ours) stops with an error instead of recursing without end", () => {
  const Node: unknown[] = [3, "t", "Node", 0, ["Next"], []];
  (Node[5] as unknown[]).push(() => Node);
  const cyclic: Record<string, unknown> = {};
  cyclic["Next"] = cyclic;
  assert.throws(() => queryResponseXml("Loop", Node, cyclic, { flavour: "query", xmlNamespace: "u", requestId: "r" }), /too deep/);
});

test("error documents: EC2's <Response><Errors>, the query flavour's <ErrorResponse> with Sender or Receiver", () => {
  const ec2Error = queryErrorXml(queryWireError(new AwsError("InvalidVpcID.NotFound", "The vpc ID 'vpc-<1>' does not exist"), "ec2"), "ec2", "", "id-1");
  assert.equal(
    ec2Error,
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID &apos;vpc-&lt;1&gt;&apos; does not exist</Message></Error></Errors><RequestID>id-1</RequestID></Response>`,
  );
  const server = queryWireError(new AwsError("ServerException", "boom", { httpStatus: 500 }), "query");
  assert.deepEqual(server, { code: "InternalFailure", message: "An internal error has occurred", httpStatus: 500 });
  assert.match(queryErrorXml(server, "query", "urn:sts", "id-2"), /^<ErrorResponse xmlns="urn:sts"><Error><Type>Receiver<\/Type><Code>InternalFailure<\/Code>/);
  assert.equal(queryWireError(new AwsError("ThrottlingException", "Rate exceeded"), "ec2").code, "RequestLimitExceeded");
  assert.equal(queryWireError(new AwsError("UnrecognizedClientException", "x", { httpStatus: 403 }), "query").code, "InvalidClientTokenId");
});
