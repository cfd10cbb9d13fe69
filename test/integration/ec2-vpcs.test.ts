// EC2 VPCs, subnets, tags, account attributes and network interfaces on a real `berth server`,
// driven by Debian's AWS CLI (/usr/bin/aws) and boto3: the seeded default VPC, create/describe/
// delete with and without dependencies, filters and pagination, missing and malformed ids, and
// hostile inputs (absurd CIDRs, huge filter lists, aws: tag keys), each answered with EC2's code.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import type { TestServer } from "../support/server.js";
import { awsCli, startTestServer } from "../support/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
  await server.cleanup();
});

/** Runs a boto3 script with an `ec2` client for the server; the script prints JSON on its last line. */
function boto3(script: string): Promise<{ code: number; stdout: string; stderr: string; json: unknown }> {
  const prelude = [
    "import boto3, json, sys, botocore.exceptions, botocore.config",
    `ec2 = boto3.client("ec2", endpoint_url=${JSON.stringify(server.endpoint)}, region_name=${JSON.stringify(server.region)}, aws_access_key_id=${JSON.stringify(server.credentials.accessKeyId)}, aws_secret_access_key=${JSON.stringify(server.credentials.secretAccessKey)}, config=botocore.config.Config(retries={"max_attempts": 1}))`,
    "def error_of(call):",
    "    try:",
    "        call()",
    "        return None",
    "    except botocore.exceptions.ClientError as e:",
    "        return [e.response['Error']['Code'], e.response['Error']['Message']]",
    "",
  ].join("\n");
  return new Promise((resolve) =>
    execFile(
      "/usr/bin/python3",
      ["-c", prelude + script],
      { env: { PATH: "/usr/bin:/bin", HOME: tmpdir(), AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const last = stdout.trim().split("\n").pop() ?? "";
        let json: unknown;
        try {
          json = JSON.parse(last);
        } catch {
          json = undefined;
        }
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr, json });
      },
    ),
  );
}

async function ec2(args: string[]): Promise<Record<string, unknown>> {
  const result = await awsCli(server, ["ec2", ...args]);
  assert.equal(result.code, 0, `aws ec2 ${args.join(" ")}: ${result.stderr}`);
  return (result.json ?? {}) as Record<string, unknown>;
}

/** The CLI's error line: "An error occurred (Code) when calling the Op operation: message". */
async function ec2Error(args: string[]): Promise<{ code: string; message: string }> {
  const result = await awsCli(server, ["ec2", ...args]);
  assert.notEqual(result.code, 0, `expected aws ec2 ${args.join(" ")} to fail`);
  const match = /An error occurred \(([^)]+)\) when calling the \w+ operation: (.*)/.exec(result.stderr);
  assert.ok(match, result.stderr);
  return { code: match[1]!, message: match[2]!.trim() };
}

test("the default VPC is seeded: is-default, a default subnet per zone mapping public IPs, default-vpc attribute", async () => {
  const vpcs = (await ec2(["describe-vpcs", "--filters", "Name=is-default,Values=true"])).Vpcs as { VpcId: string; CidrBlock: string; IsDefault: boolean }[];
  assert.equal(vpcs.length, 1);
  assert.equal(vpcs[0]!.CidrBlock, "172.31.0.0/16");
  const subnets = (await ec2(["describe-subnets", "--filters", `Name=vpc-id,Values=${vpcs[0]!.VpcId}`, "Name=default-for-az,Values=true"])).Subnets as {
    AvailabilityZone: string;
    MapPublicIpOnLaunch: boolean;
    AvailableIpAddressCount: number;
    CidrBlock: string;
  }[];
  assert.equal(subnets.length, 6);
  assert.ok(subnets.every((subnet) => subnet.MapPublicIpOnLaunch && subnet.AvailableIpAddressCount === 4091));
  const attributes = (await ec2(["describe-account-attributes", "--attribute-names", "default-vpc"])).AccountAttributes as {
    AttributeName: string;
    AttributeValues: { AttributeValue: string }[];
  }[];
  assert.deepEqual(attributes, [{ AttributeName: "default-vpc", AttributeValues: [{ AttributeValue: vpcs[0]!.VpcId }] }]);
});

