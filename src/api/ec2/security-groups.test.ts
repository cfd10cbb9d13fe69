// The security-group operations in process, on a real store (SQLite and PostgreSQL) with the
// default VPC seeded as the server seeds it: behaviour, errors, and the network signal hosts wait on.
import assert from "node:assert/strict";
import { afterEach, beforeEach, it } from "node:test";
import type { SecurityGroupSpec } from "../../protocol/network-view.js";
import { eachStoreBackend } from "../../../test/support/store-backends.js";
import { defaultNetwork } from "../../core/default-network.js";
import { isAwsError } from "../../core/errors.js";
import { seedDefaultVpc } from "../../control/default-vpc.js";
import type { Store } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { securityGroupOperations } from "./security-group-operations.js";

const context: RequestContext = {
  requestId: "r",
  accountId: "123456789012",
  region: "us-east-1",
  partition: "aws",
  accessKeyId: "AKIA",
  principalArn: "arn:aws:iam::123456789012:root",
  caller: { kind: "root", arn: "arn:aws:iam::123456789012:root", account: "123456789012" },
  receivedAt: 0,
};
const network = defaultNetwork({ accountId: context.accountId, region: context.region });
const defaultGroupId = network.securityGroups[0]!.groupId;

async function rejects(work: Promise<unknown>, code: string, message?: string | RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(isAwsError(error), String(error));
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  });
}

