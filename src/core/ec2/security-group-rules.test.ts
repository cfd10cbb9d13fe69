import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isAwsError } from "../errors.js";
import type { SecurityGroupRuleFields } from "./security-group-rules.js";
import {
  checkAdditions,
  defaultGroupRules,
  matchRevocations,
  newGroupRules,
  parseCidrIpv4,
  parsePermissions,
  parsePorts,
  parseProtocol,
  RULES_PER_DIRECTION,
  toSpec,
} from "./security-group-rules.js";

const ACCOUNT = "123456789012";

function throwsAws(work: () => unknown, code: string, message?: string | RegExp): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(isAwsError(error), `expected an AwsError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  });
}

const rule = (overrides: Partial<SecurityGroupRuleFields>): SecurityGroupRuleFields => ({
  isEgress: false,
  ipProtocol: "tcp",
  fromPort: 80,
  toPort: 80,
  cidrIpv4: "10.0.0.0/8",
  referencedGroupId: undefined,
  description: undefined,
  ...overrides,
});

describe("parseProtocol", () => {
  it("takes names in any case and the protocol numbers 6, 17 and 1 as aliases", () => {
    assert.equal(parseProtocol("TCP"), "tcp");
    assert.equal(parseProtocol("6"), "tcp");
    assert.equal(parseProtocol("17"), "udp");
    assert.equal(parseProtocol("1"), "icmp");
    assert.equal(parseProtocol("-1"), "-1");
  });
  it("refuses 'all' as EC2 does (the CLI turns --protocol all into -1 itself)", () => {
    throwsAws(() => parseProtocol("all"), "InvalidParameterValue", "Invalid value 'all' for IP protocol. Unknown protocol.");
  });
  it("refuses a missing protocol with EC2's words", () => {
    throwsAws(
      () => parseProtocol(undefined),
      "InvalidParameterValue",
      "Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly.",
    );
  });
  it("refuses other protocol numbers clearly (not enforced by Berth) and garbage", () => {
    throwsAws(() => parseProtocol("47"), "InvalidParameterValue", /Berth supports only tcp/);
    throwsAws(() => parseProtocol("58"), "InvalidParameterValue", /Berth supports only/);
    throwsAws(() => parseProtocol("icmpv6"), "InvalidParameterValue", /Berth supports only/);
    throwsAws(() => parseProtocol("256"), "InvalidParameterValue", /Unknown protocol/);
    throwsAws(() => parseProtocol("tcp; drop"), "InvalidParameterValue", /Unknown protocol/);
  });
  it("escapes control characters it echoes", () => {
    throwsAws(() => parseProtocol("a\u0000\nb"), "InvalidParameterValue", "Invalid value 'a\\u0000\\u000ab' for IP protocol. Unknown protocol.");
  });
});

describe("parsePorts", () => {
  it("lists all-protocol rules with ports -1 whatever was sent", () => {
    assert.deepEqual(parsePorts("-1", 5, 6), { fromPort: -1, toPort: -1 });
    assert.deepEqual(parsePorts("-1", undefined, undefined), { fromPort: -1, toPort: -1 });
  });
  it("takes tcp ranges and refuses a missing end, out-of-range ports and from > to", () => {
    assert.deepEqual(parsePorts("tcp", 8000, 8080), { fromPort: 8000, toPort: 8080 });
    throwsAws(
      () => parsePorts("tcp", 80, undefined),
      "InvalidParameterValue",
      "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.",
    );
    throwsAws(() => parsePorts("udp", 1, 70000), "InvalidParameterValue", "TCP/UDP (to) port (70000) out of range");
    throwsAws(() => parsePorts("tcp", -1, -1), "InvalidParameterValue", "TCP/UDP (from) port (-1) out of range");
    throwsAws(() => parsePorts("tcp", 81, 80), "InvalidParameterValue", /greater than/);
    throwsAws(() => parsePorts("tcp", 1.5, 80), "InvalidParameterValue", /out of range/);
  });
  it("takes ICMP type and code, -1 for any", () => {
    assert.deepEqual(parsePorts("icmp", 8, 0), { fromPort: 8, toPort: 0 });
    assert.deepEqual(parsePorts("icmp", -1, -1), { fromPort: -1, toPort: -1 });
    throwsAws(() => parsePorts("icmp", 8, undefined), "InvalidParameterValue", "Invalid value 'Must specify both from and to ports with ICMP.' for portRange.");
    throwsAws(() => parsePorts("icmp", 256, 0), "InvalidParameterValue", /ICMP type/);
    throwsAws(() => parsePorts("icmp", -1, 3), "InvalidParameterValue", /ICMP code/);
  });
});

describe("parseCidrIpv4", () => {
  it("normalises to the network address as EC2 stores it", () => {
    assert.equal(parseCidrIpv4("10.0.0.28/29"), "10.0.0.24/29");
    assert.equal(parseCidrIpv4("0.0.0.0/0"), "0.0.0.0/0");
    assert.equal(parseCidrIpv4("192.168.1.7/32"), "192.168.1.7/32");
    assert.equal(parseCidrIpv4("255.255.255.255/1"), "128.0.0.0/1");
  });
  for (const bad of [
    "10.0.0.0/33",
    "10.0.0.0",
    "256.0.0.0/8",
    "10.0.0/8",
    "010.0.0.0/8",
    "10.0.0.0/08",
    "::/0",
    " 10.0.0.0/8",
    "10.0.0.0/8\n",
    "",
    "10.0.0.0/8; flush ruleset",
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      throwsAws(() => parseCidrIpv4(bad), "InvalidParameterValue", /for parameter cidrIp is invalid\. This is not a valid CIDR block\.$/);
    });
  }
});

describe("parsePermissions", () => {
  it("explodes a permission into one rule per source, in order, with descriptions", () => {
    const rules = parsePermissions(
      [
        {
          IpProtocol: "tcp",
          FromPort: 80,
          ToPort: 80,
          IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "office" }, { CidrIp: "192.168.0.0/16" }],
          UserIdGroupPairs: [{ GroupId: "sg-0123456789abcdef0", Description: "lb" }, { GroupName: "web" }],
        },
      ],
      ACCOUNT,
    );
    assert.deepEqual(
      rules.map((r) => [r.peer, r.description]),
      [
        [{ cidrIpv4: "10.0.0.0/8" }, "office"],
        [{ cidrIpv4: "192.168.0.0/16" }, undefined],
        [{ groupId: "sg-0123456789abcdef0" }, "lb"],
        [{ groupName: "web" }, undefined],
      ],
    );
  });
  it("refuses a permission without a source, IPv6 ranges and prefix lists", () => {
    throwsAws(() => parsePermissions([{ IpProtocol: "tcp", FromPort: 1, ToPort: 2 }], ACCOUNT), "MissingParameter");
    throwsAws(
      () => parsePermissions([{ IpProtocol: "tcp", FromPort: 1, ToPort: 2, Ipv6Ranges: [{ CidrIpv6: "::/0" }] }], ACCOUNT),
      "InvalidParameterValue",
      /IPv6/,
    );
    throwsAws(
      () => parsePermissions([{ IpProtocol: "tcp", FromPort: 1, ToPort: 2, PrefixListIds: [{ PrefixListId: "pl-123" }] }], ACCOUNT),
      "InvalidPrefixListId.NotFound",
      "The prefix list ID 'pl-123' does not exist",
    );
  });
  it("refuses a group of another account and peering", () => {
    throwsAws(
      () => parsePermissions([{ IpProtocol: "-1", UserIdGroupPairs: [{ GroupId: "sg-1", UserId: "999999999999" }] }], ACCOUNT),
      "InvalidGroup.NotFound",
    );
    throwsAws(
      () => parsePermissions([{ IpProtocol: "-1", UserIdGroupPairs: [{ GroupId: "sg-1", VpcPeeringConnectionId: "pcx-1" }] }], ACCOUNT),
      "InvalidVpcPeeringConnectionID.NotFound",
    );
  });
  it("refuses 10,000 CIDRs by counting them, before parsing any", () => {
    const ranges = Array.from({ length: 10_000 }, () => ({ CidrIp: "not a cidr" }));
    throwsAws(() => parsePermissions([{ IpProtocol: "tcp", FromPort: 1, ToPort: 1, IpRanges: ranges }], ACCOUNT), "RulesPerSecurityGroupLimitExceeded");
  });
  it("refuses descriptions with characters EC2 does not allow or longer than 255", () => {
    throwsAws(
      () => parsePermissions([{ IpProtocol: "-1", IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "bad\u0007" }] }], ACCOUNT),
      "InvalidParameterValue",
      /Invalid rule description/,
    );
    throwsAws(
      () => parsePermissions([{ IpProtocol: "-1", IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "x".repeat(256) }] }], ACCOUNT),
      "InvalidParameterValue",
      /Invalid rule description/,
    );
    assert.equal(
      parsePermissions([{ IpProtocol: "-1", IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "x".repeat(255) }] }], ACCOUNT)[0]?.description?.length,
      255,
    );
  });
});

describe("checkAdditions", () => {
  it("names the duplicate in EC2's words for tcp, all and group peers", () => {
    throwsAws(
      () => checkAdditions([rule({})], [rule({ description: "other text" })]),
      "InvalidPermission.Duplicate",
      'the specified rule "peer: 10.0.0.0/8, TCP, from port: 80, to port: 80, ALLOW" already exists',
    );
    throwsAws(
      () =>
        checkAdditions(
          [],
          [
            rule({ ipProtocol: "-1", fromPort: -1, toPort: -1, cidrIpv4: undefined, referencedGroupId: "sg-1" }),
            rule({ ipProtocol: "-1", fromPort: -1, toPort: -1, cidrIpv4: undefined, referencedGroupId: "sg-1" }),
          ],
        ),
      "InvalidPermission.Duplicate",
      'the specified rule "peer: sg-1, ALL, ALLOW" already exists',
    );
  });
  it("names ICMP rules by type and code, ALL for -1", () => {
    const icmp = (fromPort: number, toPort: number) => rule({ ipProtocol: "icmp", fromPort, toPort, cidrIpv4: "0.0.0.0/0" });
    throwsAws(
      () => checkAdditions([icmp(-1, -1)], [icmp(-1, -1)]),
      "InvalidPermission.Duplicate",
      'the specified rule "peer: 0.0.0.0/0, ICMP, type: ALL, code: ALL, ALLOW" already exists',
    );
    throwsAws(
      () => checkAdditions([icmp(8, -1)], [icmp(8, -1)]),
      "InvalidPermission.Duplicate",
      'the specified rule "peer: 0.0.0.0/0, ICMP, type: 8, code: ALL, ALLOW" already exists',
    );
  });
  it("tells directions, protocols, ports and peers apart", () => {
    checkAdditions([rule({})], [rule({ isEgress: true }), rule({ ipProtocol: "udp" }), rule({ toPort: 81 }), rule({ cidrIpv4: "10.0.0.0/9" })]);
  });
  it("counts each direction against its own quota of 60", () => {
    const many = (isEgress: boolean, count: number) => Array.from({ length: count }, (_, index) => rule({ isEgress, fromPort: index, toPort: index }));
    checkAdditions(many(false, RULES_PER_DIRECTION - 1), [...many(true, RULES_PER_DIRECTION)].concat(rule({ fromPort: 9999, toPort: 9999 })));
    throwsAws(
      () => checkAdditions(many(false, RULES_PER_DIRECTION), [rule({ fromPort: 9999, toPort: 9999 })]),
      "RulesPerSecurityGroupLimitExceeded",
      "The maximum number of rules per security group has been reached.",
    );
  });
});

describe("matchRevocations", () => {
  it("matches regardless of description and reports the unknown ones", () => {
    const existing = [{ ...rule({ description: "web" }), ruleId: "sgr-1" }];
    const { matched, unknown } = matchRevocations(existing, [rule({}), rule({ fromPort: 443, toPort: 443 })]);
    assert.deepEqual(
      matched.map((r) => r.ruleId),
      ["sgr-1"],
    );
    assert.equal(unknown.length, 1);
    assert.equal(unknown[0]?.fromPort, 443);
  });
});

describe("toSpec", () => {
  it("merges the rules of one protocol and port range and keeps directions apart", () => {
    const spec = toSpec({ groupId: "sg-1", vpcId: "vpc-1" }, [
      rule({ cidrIpv4: "10.0.0.0/8" }),
      rule({ cidrIpv4: undefined, referencedGroupId: "sg-2" }),
      rule({ cidrIpv4: "10.0.0.0/8", description: "same block again" }),
      rule({ ipProtocol: "icmp", fromPort: 8, toPort: -1, cidrIpv4: "0.0.0.0/0" }),
      ...newGroupRules(),
    ]);
    assert.deepEqual(spec, {
      groupId: "sg-1",
      vpcId: "vpc-1",
      ingress: [
        { protocol: "tcp", fromPort: 80, toPort: 80, cidrs: ["10.0.0.0/8"], groupIds: ["sg-2"] },
        { protocol: "icmp", fromPort: 8, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] },
      ],
      egress: [{ protocol: "all", fromPort: -1, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] }],
    });
  });
  it("gives the default group all traffic from its own members", () => {
    const spec = toSpec({ groupId: "sg-d", vpcId: "vpc-1" }, defaultGroupRules("sg-d"));
    assert.deepEqual(spec.ingress, [{ protocol: "all", fromPort: -1, toPort: -1, cidrs: [], groupIds: ["sg-d"] }]);
  });
});