test("create a VPC with tags and subnets; conflicts, ranges and zones refused; delete refused while subnets remain", async () => {
  const vpc = (await ec2(["create-vpc", "--cidr-block", "10.0.0.0/16", "--tag-specifications", "ResourceType=vpc,Tags=[{Key=Name,Value=app}]"])).Vpc as {
    VpcId: string;
    Tags: unknown[];
  };
  assert.match(vpc.VpcId, /^vpc-[0-9a-f]{17}$/);
  assert.deepEqual(vpc.Tags, [{ Key: "Name", Value: "app" }]);
  const subnet = (await ec2(["create-subnet", "--vpc-id", vpc.VpcId, "--cidr-block", "10.0.1.0/24", "--availability-zone", "us-east-1b"])).Subnet as {
    SubnetId: string;
    AvailabilityZone: string;
    AvailableIpAddressCount: number;
  };
  assert.equal(subnet.AvailabilityZone, "us-east-1b");
  assert.equal(subnet.AvailableIpAddressCount, 251);
  assert.deepEqual(await ec2Error(["create-subnet", "--vpc-id", vpc.VpcId, "--cidr-block", "10.0.1.128/25"]), {
    code: "InvalidSubnet.Conflict",
    message: "The CIDR '10.0.1.128/25' conflicts with another subnet",
  });
  assert.equal((await ec2Error(["create-subnet", "--vpc-id", vpc.VpcId, "--cidr-block", "10.1.0.0/24"])).code, "InvalidSubnet.Range");
  assert.equal(
    (await ec2Error(["create-subnet", "--vpc-id", vpc.VpcId, "--cidr-block", "10.0.2.0/24", "--availability-zone", "us-east-1z"])).code,
    "InvalidParameterValue",
  );
  assert.deepEqual(await ec2Error(["delete-vpc", "--vpc-id", vpc.VpcId]), {
    code: "DependencyViolation",
    message: `The vpc '${vpc.VpcId}' has dependencies and cannot be deleted.`,
  });
  await ec2(["modify-subnet-attribute", "--subnet-id", subnet.SubnetId, "--map-public-ip-on-launch"]);
  const described = (await ec2(["describe-subnets", "--subnet-ids", subnet.SubnetId])).Subnets as { MapPublicIpOnLaunch: boolean }[];
  assert.equal(described[0]!.MapPublicIpOnLaunch, true);
  await ec2(["delete-subnet", "--subnet-id", subnet.SubnetId]);
  await ec2(["delete-vpc", "--vpc-id", vpc.VpcId]);
  assert.deepEqual(await ec2Error(["describe-vpcs", "--vpc-ids", vpc.VpcId]), {
    code: "InvalidVpcID.NotFound",
    message: `The vpc ID '${vpc.VpcId}' does not exist`,
  });
});

