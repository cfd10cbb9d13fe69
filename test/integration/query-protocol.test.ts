// The AWS query protocol end to end on a real `berth server`: EC2 (ec2 flavour) and STS (query
// flavour) driven by the SDK v3 clients, Debian's AWS CLI and boto3, each with its own serializer,
// signer and XML parser; and the bad cases each of them must see as the error AWS would give.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { DescribeAvailabilityZonesCommand, DescribeVpcEndpointServicesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
  await server.cleanup();
});

const US_EAST_1_ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"];

/** A form POST signed for `service` with the test key (bodies no SDK would send). */
async function signedPost(service: string, body: string): Promise<{ status: number; text: string }> {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials: server.credentials, region: server.region, service, sha256: Hash.bind(null, "sha256") });
  const headers = { host: url.host, "content-type": "application/x-www-form-urlencoded; charset=utf-8" };
  const signed = await signer.sign({ method: "POST", protocol: "http:", hostname: url.hostname, port: Number(url.port), path: "/", headers, body });
  const response = await fetch(`${server.endpoint}/`, { method: "POST", headers: signed.headers, body });
  return { status: response.status, text: await response.text() };
}

function boto3(script: string, secret = server.credentials.secretAccessKey): Promise<{ code: number; stdout: string; stderr: string }> {
  const prelude = `import boto3, json, sys, botocore.exceptions\nsession = boto3.session.Session(aws_access_key_id=${JSON.stringify(server.credentials.accessKeyId)}, aws_secret_access_key=${JSON.stringify(secret)}, region_name=${JSON.stringify(server.region)})\nendpoint = ${JSON.stringify(server.endpoint)}\n`;
  return new Promise((resolve) =>
    execFile(
      "/usr/bin/python3",
      ["-c", prelude + script],
      { env: { PATH: "/usr/bin:/bin", HOME: tmpdir(), AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test("SDK v3: EC2Client DescribeAvailabilityZones and STSClient GetCallerIdentity", async () => {
  const ec2 = new EC2Client(sdkConfig(server));
  const zones = await ec2.send(new DescribeAvailabilityZonesCommand({}));
  assert.deepEqual(
    zones.AvailabilityZones?.map((zone) => zone.ZoneName),
    US_EAST_1_ZONES,
  );
  assert.deepEqual(zones.AvailabilityZones?.[0], {
    OptInStatus: "opt-in-not-required",
    Messages: [],
    RegionName: "us-east-1",
    ZoneName: "us-east-1a",
    ZoneId: "use1-az1",
    GroupName: "us-east-1-zg-1",
    NetworkBorderGroup: "us-east-1",
    ZoneType: "availability-zone",
    State: "available",
  });
  const filtered = await ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: "zone-id", Values: ["use1-az[12]", "*az6"] }] }));
  assert.deepEqual(
    filtered.AvailabilityZones?.map((zone) => zone.ZoneId),
    ["use1-az6"],
  );
  const identity = await new STSClient(sdkConfig(server)).send(new GetCallerIdentityCommand({}));
  assert.equal(identity.Account, server.accountId);
  assert.equal(identity.Arn, `arn:aws:iam::${server.accountId}:root`);
  assert.equal(identity.UserId, server.accountId);
});

test("SDK v3: an unknown zone, an unimplemented action and a bad signature are the errors AWS names", async () => {
  const ec2 = new EC2Client(sdkConfig(server));
  await assert.rejects(ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ["us-east-1q"] })), {
    name: "InvalidParameterValue",
    message: "Invalid availability zone: [us-east-1q]",
  });
  await assert.rejects(ec2.send(new DescribeVpcEndpointServicesCommand({})), {
    name: "InvalidAction",
    message: "The action DescribeVpcEndpointServices is not valid for this web service.",
  });
  const forged = { ...sdkConfig(server), credentials: { ...server.credentials, secretAccessKey: "not-the-secret-not-the-secret-not-the-se" } };
  await assert.rejects(new EC2Client(forged).send(new DescribeAvailabilityZonesCommand({})), { name: "AuthFailure" });
  await assert.rejects(new STSClient(forged).send(new GetCallerIdentityCommand({})), (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(error.name, "SignatureDoesNotMatch");
    assert.equal(error.$metadata?.httpStatusCode, 403);
    return true;
  });
  const unknownKey = { ...sdkConfig(server), credentials: { accessKeyId: "AKIANOSUCHKEY0000000", secretAccessKey: "x".repeat(40) } };
  await assert.rejects(new STSClient(unknownKey).send(new GetCallerIdentityCommand({})), { name: "InvalidClientTokenId" });
});

