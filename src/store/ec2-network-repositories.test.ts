// The EC2 network repositories on both backends: VPCs get the smallest free VNI and their default
// group; deletes refuse while dependencies remain; interfaces get the next free address outside
// AWS's reserved ones; tags are capped at 50; the network generation counts up.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import type { NewVpc, Store } from "./index.js";

const OWNER = "123456789012";
const newVpc = (vpcId: string, cidrBlock = "10.0.0.0/16"): NewVpc => ({
  vpcId,
  ownerId: OWNER,
  cidrBlock,
  isDefault: false,
  createdAtMs: 1,
  defaultGroup: {
    groupId: `sg-${vpcId.slice(4)}`,
    description: "default VPC security group",
    ingressRuleId: `sgr-i${vpcId.slice(5)}`,
    egressRuleId: `sgr-e${vpcId.slice(5)}`,
  },
});
const subnet = (subnetId: string, vpcId: string, cidrBlock: string) => ({
  subnetId,
  vpcId,
  ownerId: OWNER,
  cidrBlock,
  availabilityZone: "us-east-1a",
  defaultForAz: false,
  mapPublicIpOnLaunch: false,
  createdAtMs: 1,
});

async function withStore(open: () => Promise<Store>, work: (store: Store) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await work(store);
  } finally {
    await store.close();
  }
}

