import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { DescribeAvailabilityZonesCommand, DescribeVpcsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { systemClock } from "../../core/clock.js";
import { createEc2Service } from "../ec2/index.js";
import { createStsService } from "../sts/index.js";
import { createGateway } from "./gateway.js";
import { Authorizer } from "../../control/authorizer.js";
import { RoleSessions } from "../../control/role-sessions.js";

/** STS's session operations over an empty IAM store (these tests call GetCallerIdentity only). */
function unusedSessions(): RoleSessions {
  const iam = { getRole: async () => undefined, getUser: async () => undefined, policyDocumentsOf: async () => undefined };
  const sessions = { get: async () => undefined, put: async () => undefined, purgeExpired: async () => 0 };
  const sealer = { seal: (text: string) => text, unseal: (text: string) => text };
  return new RoleSessions({ sessions, iam, authorizer: new Authorizer(iam, Date.now), sealer, now: Date.now });
}

// The gateway on loopback with the EC2 and STS modules, driven by the SDK v3 clients themselves
// (their own query serializers and XML parsers) and by hand-signed raw requests.
const credentials = { accessKeyId: "AKIAUNITTEST00000000", secretAccessKey: "unit-test-secret-key-000000000000000000" };
const server = createServer(
  createGateway({
    services: [createEc2Service(), createStsService(unusedSessions(), async () => undefined)],
    principalFor: async (accessKeyId) =>
      accessKeyId === credentials.accessKeyId
        ? {
            secretAccessKey: credentials.secretAccessKey,
            accountId: "123456789012",
            principalArn: "arn:aws:iam::123456789012:root",
            identity: { kind: "root" as const, arn: "arn:aws:iam::123456789012:root", account: "123456789012" },
          }
        : undefined,
    region: "us-east-1",
    partition: "aws",
    clock: systemClock,
    logger: { error: () => {} },
    health: () => ({}),
  }),
);
let endpoint: string;
before(() =>
  new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve())).then(
    () => void (endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  ),
);
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const clientConfig = (secret = credentials.secretAccessKey) => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: secret },
  maxAttempts: 1,
});

async function raw(service: string, body: string, method = "POST"): Promise<{ status: number; text: string }> {
  const signer = new SignatureV4({ credentials, region: "us-east-1", service, sha256: Hash.bind(null, "sha256") });
  const url = new URL(endpoint);
  const headers: Record<string, string> = { host: url.host };
  if (method === "POST") headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8";
  const query = method === "GET" ? Object.fromEntries(new URLSearchParams(body)) : undefined;
  const signed = await signer.sign({
    method,
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers,
    query,
    body: method === "POST" ? body : undefined,
  });
  const target = method === "GET" ? `${endpoint}/?${new URLSearchParams(body).toString()}` : `${endpoint}/`;
  const response = await fetch(target, { method, headers: signed.headers, body: method === "POST" ? body : undefined });
  return { status: response.status, text: await response.text() };
}

test("EC2Client DescribeAvailabilityZones: the region's zones, filtered by name, id and wildcard", async () => {
  const ec2 = new EC2Client(clientConfig());
  const all = await ec2.send(new DescribeAvailabilityZonesCommand({}));
  assert.deepEqual(
    all.AvailabilityZones?.map((zone) => [zone.ZoneName, zone.ZoneId, zone.State, zone.RegionName, zone.ZoneType, zone.OptInStatus]),
    ["a", "b", "c", "d", "e", "f"].map((letter, index) => [
      `us-east-1${letter}`,
      `use1-az${index + 1}`,
      "available",
      "us-east-1",
      "availability-zone",
      "opt-in-not-required",
    ]),
  );
  assert.equal(all.$metadata.httpStatusCode, 200);
  assert.match(all.$metadata.requestId ?? "", /^[0-9a-f-]{36}$/);
  const named = await ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ["us-east-1b"], ZoneIds: ["use1-az3"] }));
  assert.deepEqual(
    named.AvailabilityZones?.map((zone) => zone.ZoneName),
    ["us-east-1b", "us-east-1c"],
  );
  const filtered = await ec2.send(
    new DescribeAvailabilityZonesCommand({
      Filters: [
        { Name: "zone-name", Values: ["*-1?", "nothing"] },
        { Name: "zone-id", Values: ["use1-az[1]", "use1-az?"] },
      ],
    }),
  );
  assert.equal(filtered.AvailabilityZones?.length, 6);
  const none = await ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: "state", Values: ["unavailable"] }] }));
  assert.deepEqual(none.AvailabilityZones, []);
});

test("EC2 errors are parsed by the SDK into the error they name", async () => {
  const ec2 = new EC2Client(clientConfig());
  await assert.rejects(ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ["us-east-1z"] })), (error: Error) => {
    assert.equal(error.name, "InvalidParameterValue");
    assert.equal(error.message, "Invalid availability zone: [us-east-1z]");
    return true;
  });
  await assert.rejects(ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: "colour", Values: ["x"] }] })), { name: "InvalidParameterValue" });
  await assert.rejects(ec2.send(new DescribeAvailabilityZonesCommand({ DryRun: true })), { name: "DryRunOperation" });
  // An operation the SDK knows but Berth does not implement.
  await assert.rejects(ec2.send(new DescribeVpcsCommand({})), { name: "InvalidAction", message: "The action DescribeVpcs is not valid for this web service." });
  const badKey = new EC2Client(clientConfig("wrong-secret"));
  await assert.rejects(badKey.send(new DescribeAvailabilityZonesCommand({})), { name: "AuthFailure" });
});