test("AWS CLI: aws ec2 describe-availability-zones (with --zone-names and --filters) and aws sts get-caller-identity", async () => {
  const all = await awsCli(server, ["ec2", "describe-availability-zones"]);
  assert.equal(all.code, 0, all.stderr);
  const zones = (all.json as { AvailabilityZones: { ZoneName: string; State: string }[] }).AvailabilityZones;
  assert.deepEqual(
    zones.map((zone) => zone.ZoneName),
    US_EAST_1_ZONES,
  );
  const some = await awsCli(server, [
    "ec2",
    "describe-availability-zones",
    "--zone-names",
    "us-east-1b",
    "us-east-1d",
    "--filters",
    "Name=state,Values=available",
  ]);
  assert.equal(some.code, 0, some.stderr);
  assert.deepEqual(
    (some.json as { AvailabilityZones: { ZoneName: string }[] }).AvailabilityZones.map((zone) => zone.ZoneName),
    ["us-east-1b", "us-east-1d"],
  );
  const identity = await awsCli(server, ["sts", "get-caller-identity"]);
  assert.equal(identity.code, 0, identity.stderr);
  assert.deepEqual(identity.json, { UserId: server.accountId, Account: server.accountId, Arn: `arn:aws:iam::${server.accountId}:root` });
});

test("AWS CLI: an unknown zone, an unknown filter and a wrong secret print AWS's errors", async () => {
  const unknownZone = await awsCli(server, ["ec2", "describe-availability-zones", "--zone-names", "mars-1a"]);
  assert.notEqual(unknownZone.code, 0);
  assert.match(unknownZone.stderr, /\(InvalidParameterValue\) when calling the DescribeAvailabilityZones operation: Invalid availability zone: \[mars-1a\]/);
  const unknownFilter = await awsCli(server, ["ec2", "describe-availability-zones", "--filters", "Name=colour,Values=blue"]);
  assert.match(unknownFilter.stderr, /\(InvalidParameterValue\).*The filter 'colour' is invalid/);
  const dryRun = await awsCli(server, ["ec2", "describe-availability-zones", "--dry-run"]);
  assert.match(dryRun.stderr, /\(DryRunOperation\).*Request would have succeeded, but DryRun flag is set\./);
  const wrong = await awsCli(server, ["sts", "get-caller-identity"], { AWS_SECRET_ACCESS_KEY: "not-the-secret-not-the-secret-not-the-se" });
  assert.match(wrong.stderr, /\(SignatureDoesNotMatch\) when calling the GetCallerIdentity operation/);
});

test("boto3: describe_availability_zones, get_caller_identity, and error codes as ClientError", async () => {
  const ok = await boto3(
    [
      "ec2 = session.client('ec2', endpoint_url=endpoint)",
      "zones = ec2.describe_availability_zones(ZoneIds=['use1-az2'])['AvailabilityZones']",
      "identity = session.client('sts', endpoint_url=endpoint).get_caller_identity()",
      "print(json.dumps({'zones': [z['ZoneName'] for z in zones], 'account': identity['Account'], 'arn': identity['Arn']}))",
    ].join("\n"),
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { zones: ["us-east-1b"], account: server.accountId, arn: `arn:aws:iam::${server.accountId}:root` });
  const errors = await boto3(
    [
      "ec2 = session.client('ec2', endpoint_url=endpoint)",
      "codes = []",
      "for call in [lambda: ec2.describe_availability_zones(ZoneNames=['us-east-1z']), lambda: ec2.describe_vpc_endpoint_services()]:",
      "    try:",
      "        call()",
      "    except botocore.exceptions.ClientError as error:",
      "        codes.append([error.response['Error']['Code'], error.response['Error']['Message'], error.response['ResponseMetadata']['HTTPStatusCode']])",
      "print(json.dumps(codes))",
    ].join("\n"),
  );
  assert.equal(errors.code, 0, errors.stderr);
  assert.deepEqual(JSON.parse(errors.stdout), [
    ["InvalidParameterValue", "Invalid availability zone: [us-east-1z]", 400],
    ["InvalidAction", "The action DescribeVpcEndpointServices is not valid for this web service.", 400],
  ]);
});

test("raw query requests: missing Action and Version, a huge parameter count, an unsigned form, all XML", async () => {
  const unsigned = await fetch(`${server.endpoint}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body: "Action=DescribeAvailabilityZones&Version=2016-11-15",
  });
  assert.equal(unsigned.status, 403);
  assert.match(await unsigned.text(), /^<ErrorResponse><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code>/);
  const missingAction = await signedPost("ec2", "Version=2016-11-15");
  assert.equal(missingAction.status, 400);
  assert.match(missingAction.text, /<Response><Errors><Error><Code>MissingAction<\/Code>/);
  const missingVersion = await signedPost("sts", "Action=GetCallerIdentity");
  assert.match(
    missingVersion.text,
    /^<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>MissingParameter<\/Code>/,
  );
  const many = Array.from({ length: 10_000 }, (_, index) => `ZoneName.${index + 1}=x`).join("&");
  const huge = await signedPost("ec2", `Action=DescribeAvailabilityZones&Version=2016-11-15&${many}`);
  assert.equal(huge.status, 400);
  assert.match(huge.text, /<Code>InvalidParameterValue<\/Code><Message>The request has more than 5000 parameters\.<\/Message>/);
  // The server is still answering normally afterwards.
  const zones = await new EC2Client(sdkConfig(server)).send(new DescribeAvailabilityZonesCommand({ ZoneNames: ["us-east-1a"] }));
  assert.equal(zones.AvailabilityZones?.length, 1);
});