eachStoreBackend((backend) => {
  test("VPCs get the smallest unused VNI, reused once freed", () =>
    withStore(backend.open, async (store) => {
      assert.equal(await store.vpcs.createVpc(newVpc("vpc-00000000000000001")), true);
      assert.equal(await store.vpcs.createVpc(newVpc("vpc-00000000000000002")), true);
      assert.equal(await store.vpcs.createVpc(newVpc("vpc-00000000000000001")), false, "idempotent by id");
      assert.deepEqual(
        (await store.vpcs.listVpcs()).map((vpc) => vpc.vni),
        [1, 2],
      );
      assert.equal(await store.vpcs.deleteVpc("vpc-00000000000000001"), "deleted");
      await store.vpcs.createVpc(newVpc("vpc-00000000000000003"));
      assert.equal((await store.vpcs.getVpc("vpc-00000000000000003"))?.vni, 1, "a freed VNI is reused");
    }));

  test("a VPC with a subnet, another group or an interface is not deleted; a subnet with an interface neither", () =>
    withStore(backend.open, async (store) => {
      await store.vpcs.createVpc(newVpc("vpc-0000000000000000a"));
      await store.vpcs.createSubnet(subnet("subnet-0000000000000000a", "vpc-0000000000000000a", "10.0.0.0/28"));
      assert.equal(await store.vpcs.deleteVpc("vpc-0000000000000000a"), "has-dependencies");
      const eni = await store.networkInterfaces.allocate({
        subnet: { subnetId: "subnet-0000000000000000a", vpcId: "vpc-0000000000000000a", cidrBlock: "10.0.0.0/28", availabilityZone: "us-east-1a" },
        ownerId: OWNER,
        groupIds: ["sg-000000000000000a"],
        description: "",
        requesterId: "ecs",
        requesterManaged: true,
        createdAtMs: 1,
      });
      assert.equal(await store.vpcs.deleteSubnet("subnet-0000000000000000a"), "has-dependencies");
      await store.networkInterfaces.release(eni.eniId);
      assert.equal(await store.vpcs.deleteSubnet("subnet-0000000000000000a"), "deleted");
      assert.equal(await store.vpcs.deleteSubnet("subnet-0000000000000000a"), "missing");
      assert.equal(await store.vpcs.deleteVpc("vpc-0000000000000000a"), "deleted");
      assert.equal(await store.vpcs.deleteVpc("vpc-0000000000000000a"), "missing");
    }));

  test("interfaces take the next free address outside the five AWS reserves (next-fit), until the subnet is full", () =>
    withStore(backend.open, async (store) => {
      await store.vpcs.createVpc(newVpc("vpc-0000000000000000b"));
      const where = { subnetId: "subnet-0000000000000000b", vpcId: "vpc-0000000000000000b", cidrBlock: "10.0.0.16/28", availabilityZone: "us-east-1a" };
      await store.vpcs.createSubnet(subnet(where.subnetId, where.vpcId, where.cidrBlock));
      const request = {
        subnet: where,
        ownerId: OWNER,
        groupIds: ["sg-b", "sg-a"],
        description: "d",
        requesterId: "ecs",
        requesterManaged: true,
        createdAtMs: 1,
      };
      const enis = [];
      for (let index = 0; index < 11; index++) enis.push(await store.networkInterfaces.allocate(request));
      assert.deepEqual(
        enis.map((eni) => eni.privateIpv4),
        Array.from({ length: 11 }, (_, index) => `10.0.0.${20 + index}`),
      );
      await assert.rejects(store.networkInterfaces.allocate(request), { name: "InsufficientFreeAddressesInSubnet" });
      await store.networkInterfaces.release(enis[3]?.eniId ?? "");
      assert.equal((await store.networkInterfaces.allocate(request)).privateIpv4, "10.0.0.23", "the only free address, after wrapping round");
      // Next-fit: the search starts after the last address given, not at the lowest free one, so
      // an address just released is not handed out again at once.
      await store.networkInterfaces.release(enis[1]?.eniId ?? "");
      await store.networkInterfaces.release(enis[5]?.eniId ?? "");
      assert.equal((await store.networkInterfaces.allocate(request)).privateIpv4, "10.0.0.25", "after .23, not the lower .21");
      assert.equal((await store.networkInterfaces.allocate(request)).privateIpv4, "10.0.0.21", "then round to the lowest");
      const first = await store.networkInterfaces.get(enis[0]?.eniId ?? "");
      assert.deepEqual(first?.groupIds, ["sg-b", "sg-a"], "groups keep their order");
      assert.match(first?.macAddress ?? "", /^02(:[0-9a-f]{2}){5}$/);
      assert.equal(await store.networkInterfaces.setGroups(enis[0]?.eniId ?? "", ["sg-c"]), true);
      assert.deepEqual((await store.networkInterfaces.get(enis[0]?.eniId ?? ""))?.groupIds, ["sg-c"]);
      assert.equal(await store.networkInterfaces.setGroups("eni-00000000000000000", ["sg-c"]), false);
      assert.equal((await store.vpcs.interfaceCounts()).get(where.subnetId), 11);
    }));

  test("a transaction's allocations never give one address twice, not even one released in it; next-fit across transactions", () =>
    withStore(backend.open, async (store) => {
      await store.vpcs.createVpc(newVpc("vpc-0000000000000000c"));
      const where = { subnetId: "subnet-0000000000000000c", vpcId: "vpc-0000000000000000c", cidrBlock: "10.0.0.16/28", availabilityZone: "us-east-1a" };
      await store.vpcs.createSubnet(subnet(where.subnetId, where.vpcId, where.cidrBlock));
      const request = { subnet: where, ownerId: OWNER, groupIds: [], description: "d", requesterId: "ecs", requesterManaged: true, createdAtMs: 1 };
      const before = [await store.networkInterfaces.allocate(request), await store.networkInterfaces.allocate(request)];
      const rolledBack = await store
        .exclusively("network", async (tx) => {
          const given = [await tx.networkInterfaces.allocate(request), await tx.networkInterfaces.allocate(request)];
          assert.deepEqual(
            given.map((eni) => eni.privateIpv4),
            ["10.0.0.22", "10.0.0.23"],
          );
          // Released in the same transaction: not handed out again before it ends (nine of eleven taken, then full).
          await tx.networkInterfaces.release(given[0]!.eniId);
          for (let index = 0; index < 7; index++) given.push(await tx.networkInterfaces.allocate(request));
          assert.equal(new Set(given.map((eni) => eni.privateIpv4)).size, 9);
          await assert.rejects(tx.networkInterfaces.allocate(request), { name: "InsufficientFreeAddressesInSubnet" });
          throw new Error("roll back");
        })
        .catch((error: Error) => error.message);
      assert.equal(rolledBack, "roll back");
      assert.equal((await store.vpcs.interfaceCounts()).get(where.subnetId), 2, "nothing of the rolled-back transaction stayed");
      const committed = await store.exclusively("network", async (tx) => [
        await tx.networkInterfaces.allocate(request),
        await tx.networkInterfaces.allocate(request),
        await tx.networkInterfaces.allocate(request),
      ]);
      assert.deepEqual(
        [...before, ...committed].map((eni) => eni.privateIpv4),
        ["10.0.0.20", "10.0.0.21", "10.0.0.22", "10.0.0.23", "10.0.0.24"],
      );
      await store.networkInterfaces.release(committed[0]!.eniId);
      assert.equal((await store.networkInterfaces.allocate(request)).privateIpv4, "10.0.0.25", "the cursor moved with the transaction's allocations");
    }));

  test("tags: upsert, delete by key or key and value, at most 50 per resource", () =>
    withStore(backend.open, async (store) => {
      assert.equal(
        await store.ec2Tags.put(
          "vpc-1",
          new Map([
            ["Name", "a"],
            ["env", "dev"],
          ]),
        ),
        true,
      );
      assert.equal(await store.ec2Tags.put("vpc-1", new Map([["Name", "b"]])), true);
      assert.deepEqual(await store.ec2Tags.list(["vpc-1"]), [
        { resourceId: "vpc-1", key: "Name", value: "b" },
        { resourceId: "vpc-1", key: "env", value: "dev" },
      ]);
      await store.ec2Tags.remove("vpc-1", new Map([["env", "prod"]]));
      assert.equal((await store.ec2Tags.list(["vpc-1"])).length, 2, "a value that does not match keeps the tag");
      await store.ec2Tags.remove("vpc-1", new Map([["env", undefined]]));
      assert.equal((await store.ec2Tags.list(["vpc-1"])).length, 1);
      const many = new Map(Array.from({ length: 49 }, (_, index) => [`k${index}`, "v"]));
      assert.equal(await store.ec2Tags.put("vpc-1", many), true);
      assert.equal(await store.ec2Tags.put("vpc-1", new Map([["one-more", "v"]])), false);
      assert.equal((await store.ec2Tags.list(["vpc-1"])).length, 50);
    }));

  test("the network generation counts up from 1", () =>
    withStore(backend.open, async (store) => {
      assert.equal(await store.controlPlaneState.increment("network-generation", 1), 1);
      assert.equal(await store.controlPlaneState.increment("network-generation", 2), 2);
    }));
});
