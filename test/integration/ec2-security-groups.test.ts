// EC2 security groups on a real `berth server`, driven by Debian's AWS CLI (/usr/bin/aws) and boto3:
// the issue's `authorize-security-group-ingress --group-id sg-web --protocol tcp --port 80
// --source-group sg-lb`, port ranges, ICMP, all protocols, CIDRs with descriptions, duplicates,
// revoke by permission and by rule id, delete with and without dependencies, describe with filters
// and pagination, and hostile inputs, each answered with EC2's code.
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

async function createGroup(name: string): Promise<string> {
  const created = await ec2(["create-security-group", "--group-name", name, "--description", `${name} tier`]);
  assert.match(String(created.GroupId), /^sg-[0-9a-f]{17}$/);
  return String(created.GroupId);
}

interface RuleShape {
  SecurityGroupRuleId: string;
  IsEgress: boolean;
  IpProtocol: string;
  FromPort: number;
  ToPort: number;
  CidrIpv4?: string;
  ReferencedGroupInfo?: { GroupId: string };
  Description?: string;
}

const rulesOf = async (groupId: string) =>
  ((await ec2(["describe-security-group-rules", "--filters", `Name=group-id,Values=${groupId}`])).SecurityGroupRules ?? []) as RuleShape[];

test("AWS CLI: the issue's rule, port ranges, ICMP, all protocols, CIDRs with descriptions and duplicates", async () => {
  const web = await createGroup("web-cli");
  const lb = await createGroup("lb-cli");
  const issue = await ec2(["authorize-security-group-ingress", "--group-id", web, "--protocol", "tcp", "--port", "80", "--source-group", lb]);
  assert.equal(issue.Return, true);
  const [rule] = issue.SecurityGroupRules as RuleShape[];
  assert.deepEqual([rule?.IpProtocol, rule?.FromPort, rule?.ToPort, rule?.ReferencedGroupInfo?.GroupId], ["tcp", 80, 80, lb]);
  await ec2(["authorize-security-group-ingress", "--group-id", web, "--protocol", "tcp", "--port", "8000-8080", "--cidr", "10.0.0.0/8"]);
  await ec2(["authorize-security-group-ingress", "--group-id", web, "--protocol", "all", "--cidr", "192.168.0.0/16"]);
  await ec2([
    "authorize-security-group-ingress",
    "--group-id",
    web,
    "--ip-permissions",
    JSON.stringify([
      { IpProtocol: "icmp", FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "ping from anywhere" }] },
      { IpProtocol: "udp", FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: "172.16.0.0/12", Description: "dns" }, { CidrIp: "10.9.9.9/24" }] },
    ]),
  ]);
  const rules = (await rulesOf(web)).filter((candidate) => !candidate.IsEgress);
  assert.deepEqual(
    rules
      .map((candidate) => [
        candidate.IpProtocol,
        candidate.FromPort,
        candidate.ToPort,
        candidate.CidrIpv4 ?? candidate.ReferencedGroupInfo?.GroupId,
        candidate.Description,
      ])
      .sort(),
    [
      ["-1", -1, -1, "192.168.0.0/16", undefined],
      ["icmp", 8, -1, "0.0.0.0/0", "ping from anywhere"],
      ["tcp", 80, 80, lb, undefined],
      ["tcp", 8000, 8080, "10.0.0.0/8", undefined],
      ["udp", 53, 53, "10.9.9.0/24", undefined],
      ["udp", 53, 53, "172.16.0.0/12", "dns"],
    ],
  );
  const [group] = (await ec2(["describe-security-groups", "--group-ids", web])).SecurityGroups as {
    IpPermissions: { IpProtocol: string; IpRanges: unknown[] }[];
  }[];
  const udp = group?.IpPermissions.find((permission) => permission.IpProtocol === "udp");
  // One permission per protocol and port range, its ranges in the order they were authorized.
  assert.deepEqual(udp?.IpRanges, [{ CidrIp: "172.16.0.0/12", Description: "dns" }, { CidrIp: "10.9.9.0/24" }]);
  const duplicate = await ec2Error(["authorize-security-group-ingress", "--group-id", web, "--protocol", "tcp", "--port", "80", "--source-group", lb]);
  assert.deepEqual(duplicate, {
    code: "InvalidPermission.Duplicate",
    message: `the specified rule "peer: ${lb}, TCP, from port: 80, to port: 80, ALLOW" already exists`,
  });
  const duplicateAll = await ec2Error(["authorize-security-group-ingress", "--group-id", web, "--protocol", "-1", "--cidr", "192.168.0.0/16"]);
  assert.deepEqual(duplicateAll, { code: "InvalidPermission.Duplicate", message: 'the specified rule "peer: 192.168.0.0/16, ALL, ALLOW" already exists' });
});