test("absurd CIDRs and ids are refused with EC2's codes", async () => {
  for (const cidr of ["10.0.0.0/33", "999.1.1.1/16", "010.0.0.0/16", " 10.0.0.0/16", "10.0.0.1/16", "10.0.0.0/16;rm"]) {
    assert.equal((await ec2Error(["create-vpc", "--cidr-block", cidr])).code, "InvalidParameterValue", cidr);
  }
  assert.deepEqual(await ec2Error(["create-vpc", "--cidr-block", "10.0.0.0/8"]), { code: "InvalidVpc.Range", message: "The CIDR '10.0.0.0/8' is invalid." });
  assert.equal((await ec2Error(["create-vpc", "--cidr-block", "10.0.0.0/29"])).code, "InvalidVpc.Range");
  // Berth: no VPC over this host, link-local or multicast/reserved blocks (its tasks and targets could not use them).
  for (const block of ["0.0.0.0/16", "127.0.0.0/16", "169.254.0.0/16", "224.0.0.0/16", "240.0.0.0/16"])
    assert.deepEqual(await ec2Error(["create-vpc", "--cidr-block", block]), { code: "InvalidVpc.Range", message: `The CIDR '${block}' is invalid.` });
  assert.equal((await ec2Error(["describe-vpcs", "--vpc-ids", "vpc-xyz"])).code, "InvalidVpcID.Malformed");
  assert.equal((await ec2Error(["delete-subnet", "--subnet-id", "subnet-00000000000000000"])).code, "InvalidSubnetID.NotFound");
  assert.equal(
    (await ec2Error(["describe-network-interfaces", "--network-interface-ids", "eni-00000000000000000"])).code,
    "InvalidNetworkInterfaceID.NotFound",
  );
  assert.deepEqual(await ec2Error(["describe-vpcs", "--filters", "Name=bogus,Values=x"]), {
    code: "InvalidParameterValue",
    message: "The filter 'bogus' is invalid",
  });
});

test("boto3: tags (aws: refused, 50 per resource), DescribeTags filters, pagination, huge filter lists", async () => {
  const result = await boto3(`
vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24")["Subnet"]["SubnetId"] for i in range(7)]
ec2.create_tags(Resources=[vpc] + subnets, Tags=[{"Key": "team", "Value": "blue"}])
reserved = error_of(lambda: ec2.create_tags(Resources=[vpc], Tags=[{"Key": "aws:x", "Value": "1"}]))
too_many = error_of(lambda: ec2.create_tags(Resources=[vpc], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]))
bad_id = error_of(lambda: ec2.create_tags(Resources=["i-123"], Tags=[{"Key": "a", "Value": "b"}]))
tagged = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["subnet"]}, {"Name": "key", "Values": ["te?m"]}])["Tags"]
pages, token = [], None
while True:
    kwargs = {"Filters": [{"Name": "vpc-id", "Values": [vpc]}], "MaxResults": 5}
    if token: kwargs["NextToken"] = token
    page = ec2.describe_subnets(**kwargs)
    pages.append(len(page["Subnets"]))
    token = page.get("NextToken")
    if not token: break
by_tag = ec2.describe_vpcs(Filters=[{"Name": "tag:team", "Values": ["bl*"]}])["Vpcs"]
huge = error_of(lambda: ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": ["x"]}] * 60))
ids_and_max = error_of(lambda: ec2.describe_subnets(SubnetIds=subnets[:1], MaxResults=5))
bad_token = error_of(lambda: ec2.describe_subnets(MaxResults=5, NextToken="garbage"))
ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "team"}])
after_delete = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"]
for s in subnets: ec2.delete_subnet(SubnetId=s)
ec2.delete_vpc(VpcId=vpc)
print(json.dumps({"reserved": reserved, "too_many": too_many, "bad_id": bad_id, "tagged": len(tagged), "pages": pages, "by_tag": [v["VpcId"] for v in by_tag], "vpc": vpc, "huge": huge, "ids_and_max": ids_and_max, "bad_token": bad_token, "after_delete": after_delete}))
`);
  assert.equal(result.code, 0, result.stderr);
  const json = result.json as Record<string, unknown>;
  assert.equal((json.reserved as string[])[0], "InvalidParameterValue");
  assert.equal((json.too_many as string[])[0], "TagLimitExceeded");
  assert.equal((json.bad_id as string[])[0], "InvalidID");
  assert.equal(json.tagged, 7);
  assert.deepEqual(json.pages, [5, 2]);
  assert.deepEqual(json.by_tag, [json.vpc]);
  assert.equal((json.huge as string[])[0], "InvalidParameterValue");
  assert.equal((json.ids_and_max as string[])[0], "InvalidParameterCombination");
  assert.equal((json.bad_token as string[])[0], "InvalidPaginationToken");
  assert.deepEqual(json.after_delete, []);
});
