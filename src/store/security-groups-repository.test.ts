import assert from "node:assert/strict";
import { afterEach, beforeEach, it } from "node:test";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { SecurityGroupRuleFields } from "../core/ec2/security-group-rules.js";
import { defaultGroupRules, newGroupRules } from "../core/ec2/security-group-rules.js";
import type { SecurityGroupRecord, SecurityGroupRuleRecord, Store } from "./index.js";

const OWNER = "123456789012";
const VPC = "vpc-0aaaaaaaaaaaaaaaa";
const OTHER_VPC = "vpc-0bbbbbbbbbbbbbbbb";
const SUBNET = { subnetId: "subnet-0aaaaaaaaaaaaaaaa", vpcId: VPC, cidrBlock: "10.1.0.0/24", availabilityZone: "us-east-1a" };

const group = (groupId: string, groupName: string, vpcId = VPC): SecurityGroupRecord => ({
  groupId,
  vpcId,
  ownerId: OWNER,
  groupName,
  description: `${groupName} group`,
  createdAtMs: 1_000,
});

let next = 0;
const record = (groupId: string, fields: Partial<SecurityGroupRuleFields>, createdAtMs = 2_000): SecurityGroupRuleRecord => ({
  isEgress: false,
  ipProtocol: "tcp",
  fromPort: 80,
  toPort: 80,
  cidrIpv4: "10.0.0.0/8",
  referencedGroupId: undefined,
  description: undefined,
  ...fields,
  ruleId: `sgr-${String(++next).padStart(17, "0")}`,
  groupId,
  createdAtMs,
});