test("AWS CLI: revoke by permission and by rule id; delete with and without dependencies", async () => {
  const web = await createGroup("web-revoke");
  const lb = await createGroup("lb-revoke");
  await ec2(["authorize-security-group-ingress", "--group-id", web, "--protocol", "tcp", "--port", "443", "--source-group", lb]);
  await ec2(["authorize-security-group-ingress", "--group-id", web, "--protocol", "tcp", "--port", "22", "--cidr", "10.0.0.0/8"]);
  const revoked = await ec2(["revoke-security-group-ingress", "--group-id", web, "--protocol", "tcp", "--port", "22", "--cidr", "10.0.0.0/8"]);
  assert.equal(revoked.Return, true);
  const dependency = await ec2Error(["delete-security-group", "--group-id", lb]);
  assert.deepEqual(dependency, { code: "DependencyViolation", message: `resource ${lb} has a dependent object` });
  const reference = (await rulesOf(web)).find((candidate) => candidate.ReferencedGroupInfo?.GroupId === lb)!;
  await ec2(["revoke-security-group-ingress", "--group-id", web, "--security-group-rule-ids", reference.SecurityGroupRuleId]);
  assert.deepEqual(
    (await rulesOf(web)).map((candidate) => candidate.IsEgress),
    [true],
  );
  const gone = await ec2Error(["revoke-security-group-ingress", "--group-id", web, "--security-group-rule-ids", reference.SecurityGroupRuleId]);
  assert.equal(gone.code, "InvalidSecurityGroupRuleId.NotFound");
  await ec2(["delete-security-group", "--group-id", lb]);
  await ec2(["delete-security-group", "--group-name", "web-revoke"]);
  assert.deepEqual(await ec2Error(["describe-security-groups", "--group-ids", web]), {
    code: "InvalidGroup.NotFound",
    message: `The security group '${web}' does not exist`,
  });
  const [defaultGroup] = (await ec2(["describe-security-groups", "--group-names", "default"])).SecurityGroups as { GroupId: string }[];
  assert.equal((await ec2Error(["delete-security-group", "--group-id", defaultGroup!.GroupId])).code, "CannotDelete");
});

test("boto3: describe with filters and pagination, egress rules, legacy parameters", async () => {
  const result = await boto3(`
ids = [ec2.create_security_group(GroupName="page-%d" % i, Description="paged", TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "suite", "Value": "paging"}]}])["GroupId"] for i in range(7)]
ec2.authorize_security_group_egress(GroupId=ids[0], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}])
ec2.authorize_security_group_ingress(GroupName="page-1", IpProtocol="udp", FromPort=514, ToPort=514, CidrIp="10.0.0.0/8")
pages, token = [], None
while True:
    kwargs = {"Filters": [{"Name": "tag:suite", "Values": ["paging"]}], "MaxResults": 5}
    if token: kwargs["NextToken"] = token
    page = ec2.describe_security_groups(**kwargs)
    pages.append(len(page["SecurityGroups"]))
    token = page.get("NextToken")
    if not token: break
egress = ec2.describe_security_groups(Filters=[{"Name": "egress.ip-permission.from-port", "Values": ["5432"]}])["SecurityGroups"]
ingress = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.protocol", "Values": ["udp"]}, {"Name": "group-name", "Values": ["page-*"]}])["SecurityGroups"]
print(json.dumps({"pages": pages, "egress": [g["GroupName"] for g in egress], "ingress": [g["GroupName"] for g in ingress]}))
`);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.json, { pages: [5, 2], egress: ["page-0"], ingress: ["page-1"] });
});