test("STSClient GetCallerIdentity: the root key's account, ARN and user id; a bad signature is SignatureDoesNotMatch", async () => {
  const sts = new STSClient(clientConfig());
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  assert.deepEqual(
    { Account: identity.Account, Arn: identity.Arn, UserId: identity.UserId },
    {
      Account: "123456789012",
      Arn: "arn:aws:iam::123456789012:root",
      UserId: "123456789012",
    },
  );
  await assert.rejects(new STSClient(clientConfig("wrong-secret")).send(new GetCallerIdentityCommand({})), { name: "SignatureDoesNotMatch" });
});

test("raw requests: XML shapes, unknown and missing Action, GET, inherited member names", async () => {
  const ok = await raw("ec2", "Action=DescribeAvailabilityZones&Version=2016-11-15&ZoneName.1=us-east-1a");
  assert.equal(ok.status, 200);
  assert.match(
    ok.text,
    /^<\?xml version="1.0" encoding="UTF-8"\?>\n<DescribeAvailabilityZonesResponse xmlns="http:\/\/ec2.amazonaws.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><availabilityZoneInfo><item><optInStatus>opt-in-not-required<\/optInStatus><messageSet\/><regionName>us-east-1<\/regionName><zoneName>us-east-1a<\/zoneName>/,
  );
  const sts = await raw("sts", "Action=GetCallerIdentity&Version=2011-06-15");
  assert.match(
    sts.text,
    /<GetCallerIdentityResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><GetCallerIdentityResult><UserId>123456789012<\/UserId><Account>123456789012<\/Account><Arn>arn:aws:iam::123456789012:root<\/Arn><\/GetCallerIdentityResult><ResponseMetadata><RequestId>/,
  );
  const viaGet = await raw("sts", "Action=GetCallerIdentity&Version=2011-06-15", "GET");
  assert.equal(viaGet.status, 200);
  for (const action of ["Frobnicate", "constructor", "__proto__", "toString"]) {
    const unknown = await raw("ec2", `Action=${action}&Version=2016-11-15`);
    assert.equal(unknown.status, 400);
    assert.match(
      unknown.text,
      new RegExp(
        `<Response><Errors><Error><Code>InvalidAction</Code><Message>The action ${action} is not valid for this web service.</Message></Error></Errors><RequestID>`,
      ),
    );
  }
  const unknownSts = await raw("sts", "Action=Frobnicate&Version=2011-06-15");
  assert.match(
    unknownSts.text,
    /^<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/,
  );
  assert.match((await raw("ec2", "Version=2016-11-15")).text, /<Code>MissingAction<\/Code>/);
  assert.match(
    (await raw("ec2", "Action=DescribeAvailabilityZones")).text,
    /<Code>MissingParameter<\/Code><Message>The request must contain the parameter Version.<\/Message>/,
  );
  assert.match(
    (await raw("ec2", "Action=DescribeAvailabilityZones&Version=2016-11-15&DryRun=maybe")).text,
    /<Code>InvalidParameterValue<\/Code><Message>Value \(maybe\) for parameter DryRun is invalid. Expected: &apos;boolean&apos;.<\/Message>/,
  );
});

test("unsigned and badly signed query requests are answered in XML before any operation is looked up", async () => {
  const unsigned = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "Action=Frobnicate&Version=2016-11-15",
  });
  assert.equal(unsigned.status, 403);
  const text = await unsigned.text();
  assert.match(text, /^<ErrorResponse><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code>/);
  assert.doesNotMatch(text, /Frobnicate/);
  const forged = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-amz-date": "20260101T000000Z",
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
    },
    body: "Action=Frobnicate&Version=2016-11-15",
  });
  assert.equal(forged.status, 403);
  assert.match(await forged.text(), /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>AuthFailure<\/Code>/);
});

test("a presigned GET (parameters and signature in the query string) reaches the service its credential scope names", async () => {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "sts", sha256: Hash.bind(null, "sha256") });
  const presigned = await signer.presign({
    method: "GET",
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: { host: url.host },
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
  });
  const response = await fetch(`${endpoint}/?${new URLSearchParams(presigned.query as Record<string, string>).toString()}`);
  assert.equal(response.status, 200);
  assert.match(await response.text(), /<GetCallerIdentityResult><UserId>123456789012<\/UserId>/);
});

test("a presigned GET whose credential scope is percent-encoded otherwise (%65c2 for ec2) still reaches its service", async () => {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "ec2", sha256: Hash.bind(null, "sha256") });
  const presigned = await signer.presign({
    method: "GET",
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: { host: url.host },
    query: { Action: "DescribeAvailabilityZones", Version: "2016-11-15" },
  });
  const query = presigned.query as Record<string, string>;
  const { "X-Amz-Credential": credential, ...rest } = query;
  // The same decoded value (so the same signature), encoded as no signer does but any client may.
  const encodedCredential = credential!.split("/").map((part) => (part === "ec2" ? "%65c2" : encodeURIComponent(part)));
  const response = await fetch(`${endpoint}/?${new URLSearchParams(rest).toString()}&X-Amz-Credential=${encodedCredential.join("%2F")}`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(text, /<DescribeAvailabilityZonesResponse[^>]*>/);
  assert.match(text, /<zoneName>us-east-1a<\/zoneName>/);
});