eachStoreBackend((backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    await store.close();
  });

  it("stores groups and finds them by id, by name case-insensitively within their VPC, and by VPC", async () => {
    await store.securityGroups.insertGroup(group("sg-0000000000000000a", "Web"));
    await store.securityGroups.insertGroup(group("sg-0000000000000000b", "web", OTHER_VPC));
    assert.deepEqual(await store.securityGroups.getGroups(["sg-0000000000000000a", "sg-00000000000000fff"]), [group("sg-0000000000000000a", "Web")]);
    assert.equal((await store.securityGroups.findByName(VPC, "WEB"))?.groupId, "sg-0000000000000000a");
    assert.equal((await store.securityGroups.findByName(OTHER_VPC, "Web"))?.groupId, "sg-0000000000000000b");
    assert.equal(await store.securityGroups.findByName(VPC, "db"), undefined);
    assert.deepEqual(
      (await store.securityGroups.listGroups(OTHER_VPC)).map((g) => g.groupId),
      ["sg-0000000000000000b"],
    );
    assert.equal(await store.securityGroups.countGroups(VPC), 1);
  });

  it("keeps rules one row each, oldest first, and updates, describes and deletes them (with their tags)", async () => {
    const web = "sg-0000000000000000a";
    await store.securityGroups.insertGroup(group(web, "web"));
    const egress = newGroupRules().map((fields) => record(web, fields, 1_000));
    const http = record(web, { description: "http" }, 3_000);
    const icmp = record(web, { ipProtocol: "icmp", fromPort: 8, toPort: -1 }, 2_000);
    await store.securityGroups.insertRules([...egress, http, icmp]);
    await store.ec2Tags.put(http.ruleId, new Map([["team", "a"]]));
    assert.deepEqual(await store.securityGroups.rulesOf([web]), [...egress, icmp, http]);
    await store.securityGroups.updateRule(http.ruleId, {
      ipProtocol: "udp",
      fromPort: 53,
      toPort: 53,
      cidrIpv4: undefined,
      referencedGroupId: web,
      description: undefined,
    });
    await store.securityGroups.setRuleDescription(icmp.ruleId, "ping");
    const [updated] = await store.securityGroups.getRules([http.ruleId]);
    assert.deepEqual(updated, { ...http, ipProtocol: "udp", fromPort: 53, toPort: 53, cidrIpv4: undefined, referencedGroupId: web, description: undefined });
    assert.equal((await store.securityGroups.getRules([icmp.ruleId]))[0]?.description, "ping");
    await store.securityGroups.deleteRules([http.ruleId]);
    assert.deepEqual(await store.securityGroups.getRules([http.ruleId]), []);
    assert.equal((await store.ec2Tags.byResource([http.ruleId])).size, 0);
  });

  it("names the rules of other groups that reference a group, not its own", async () => {
    const [a, b] = ["sg-0000000000000000a", "sg-0000000000000000b"];
    await store.securityGroups.insertGroup(group(a, "a"));
    await store.securityGroups.insertGroup(group(b, "b"));
    await store.securityGroups.insertRules([...defaultGroupRules(a).map((fields) => record(a, fields))]);
    assert.deepEqual(await store.securityGroups.rulesReferencing(a), []);
    const fromA = record(b, { cidrIpv4: undefined, referencedGroupId: a });
    await store.securityGroups.insertRules([fromA]);
    assert.deepEqual(await store.securityGroups.rulesReferencing(a), [fromA]);
  });

  it("deletes a group with its rules and the tags of both", async () => {
    const web = "sg-0000000000000000a";
    await store.securityGroups.insertGroup(group(web, "web"));
    const rule = record(web, {});
    await store.securityGroups.insertRules([rule]);
    await store.ec2Tags.put(web, new Map([["Name", "web"]]));
    await store.ec2Tags.put(rule.ruleId, new Map([["Name", "http"]]));
    await store.securityGroups.deleteGroup(web);
    assert.deepEqual(await store.securityGroups.getGroups([web]), []);
    assert.deepEqual(await store.securityGroups.rulesOf([web]), []);
    assert.equal((await store.ec2Tags.byResource([web, rule.ruleId])).size, 0);
  });

  it("answers the normalised specs of the groups asked for, merged by protocol and ports", async () => {
    const [web, lb] = ["sg-0000000000000000a", "sg-0000000000000000b"];
    await store.securityGroups.insertGroup(group(web, "web"));
    await store.securityGroups.insertGroup(group(lb, "lb"));
    await store.securityGroups.insertRules([
      ...newGroupRules().map((fields) => record(web, fields)),
      record(web, { cidrIpv4: undefined, referencedGroupId: lb }),
      record(web, { cidrIpv4: "192.168.0.0/16" }),
    ]);
    const specs = await store.securityGroups.specsFor([web, "sg-00000000000000fff"]);
    assert.deepEqual(specs, [
      {
        groupId: web,
        vpcId: VPC,
        ingress: [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrs: ["192.168.0.0/16"], groupIds: [lb] }],
        egress: [{ protocol: "all", fromPort: -1, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] }],
      },
    ]);
  });

  it("lists each group's members: the private addresses of its in-use interfaces", async () => {
    const [web, lb] = ["sg-0000000000000000a", "sg-0000000000000000b"];
    await store.securityGroups.insertGroup(group(web, "web"));
    await store.securityGroups.insertGroup(group(lb, "lb"));
    const allocate = (groupIds: string[]) =>
      store.networkInterfaces.allocate({
        subnet: SUBNET,
        ownerId: OWNER,
        groupIds,
        description: "",
        requesterId: "ecs",
        requesterManaged: true,
        createdAtMs: 5_000,
      });
    const first = await allocate([web]);
    const second = await allocate([web, lb]);
    const third = await allocate([lb]);
    assert.equal(await store.securityGroups.countInterfaces(web), 2);
    await store.networkInterfaces.release(third.eniId);
    assert.deepEqual(await store.securityGroups.groupMembers([lb, web, "sg-00000000000000fff"]), [
      { groupId: web, vpcId: VPC, ipv4s: [first.privateIpv4, second.privateIpv4].sort() },
      { groupId: lb, vpcId: VPC, ipv4s: [second.privateIpv4] },
    ]);
  });
});