test("hostile inputs get EC2's errors: ports, ranges, CIDRs, 10,000 CIDRs, control characters, unknown protocols", async () => {
  const web = await createGroup("web-hostile");
  const result = await boto3(`
gid = ${JSON.stringify(web)}
def ingress(**permission):
    return error_of(lambda: ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[permission]))
out = {
  "port70000": ingress(IpProtocol="tcp", FromPort=1, ToPort=70000, IpRanges=[{"CidrIp": "10.0.0.0/8"}]),
  "fromAboveTo": ingress(IpProtocol="tcp", FromPort=90, ToPort=80, IpRanges=[{"CidrIp": "10.0.0.0/8"}]),
  "noPorts": ingress(IpProtocol="udp", IpRanges=[{"CidrIp": "10.0.0.0/8"}]),
  "cidr33": ingress(IpProtocol="-1", IpRanges=[{"CidrIp": "10.0.0.0/33"}]),
  "cidrInjection": ingress(IpProtocol="-1", IpRanges=[{"CidrIp": "10.0.0.0/8; flush ruleset"}]),
  "tenThousandCidrs": ingress(IpProtocol="tcp", FromPort=1, ToPort=1, IpRanges=[{"CidrIp": "10.%d.%d.0/24" % (i // 256, i % 256)} for i in range(10000)]),
  "twoThousandCidrs": ingress(IpProtocol="tcp", FromPort=1, ToPort=1, IpRanges=[{"CidrIp": "10.%d.%d.0/24" % (i // 256, i % 256)} for i in range(2000)]),
  "sixtyOneCidrs": ingress(IpProtocol="tcp", FromPort=1, ToPort=1, IpRanges=[{"CidrIp": "10.%d.0.0/16" % i} for i in range(61)]),
  "gre": ingress(IpProtocol="47", IpRanges=[{"CidrIp": "10.0.0.0/8"}]),
  "bogus": ingress(IpProtocol="tcp\\n}", FromPort=1, ToPort=1, IpRanges=[{"CidrIp": "10.0.0.0/8"}]),
  "ipv6": ingress(IpProtocol="-1", Ipv6Ranges=[{"CidrIpv6": "::/0"}]),
  "descriptionControl": ingress(IpProtocol="-1", IpRanges=[{"CidrIp": "10.0.0.0/8", "Description": "a\\u0001b"}]),
  "nameControl": error_of(lambda: ec2.create_security_group(GroupName="bad\\u0007name", Description="x")),
  "nameSg": error_of(lambda: ec2.create_security_group(GroupName="sg-123", Description="x")),
  "longName": error_of(lambda: ec2.create_security_group(GroupName="n" * 256, Description="x")),
  "malformedId": error_of(lambda: ec2.describe_security_groups(GroupIds=["sg-<script>"])),
  "maxResults": error_of(lambda: ec2.describe_security_groups(MaxResults=1001)),
}
rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
out["rulesLeft"] = len(rules)
print(json.dumps(out))
`);
  assert.equal(result.code, 0, result.stderr);
  const out = result.json as Record<string, [string, string] | number>;
  assert.deepEqual(out.port70000, ["InvalidParameterValue", "TCP/UDP (to) port (70000) out of range"]);
  assert.equal((out.fromAboveTo as string[])[0], "InvalidParameterValue");
  assert.deepEqual(out.noPorts, ["InvalidParameterValue", "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange."]);
  assert.deepEqual(out.cidr33, ["InvalidParameterValue", "Value (10.0.0.0/33) for parameter cidrIp is invalid. This is not a valid CIDR block."]);
  assert.equal((out.cidrInjection as string[])[0], "InvalidParameterValue");
  // 10,000 CIDRs are 20,000 query parameters: the gateway refuses the request before it is decoded.
  assert.deepEqual(out.tenThousandCidrs, ["InvalidParameterValue", "The request has more than 5000 parameters."]);
  for (const many of [out.twoThousandCidrs, out.sixtyOneCidrs]) {
    assert.deepEqual(many, ["RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached."]);
  }
  assert.match((out.gre as string[])[1]!, /Berth supports only tcp \(6\), udp \(17\), icmp \(1\) and -1/);
  assert.deepEqual(out.bogus, ["InvalidParameterValue", "Invalid value 'tcp\\u000a}' for IP protocol. Unknown protocol."]);
  assert.equal((out.ipv6 as string[])[0], "InvalidParameterValue");
  assert.match((out.descriptionControl as string[])[1]!, /^Invalid rule description/);
  assert.deepEqual((out.nameControl as string[])[0], "InvalidParameterValue");
  assert.ok(!(out.nameControl as string[])[1]!.includes("\u0007"), "control characters are not echoed");
  assert.match((out.nameSg as string[])[1]!, /Group names may not be in the format sg-\*/);
  assert.equal((out.longName as string[])[0], "InvalidParameterValue");
  assert.deepEqual(out.malformedId, ["InvalidGroupId.Malformed", 'Invalid id: "sg-<script>" (expecting "sg-...")']);
  assert.equal((out.maxResults as string[])[0], "InvalidParameterValue");
  assert.equal(out.rulesLeft, 1, "nothing but the default egress rule was written");
});
