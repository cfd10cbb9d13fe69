// A host's network rows on both backends: its own in-use interfaces with their groups in order,
// their VPC with its subnets, the groups' normalised rules, the members of the groups those rules
// name (on any host), and the VPC's interfaces on other hosts that have an overlay address.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { Store } from "./index.js";

const OWNER = "123456789012";
const VPC = "vpc-0000000000000000b";
const DEFAULT_GROUP = "sg-000000000000000b";
const SUBNET = { subnetId: "subnet-0000000000000000b", vpcId: VPC, cidrBlock: "10.0.1.0/24", availabilityZone: "us-east-1a" };

async function registerHost(store: Store, hostId: string, overlayAddress?: string): Promise<void> {
  await store.hosts.upsert({
    hostId,
    availabilityZone: "us-east-1a",
    architecture: "X86_64",
    capacity: { cpuUnits: 4096, memoryMiB: 8192, taskSlots: 10, ephemeralGiB: 200 },
    secretSha256: "",
    agentVersion: "test",
    subnetIds: [],
    registeredAtMs: 1,
    ...(overlayAddress ? { overlayAddress } : {}),
  });
}

const allocate = (store: Store, taskArn: string, hostId: string, groupIds: string[]) =>
  store.networkInterfaces.allocate({
    subnet: SUBNET,
    ownerId: OWNER,
    groupIds,
    description: "",
    requesterId: "ecs",
    requesterManaged: true,
    taskArn,
    hostId,
    createdAtMs: 1,
  });

eachStoreBackend((backend) => {
  test("a host's rows: its interfaces, their VPC, their groups' rules, the named groups' members and the peers elsewhere", async () => {
    const store = await backend.open();
    try {
      await store.vpcs.createVpc({
        vpcId: VPC,
        ownerId: OWNER,
        cidrBlock: "10.0.0.0/16",
        isDefault: false,
        createdAtMs: 1,
        defaultGroup: {
          groupId: DEFAULT_GROUP,
          description: "default VPC security group",
          ingressRuleId: "sgr-0000000000000000b",
          egressRuleId: "sgr-0000000000000000c",
        },
      });
      await store.vpcs.createSubnet({ ...SUBNET, ownerId: OWNER, defaultForAz: false, mapPublicIpOnLaunch: false, createdAtMs: 1 });
      await registerHost(store, "h1", "192.0.2.1");
      await registerHost(store, "h2", "192.0.2.2");
      await registerHost(store, "h3");
      const mine = await allocate(store, "arn:aws:ecs:us-east-1:1:task/c/t1", "h1", [DEFAULT_GROUP]);
      const peer = await allocate(store, "arn:aws:ecs:us-east-1:1:task/c/t2", "h2", [DEFAULT_GROUP]);
      await allocate(store, "arn:aws:ecs:us-east-1:1:task/c/t3", "h3", [DEFAULT_GROUP]);
      const rows = await store.hostNetwork.rowsForHost("h1");
      assert.deepEqual(rows.interfaces, [
        { eniId: mine.eniId, taskArn: "arn:aws:ecs:us-east-1:1:task/c/t1", vpcId: VPC, privateIpv4: mine.privateIpv4, groupIds: [DEFAULT_GROUP] },
      ]);
      assert.deepEqual(
        rows.vpcs.map((vpc) => [vpc.vpcId, vpc.cidrBlock, vpc.subnets]),
        [[VPC, "10.0.0.0/16", [{ subnetId: SUBNET.subnetId, cidrBlock: "10.0.1.0/24" }]]],
      );
      // The default group: all traffic from itself in, everything out.
      assert.deepEqual(rows.groups[0]!.ingress, [{ protocol: "all", fromPort: -1, toPort: -1, cidrs: [], groupIds: [DEFAULT_GROUP] }]);
      assert.deepEqual(rows.members.find((members) => members.groupId === DEFAULT_GROUP)?.ipv4s.length, 3, "members on every host");
      assert.deepEqual(rows.peers, [{ vpcId: VPC, privateIpv4: peer.privateIpv4, hostAddress: "192.0.2.2" }], "h3 has no overlay address, h1 is this host");
      assert.deepEqual(await store.hostNetwork.rowsForHost("h9"), { interfaces: [], vpcs: [], groups: [], members: [], peers: [] });
    } finally {
      await store.close();
    }
  });
});