eachStoreBackend((backend) => {
  let store: Store;
  let ops: ReturnType<typeof securityGroupOperations>;
  let signals: (string | undefined)[];
  let now = 10_000;
  beforeEach(async () => {
    store = await backend.open();
    await seedDefaultVpc(store, { network, accountId: context.accountId, region: context.region, nowMs: 1 });
    ops = securityGroupOperations({ store, clock: { now: () => ++now, sleep: async () => undefined } });
    signals = [];
    store.signals.subscribe("network", (key) => signals.push(key));
  });
  afterEach(async () => {
    await store.close();
  });

  const create = async (name: string) => (await ops.CreateSecurityGroup({ GroupName: name, Description: `${name} tier` }, context)).GroupId!;

  it("creates a group in the default VPC with AWS's one egress rule and refuses the same name in any case", async () => {
    const web = await create("web");
    const { SecurityGroups: [group] = [] } = await ops.DescribeSecurityGroups({ GroupIds: [web] }, context);
    assert.equal(group?.VpcId, network.vpcId);
    assert.deepEqual(group?.IpPermissions, []);
    assert.deepEqual(group?.IpPermissionsEgress, [
      { IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ]);
    await rejects(create("WEB"), "InvalidGroup.Duplicate", `The security group 'WEB' already exists for VPC '${network.vpcId}'`);
    await rejects(create("sg-web"), "InvalidParameterValue", /Group names may not be in the format sg-\*/);
    await rejects(create("web\u0007"), "InvalidParameterValue", /web\\u0007/);
    await rejects(ops.CreateSecurityGroup({ GroupName: "x", Description: "d".repeat(256) }, context), "InvalidParameterValue", /GroupDescription/);
    await rejects(ops.CreateSecurityGroup({ GroupName: "x", Description: "d", VpcId: "vpc-00000000000000000" }, context), "InvalidVpcID.NotFound");
  });

  it("authorizes the issue's rule (tcp 80 from the load balancer's group), bumps the network generation and refuses it twice", async () => {
    const [web, lb] = [await create("web"), await create("lb")];
    const answer = await ops.AuthorizeSecurityGroupIngress(
      { GroupId: web, IpPermissions: [{ IpProtocol: "tcp", FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: lb }] }] },
      context,
    );
    assert.equal(answer.Return, true);
    assert.equal(answer.SecurityGroupRules?.[0]?.ReferencedGroupInfo?.GroupId, lb);
    assert.match(answer.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? "", /^sgr-[0-9a-f]{17}$/);
    assert.equal(signals.length, 1);
    assert.equal(await store.controlPlaneState.get("network-generation"), signals[0]);
    await rejects(
      ops.AuthorizeSecurityGroupIngress(
        { GroupId: web, IpPermissions: [{ IpProtocol: "6", FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupName: "lb" }] }] },
        context,
      ),
      "InvalidPermission.Duplicate",
      `the specified rule "peer: ${lb}, TCP, from port: 80, to port: 80, ALLOW" already exists`,
    );
    assert.equal(signals.length, 1, "a refused change signals nothing");
    const spec: SecurityGroupSpec[] = await store.securityGroups.specsFor([web]);
    assert.deepEqual(spec[0]?.ingress, [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrs: [], groupIds: [lb] }]);
  });

  it("refuses a peer group that does not exist or lives in another VPC", async () => {
    const web = await create("web");
    await rejects(
      ops.AuthorizeSecurityGroupIngress(
        { GroupId: web, IpPermissions: [{ IpProtocol: "-1", UserIdGroupPairs: [{ GroupId: "sg-00000000000000000" }] }] },
        context,
      ),
      "InvalidGroup.NotFound",
    );
    await rejects(ops.AuthorizeSecurityGroupIngress({ GroupId: "sg-nothex", IpProtocol: "-1", CidrIp: "10.0.0.0/8" }, context), "InvalidGroupId.Malformed");
  });

  it("revokes by properties (unknown ones answered in the default VPC) and by rule id", async () => {
    const web = await create("web");
    const added = await ops.AuthorizeSecurityGroupIngress(
      {
        GroupId: web,
        IpPermissions: [
          { IpProtocol: "udp", FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "dns" }, { CidrIp: "192.168.0.0/16" }] },
        ],
      },
      context,
    );
    const revoked = await ops.RevokeSecurityGroupIngress(
      { GroupId: web, IpPermissions: [{ IpProtocol: "udp", FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: "10.0.0.0/8" }, { CidrIp: "172.16.0.0/12" }] }] },
      context,
    );
    assert.deepEqual(
      revoked.RevokedSecurityGroupRules?.map((rule) => rule.CidrIpv4),
      ["10.0.0.0/8"],
    );
    assert.deepEqual(revoked.UnknownIpPermissions?.[0]?.IpRanges, [{ CidrIp: "172.16.0.0/12" }]);
    const left = added.SecurityGroupRules!.find((rule) => rule.CidrIpv4 === "192.168.0.0/16")!;
    await ops.RevokeSecurityGroupIngress({ GroupId: web, SecurityGroupRuleIds: [left.SecurityGroupRuleId!] }, context);
    await rejects(
      ops.RevokeSecurityGroupIngress({ GroupId: web, SecurityGroupRuleIds: [left.SecurityGroupRuleId!] }, context),
      "InvalidSecurityGroupRuleId.NotFound",
    );
    const { SecurityGroupRules = [] } = await ops.DescribeSecurityGroupRules({ Filters: [{ Name: "group-id", Values: [web] }] }, context);
    assert.deepEqual(
      SecurityGroupRules.map((rule) => rule.IsEgress),
      [true],
    );
  });

  it("refuses to delete the default group, a group with a member interface, and a group another group's rule names", async () => {
    const [web, lb] = [await create("web"), await create("lb")];
    await rejects(
      ops.DeleteSecurityGroup({ GroupId: defaultGroupId }, context),
      "CannotDelete",
      `the specified group: "${defaultGroupId}" name: "default" cannot be deleted by a user`,
    );
    await ops.AuthorizeSecurityGroupIngress({ GroupId: web, IpPermissions: [{ IpProtocol: "-1", UserIdGroupPairs: [{ GroupId: lb }] }] }, context);
    await rejects(ops.DeleteSecurityGroup({ GroupId: lb }, context), "DependencyViolation", `resource ${lb} has a dependent object`);
    const subnet = network.subnets[0]!;
    const eni = await store.networkInterfaces.allocate({
      subnet: { subnetId: subnet.subnetId, vpcId: network.vpcId, cidrBlock: subnet.cidrBlock, availabilityZone: subnet.availabilityZone },
      ownerId: context.accountId,
      groupIds: [web],
      description: "",
      requesterId: "ecs",
      requesterManaged: true,
      createdAtMs: 1,
    });
    await rejects(ops.DeleteSecurityGroup({ GroupName: "web" }, context), "DependencyViolation");
    await store.networkInterfaces.release(eni.eniId);
    assert.deepEqual(await ops.DeleteSecurityGroup({ GroupName: "web" }, context), { Return: true, GroupId: web });
    await ops.DeleteSecurityGroup({ GroupId: lb }, context);
    await rejects(ops.DeleteSecurityGroup({ GroupId: lb }, context), "InvalidGroup.NotFound", `The security group '${lb}' does not exist`);
  });

  it("pages DescribeSecurityGroups by group id and filters on rules and tags", async () => {
    for (let index = 0; index < 7; index++) {
      await ops.CreateSecurityGroup(
        {
          GroupName: `g${index}`,
          Description: "d",
          TagSpecifications: [{ ResourceType: "security-group", Tags: [{ Key: "team", Value: index % 2 ? "odd" : "even" }] }],
        },
        context,
      );
    }
    const first = await ops.DescribeSecurityGroups({ MaxResults: 5 }, context);
    assert.equal(first.SecurityGroups?.length, 5);
    const second = await ops.DescribeSecurityGroups({ MaxResults: 5, NextToken: first.NextToken }, context);
    assert.equal(second.SecurityGroups?.length, 3, "7 groups and the default one");
    assert.equal(second.NextToken, undefined);
    const even = await ops.DescribeSecurityGroups({ Filters: [{ Name: "tag:team", Values: ["even"] }] }, context);
    assert.deepEqual(even.SecurityGroups?.map((group) => group.GroupName).sort(), ["g0", "g2", "g4", "g6"]);
    const selfReferencing = await ops.DescribeSecurityGroups({ Filters: [{ Name: "ip-permission.group-id", Values: [defaultGroupId] }] }, context);
    assert.deepEqual(
      selfReferencing.SecurityGroups?.map((group) => group.GroupName),
      ["default"],
    );
    await rejects(ops.DescribeSecurityGroups({ MaxResults: 4 }, context), "InvalidParameterValue");
    await rejects(ops.DescribeSecurityGroups({ NextToken: "garbage" }, context), "InvalidPaginationToken");
    await rejects(ops.DescribeSecurityGroups({ Filters: [{ Name: "nope", Values: ["x"] }] }, context), "InvalidParameterValue", "The filter 'nope' is invalid");
  });

  it("modifies a rule in place and updates descriptions without waking hosts", async () => {
    const web = await create("web");
    const added = await ops.AuthorizeSecurityGroupIngress({ GroupId: web, IpProtocol: "tcp", FromPort: 22, ToPort: 22, CidrIp: "10.0.0.0/8" }, context);
    const ruleId = added.SecurityGroupRules![0]!.SecurityGroupRuleId!;
    const before = signals.length;
    await ops.UpdateSecurityGroupRuleDescriptionsIngress(
      { GroupId: web, SecurityGroupRuleDescriptions: [{ SecurityGroupRuleId: ruleId, Description: "ssh" }] },
      context,
    );
    assert.equal(signals.length, before);
    await ops.ModifySecurityGroupRules(
      {
        GroupId: web,
        SecurityGroupRules: [{ SecurityGroupRuleId: ruleId, SecurityGroupRule: { IpProtocol: "tcp", FromPort: 2222, ToPort: 2222, CidrIpv4: "10.1.2.3/16" } }],
      },
      context,
    );
    assert.equal(signals.length, before + 1);
    const [rule] = (await ops.DescribeSecurityGroupRules({ SecurityGroupRuleIds: [ruleId] }, context)).SecurityGroupRules ?? [];
    assert.equal(rule?.FromPort, 2222);
    assert.equal(rule?.CidrIpv4, "10.1.0.0/16");
  });

  it("lets one of two racing identical changes through and refuses the other", async () => {
    const names = await Promise.allSettled([create("race"), create("RACE")]);
    assert.deepEqual(names.map((outcome) => outcome.status).sort(), ["fulfilled", "rejected"]);
    const web = await create("web");
    const authorize = () => ops.AuthorizeSecurityGroupIngress({ GroupId: web, IpProtocol: "tcp", FromPort: 443, ToPort: 443, CidrIp: "0.0.0.0/0" }, context);
    const rules = await Promise.allSettled([authorize(), authorize(), authorize()]);
    assert.equal(rules.filter((outcome) => outcome.status === "fulfilled").length, 1);
    for (const outcome of rules) if (outcome.status === "rejected") assert.equal((outcome.reason as { code: string }).code, "InvalidPermission.Duplicate");
  });

  it("pages DescribeSecurityGroupRules by rule id and refuses unknown and malformed ids", async () => {
    const web = await create("web");
    const ranges = Array.from({ length: 11 }, (_, index) => ({ CidrIp: `10.${index}.0.0/16` }));
    await ops.AuthorizeSecurityGroupIngress({ GroupId: web, IpPermissions: [{ IpProtocol: "tcp", FromPort: 5, ToPort: 5, IpRanges: ranges }] }, context);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ops.DescribeSecurityGroupRules({ Filters: [{ Name: "group-id", Values: [web] }], MaxResults: 5, NextToken: token }, context);
      seen.push(...(page.SecurityGroupRules ?? []).map((rule) => rule.SecurityGroupRuleId!));
      token = page.NextToken;
    } while (token !== undefined);
    assert.equal(seen.length, 12, "11 inbound rules and the egress rule");
    assert.equal(new Set(seen).size, 12);
    await rejects(ops.DescribeSecurityGroupRules({ SecurityGroupRuleIds: ["sgr-00000000000000000"] }, context), "InvalidSecurityGroupRuleId.NotFound");
    await rejects(ops.DescribeSecurityGroupRules({ SecurityGroupRuleIds: ["sgr-x'; drop"] }, context), "InvalidSecurityGroupRuleId.Malformed");
  });

  it("refuses a 61st inbound rule", async () => {
    const web = await create("web");
    const ranges = Array.from({ length: 60 }, (_, index) => ({ CidrIp: `10.${index}.0.0/16` }));
    await ops.AuthorizeSecurityGroupIngress({ GroupId: web, IpPermissions: [{ IpProtocol: "tcp", FromPort: 1, ToPort: 1, IpRanges: ranges }] }, context);
    await rejects(
      ops.AuthorizeSecurityGroupIngress({ GroupId: web, IpProtocol: "tcp", FromPort: 2, ToPort: 2, CidrIp: "10.0.0.0/8" }, context),
      "RulesPerSecurityGroupLimitExceeded",
    );
    await ops.AuthorizeSecurityGroupEgress({ GroupId: web, IpProtocol: "tcp", FromPort: 2, ToPort: 2, CidrIp: "10.0.0.0/8" }, context);
  });
});
